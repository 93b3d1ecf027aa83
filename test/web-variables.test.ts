// A workspace's variables page: add, edit and delete through forms (seen in the API), sensitive
// values nowhere in any page, inherited variable sets marked with which value a run gets, and a
// read-only member who sees values but gets no forms and 403 for posting them.
import assert from 'node:assert/strict';
import type { Json } from './helpers/api.js';
import { launchBrowser, screenshot, seriousViolations, signInWithToken, type Browser } from './helpers/browser.js';
import { userWithAccess } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { WebClient } from './helpers/web.js';

describe('web UI: workspace variables', function () {
  this.timeout(120_000);
  let server: TestServer;
  let browser: Browser;
  let org: string;
  let admin: WebClient;

  const variablesOf = (ws: string) => `/app/${org}/workspaces/${ws}/variables`;

  async function apiVariables(wsId: string): Promise<Json[]> {
    const res = await server.api.get(`/workspaces/${wsId}/vars`);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  async function addVariable(wsId: string, attributes: Record<string, unknown>): Promise<Json> {
    const res = await server.api.post(`/workspaces/${wsId}/vars`, { data: { type: 'vars', attributes: { category: 'terraform', ...attributes } } });
    assert.equal(res.status, 201, res.text);
    return res.body.data;
  }

  async function variableSet(attributes: Record<string, unknown>, variables: Array<Record<string, unknown>>): Promise<Json> {
    const res = await server.api.post(`/organizations/${org}/varsets`, { data: { type: 'varsets', attributes: { name: randomName('set'), global: false, ...attributes } } });
    assert.equal(res.status, 201, res.text);
    for (const v of variables) {
      const made = await server.api.post(`/varsets/${res.body.data.id}/relationships/vars`, { data: { type: 'vars', attributes: { category: 'terraform', ...v } } });
      assert.equal(made.status, 201, made.text);
    }
    return res.body.data;
  }

  /** The table row of a variable's key in the section that starts at `after`. */
  function row(text: string, key: string, after = ''): string {
    const from = after ? text.indexOf(after) : 0;
    assert.ok(from >= 0, `${after} is on the page`);
    const at = text.indexOf(`<tr><td><code>${key}</code>`, from);
    assert.ok(at >= 0, `a row for ${key}${after ? ` after ${after}` : ''}`);
    return text.slice(at, text.indexOf('</tr>', at));
  }

  before(async () => {
    server = await startServer();
    org = await createOrganization(server.api);
    admin = new WebClient(server.url);
    await admin.signIn(server.siteToken);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('adds a variable in a browser and the API has it', async () => {
    const ws = await createWorkspace(server.api, org);
    const page = await browser.newPage();
    await signInWithToken(page, server.url, server.siteToken, variablesOf(ws.attributes.name));
    assert.equal(new URL(page.url()).pathname, variablesOf(ws.attributes.name));
    await page.click('#category-env');
    await page.type('#key', 'AWS_REGION');
    await page.type('#value', 'eu-west-1');
    await page.type('#description', 'where things go');
    await Promise.all([page.waitForNavigation(), page.click(`form[action="${variablesOf(ws.attributes.name)}"] button[type="submit"]`)]);
    const text = await page.content();
    assert.match(text, /Variable added/);
    assert.match(row(text, 'AWS_REGION', 'Environment variables'), /eu-west-1/);
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, 'workspace-variables');
    const [v] = await apiVariables(ws.id);
    assert.deepEqual([v.attributes.key, v.attributes.value, v.attributes.category, v.attributes.description], ['AWS_REGION', 'eu-west-1', 'env', 'where things go']);
    // The edit page too.
    await page.goto(`${server.url}${variablesOf(ws.attributes.name)}/${v.id}/edit`);
    assert.deepEqual(await seriousViolations(page), []);
    await page.close();
  });

  it('edits and deletes variables through forms', async () => {
    const ws = await createWorkspace(server.api, org);
    const name = ws.attributes.name;
    const v = await addVariable(ws.id, { key: 'count', value: '1' });
    const edit = `${variablesOf(name)}/${v.id}/edit`;
    const res = await admin.post(`${variablesOf(name)}/${v.id}`, { category: 'terraform', key: 'count', value: '[1, 2]', hcl: 'on', description: 'now a list' }, { from: edit });
    assert.equal(res.status, 303, res.text.slice(0, 1000));
    assert.equal(res.headers.location, `${variablesOf(name)}?done=variable-saved`);
    let [now] = await apiVariables(ws.id);
    assert.deepEqual([now.attributes.value, now.attributes.hcl, now.attributes.description], ['[1, 2]', true, 'now a list']);

    // Made sensitive: the value stays, and is never shown again.
    assert.equal((await admin.post(`${variablesOf(name)}/${v.id}`, { category: 'terraform', key: 'count', value: '[1, 2]', hcl: 'on', sensitive: 'on', description: '' }, { from: edit })).status, 303);
    [now] = await apiVariables(ws.id);
    assert.equal(now.attributes.sensitive, true);
    assert.ok(!(await admin.get(edit)).text.includes('[1, 2]'));

    const bad = await admin.post(variablesOf(name), { category: 'env', key: 'X', value: 'y', hcl: 'on' }, { from: variablesOf(name) });
    assert.equal(bad.status, 422);
    assert.match(bad.text, /hcl/);
    const duplicate = await admin.post(variablesOf(name), { category: 'terraform', key: 'count', value: 'y' }, { from: variablesOf(name) });
    assert.equal(duplicate.status, 409);
    assert.match(duplicate.text, /already/);
    const noCategory = await admin.post(variablesOf(name), { category: 'other', key: 'k', value: 'v' }, { from: variablesOf(name) });
    assert.equal(noCategory.status, 422);

    const del = await admin.post(`${variablesOf(name)}/${v.id}/delete`, {}, { from: variablesOf(name) });
    assert.equal(del.status, 303);
    assert.deepEqual(await apiVariables(ws.id), []);
  });

  it('never puts a sensitive value in any page, not even a refused form', async () => {
    const ws = await createWorkspace(server.api, org);
    const name = ws.attributes.name;
    const secret = `s3cr3t-${randomName('value')}`;
    const added = await admin.post(variablesOf(name), { category: 'terraform', key: 'password', value: secret, sensitive: 'on', description: 'db' }, { from: variablesOf(name) });
    assert.equal(added.status, 303);
    const [v] = await apiVariables(ws.id);
    assert.equal(v.attributes.sensitive, true);
    assert.equal(v.attributes.value, null);
    const refused = await admin.post(variablesOf(name), { category: 'env', key: 'other', value: secret, sensitive: 'on', hcl: 'on' }, { from: variablesOf(name) });
    assert.equal(refused.status, 422);
    // Saved with the value left empty: the old one stays (the API shows no value, runs still get it).
    const kept = await admin.post(`${variablesOf(name)}/${v.id}`, { category: 'terraform', key: 'password', value: '', description: 'still db' }, { from: variablesOf(name) });
    assert.equal(kept.status, 303);
    const set = await variableSet({ global: true }, [{ key: 'set_secret', value: secret, sensitive: true }]);
    const pages = [
      added.text,
      refused.text,
      (await admin.get(variablesOf(name))).text,
      (await admin.get(`${variablesOf(name)}/${v.id}/edit`)).text,
      (await admin.get(`/app/${org}/workspaces/${name}/settings`)).text,
    ];
    for (const text of pages) assert.ok(!text.includes(secret), 'the secret is in a page');
    const list = pages[2];
    assert.match(row(list, 'password'), /<em>sensitive<\/em>/);
    assert.match(row(list, 'set_secret', `<h3>${set.attributes.name}</h3>`), /<em>sensitive<\/em>/);
    await server.api.delete(`/varsets/${set.id}`);
  });

  it('escapes HTML in keys, values and descriptions', async () => {
    const ws = await createWorkspace(server.api, org);
    const name = ws.attributes.name;
    const res = await admin.post(variablesOf(name), { category: 'terraform', key: '<img src=x onerror=alert(1)>', value: '<script>alert(2)</script>', description: '"><b>x</b>' }, { from: variablesOf(name) });
    assert.equal(res.status, 303, res.text.slice(0, 500));
    const text = (await admin.get(variablesOf(name))).text;
    assert.ok(!text.includes('<img src=x'));
    assert.ok(!text.includes('<script>alert(2)'));
    assert.ok(!text.includes('"><b>x</b>'));
    assert.ok(text.includes('&lt;img src=x onerror=alert(1)&gt;'));
  });

  it("shows inherited variable sets and marks which value a run gets by Terraform Cloud's precedence", async () => {
    const ws = await createWorkspace(server.api, org);
    const name = ws.attributes.name;
    await addVariable(ws.id, { key: 'region', value: 'from-workspace' });
    await addVariable(ws.id, { key: 'forced', value: 'workspace-loses' });
    const global = await variableSet({ global: true, name: `a-global-${randomName('s')}` }, [
      { key: 'region', value: 'from-global' },
      { key: 'size', value: 'from-global' },
      { key: 'zone', value: 'from-global' },
    ]);
    const project = await variableSet({ name: `b-project-${randomName('s')}` }, [
      { key: 'size', value: 'from-project' },
      { key: 'zone', value: 'from-project' },
    ]);
    assert.equal((await server.api.post(`/varsets/${project.id}/relationships/projects`, { data: [{ type: 'projects', id: ws.relationships.project.data.id }] })).status, 204);
    const own = await variableSet({ name: `c-ws-${randomName('s')}` }, [{ key: 'zone', value: 'from-ws-set' }]);
    assert.equal((await server.api.post(`/varsets/${own.id}/relationships/workspaces`, { data: [{ type: 'workspaces', id: ws.id }] })).status, 204);
    const priority = await variableSet({ global: true, priority: true, name: `d-priority-${randomName('s')}` }, [{ key: 'forced', value: 'priority-wins' }]);
    const other = await createWorkspace(server.api, org);
    const unrelated = await variableSet({ name: `e-elsewhere-${randomName('s')}` }, [{ key: 'nope', value: 'x' }]);
    assert.equal((await server.api.post(`/varsets/${unrelated.id}/relationships/workspaces`, { data: [{ type: 'workspaces', id: other.id }] })).status, 204);
    try {
      const text = (await admin.get(variablesOf(name))).text;
      assert.match(row(text, 'region', 'Terraform variables'), /applies/);
      assert.match(row(text, 'forced', 'Terraform variables'), new RegExp(`overwritten by variable set ${priority.attributes.name}`));
      assert.match(row(text, 'region', `<h3>${global.attributes.name}</h3>`), /overwritten by this workspace/);
      assert.match(row(text, 'size', `<h3>${global.attributes.name}</h3>`), new RegExp(`overwritten by variable set ${project.attributes.name}`));
      assert.match(row(text, 'size', `<h3>${project.attributes.name}</h3>`), /applies/);
      assert.match(row(text, 'zone', `<h3>${project.attributes.name}</h3>`), new RegExp(`overwritten by variable set ${own.attributes.name}`));
      assert.match(row(text, 'zone', `<h3>${own.attributes.name}</h3>`), /applies/);
      assert.match(row(text, 'forced', `<h3>${priority.attributes.name}</h3>`), /applies/);
      assert.ok(text.includes('global: applied to every workspace') && text.includes("applied to the workspace&#39;s project") && text.includes('applied to this workspace'));
      assert.ok(!text.includes(unrelated.attributes.name), "another workspace's set is not shown");
    } finally {
      for (const s of [global, project, own, priority, unrelated]) await server.api.delete(`/varsets/${s.id}`);
    }
  });

  it('shows a read-only member the values without forms, and answers 403 to every form they post', async () => {
    const ws = await createWorkspace(server.api, org);
    const name = ws.attributes.name;
    const v = await addVariable(ws.id, { key: 'visible', value: 'to-readers' });
    const reader = await userWithAccess(server.api, org, [ws.id], 'read');
    const client = new WebClient(server.url);
    await client.signIn(reader.token);
    const list = await client.get(variablesOf(name));
    assert.equal(list.status, 200);
    assert.match(row(list.text, 'visible'), /to-readers/);
    const forms = [...list.text.matchAll(/<form method="post" action="([^"]+)"/g)].map((m) => m[1]).filter((a) => a !== '/logout');
    assert.deepEqual(forms, []);
    assert.ok(!list.text.includes('/edit"'), 'no edit links');
    for (const [path, form] of [
      [variablesOf(name), { category: 'terraform', key: 'new', value: 'x' }],
      [`${variablesOf(name)}/${v.id}`, { category: 'terraform', key: 'visible', value: 'changed' }],
      [`${variablesOf(name)}/${v.id}/delete`, {}],
    ] as Array<[string, Record<string, string>]>) {
      const res = await client.post(path, form, { from: variablesOf(name) });
      assert.equal(res.status, 403, `${path}: ${res.status}`);
    }
    const [still] = await apiVariables(ws.id);
    assert.equal(still.attributes.value, 'to-readers');

    // A member without the variables permission sees neither the values nor the sets.
    const custom = await userWithAccess(server.api, org, [], 'read');
    const team = await server.api.post('/team-workspaces', {
      data: { type: 'team-workspaces', attributes: { access: 'custom', variables: 'none' }, relationships: { team: { data: { type: 'teams', id: custom.teamId } }, workspace: { data: { type: 'workspaces', id: ws.id } } } },
    });
    assert.equal(team.status, 201, team.text);
    const blind = new WebClient(server.url);
    await blind.signIn(custom.token);
    const page = await blind.get(variablesOf(name));
    assert.equal(page.status, 200);
    assert.ok(!page.text.includes('to-readers'));
    assert.match(page.text, /may not read this workspace/);
  });

  it('refuses a variable of another workspace through this one, and unknown ones, with a 404', async () => {
    const a = await createWorkspace(server.api, org);
    const b = await createWorkspace(server.api, org);
    const v = await addVariable(b.id, { key: 'mine', value: 'b' });
    assert.equal((await admin.get(`${variablesOf(a.attributes.name)}/${v.id}/edit`)).status, 404);
    const res = await admin.post(`${variablesOf(a.attributes.name)}/${v.id}`, { category: 'terraform', key: 'mine', value: 'stolen' }, { from: variablesOf(a.attributes.name) });
    assert.equal(res.status, 404);
    assert.equal((await admin.post(`${variablesOf(a.attributes.name)}/${v.id}/delete`, {}, { from: variablesOf(a.attributes.name) })).status, 404);
    assert.equal((await admin.get(`${variablesOf(a.attributes.name)}/var-nope/edit`)).status, 404);
    assert.equal((await apiVariables(b.id))[0].attributes.value, 'b');
  });
});
