// A workspace's settings pages: each setting changed through its form shows in the API; a
// read-only member sees the values without forms and gets 403 posting them; another
// organization's pools, teams, keys and workspaces named in a form are refused; names are escaped.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Json } from './helpers/api.js';
import { launchBrowser, screenshot, seriousViolations, signInWithToken, type Browser } from './helpers/browser.js';
import { createTeam, userWithAccess } from './helpers/people.js';
import { startProviderApi, type ProviderApi } from './helpers/provider-api.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { generateKeyPair } from './helpers/ssh-git-server.js';
import { WebClient } from './helpers/web.js';

describe('web UI: workspace settings', function () {
  this.timeout(120_000);
  let server: TestServer;
  let browser: Browser;
  let provider: ProviderApi;
  let org: string;
  let other: string;
  let admin: WebClient;
  const TOKEN = `ghp_${crypto.randomBytes(16).toString('hex')}`;

  const settings = (ws: string, section = '') => `/app/${org}/workspaces/${ws}/settings${section ? `/${section}` : ''}`;

  async function workspace(name: string): Promise<Json> {
    const res = await server.api.get(`/organizations/${org}/workspaces/${name}`);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  /** Posts a form from its own page, as the browser would, and expects a redirect back with a confirmation. */
  async function postOk(client: WebClient, path: string, form: Record<string, string>, from = path): Promise<string> {
    const res = await client.post(path, form, { from });
    assert.equal(res.status, 303, res.text.slice(0, 2000));
    return String(res.headers.location);
  }

  async function pool(organization: string, attributes: Record<string, unknown> = {}): Promise<string> {
    const res = await server.api.post(`/organizations/${organization}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool'), ...attributes } } });
    assert.equal(res.status, 201, res.text);
    return res.body.data.id;
  }

  async function sshKey(organization: string): Promise<string> {
    const res = await server.api.post(`/organizations/${organization}/ssh-keys`, { data: { type: 'ssh-keys', attributes: { name: randomName('key'), value: generateKeyPair().privateKey } } });
    assert.equal(res.status, 201, res.text);
    return res.body.data.id;
  }

  before(async () => {
    provider = await startProviderApi();
    provider.addToken(TOKEN);
    server = await startServer();
    org = await createOrganization(server.api);
    other = await createOrganization(server.api);
    admin = new WebClient(server.url);
    await admin.signIn(server.siteToken);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await provider?.stop();
  });

  it('changes the general settings in a browser, and the API shows them', async () => {
    const ws = await createWorkspace(server.api, org);
    const page = await browser.newPage();
    await signInWithToken(page, server.url, server.siteToken, settings(ws.attributes.name));
    assert.equal(new URL(page.url()).pathname, settings(ws.attributes.name));
    assert.deepEqual(await seriousViolations(page), []);
    // Strings run in the page: the tests' TypeScript has no DOM types.
    await page.evaluate(`document.getElementById('description').value = ''`);
    await page.type('#description', 'Made in a browser');
    await page.click('#auto-apply');
    await page.evaluate(`document.getElementById('working-directory').value = ''`);
    await page.type('#working-directory', 'infra/prod');
    await Promise.all([page.waitForNavigation(), page.click('form[action$="/settings"] button[type="submit"]')]);
    assert.match(String(await page.evaluate(`document.querySelector('[role="status"]').textContent`)), /Settings saved/);
    await screenshot(page, 'workspace-settings-general');
    const a = (await workspace(ws.attributes.name)).attributes;
    assert.equal(a.description, 'Made in a browser');
    assert.equal(a['auto-apply'], true);
    assert.equal(a['working-directory'], 'infra/prod');
    // Every section opens and passes axe.
    for (const section of ['execution', 'vcs', 'run-triggers', 'team-access', 'ssh-key', 'delete']) {
      await page.goto(`${server.url}${settings(ws.attributes.name, section)}`);
      assert.deepEqual(await seriousViolations(page), [], section);
    }
    await page.close();
  });

  it('renames a workspace, changes its engine and version, and refuses bad values with a 422 and the form', async () => {
    const ws = await createWorkspace(server.api, org);
    const renamed = randomName('renamed');
    const location = await postOk(admin, settings(ws.attributes.name), {
      name: renamed,
      description: '<b>bold</b>',
      project: ws.relationships.project.data.id,
      engine: 'tofu',
      'terraform-version': '1.8.0',
      'working-directory': '',
    });
    assert.equal(location, `${settings(renamed)}?done=saved`);
    const a = (await workspace(renamed)).attributes;
    assert.equal(a.engine, 'tofu');
    assert.equal(a['terraform-version'], '1.8.0');
    assert.equal(a['auto-apply'], false);
    const shown = await admin.get(settings(renamed));
    assert.ok(shown.text.includes('&lt;b&gt;bold&lt;/b&gt;') && !shown.text.includes('<b>bold</b>'));

    for (const [form, message] of [
      [{ name: '<script>x</script>' }, /Name must be/],
      [{ 'terraform-version': 'not a version' }, /terraform-version/],
      [{ 'working-directory': '../outside' }, /working-directory/],
      [{ engine: 'pulumi' }, /Engine must be/],
    ] as Array<[Record<string, string>, RegExp]>) {
      const res = await admin.post(settings(renamed), { name: renamed, engine: 'terraform', 'terraform-version': '1.9.0', 'working-directory': '', ...form }, { from: settings(renamed) });
      assert.equal(res.status, 422, JSON.stringify(form));
      assert.match(res.text, message);
      assert.ok(!res.text.includes('<script>x</script>'), 'the posted name comes back escaped');
      assert.match(res.text, /<form method="post"/, 'the form is shown again');
    }
    assert.equal((await workspace(renamed)).attributes.engine, 'tofu', 'nothing changed');
    // A project of another organization is refused.
    const foreign = await createWorkspace(server.api, other);
    const moved = await admin.post(settings(renamed), { name: renamed, engine: 'tofu', 'terraform-version': '1.8.0', project: foreign.relationships.project.data.id }, { from: settings(renamed) });
    assert.equal(moved.status, 422);
    assert.match(moved.text, /does not exist in organization/);
    assert.equal((await workspace(renamed)).relationships.project.data.id, ws.relationships.project.data.id);
  });

  it('sets the execution mode and an agent pool of the organization; another organization\'s pool is refused', async () => {
    const ws = await createWorkspace(server.api, org);
    const name = ws.attributes.name;
    const poolId = await pool(org);
    const location = await postOk(admin, settings(name, 'execution'), { mode: 'agent', 'agent-pool': poolId });
    let a = await workspace(name);
    assert.equal(a.attributes['execution-mode'], 'agent');
    assert.equal(a.relationships['agent-pool'].data.id, poolId);
    const page = await admin.get(location);
    assert.match(page.text, /Execution mode saved/);

    await postOk(admin, settings(name, 'execution'), { mode: 'local' });
    a = await workspace(name);
    assert.equal(a.attributes['execution-mode'], 'local');
    assert.equal(a.relationships['agent-pool'].data, null);

    const foreign = await pool(other);
    const res = await admin.post(settings(name, 'execution'), { mode: 'agent', 'agent-pool': foreign }, { from: settings(name, 'execution') });
    assert.ok(res.status >= 400 && res.status < 500, String(res.status));
    const missing = await admin.post(settings(name, 'execution'), { mode: 'agent', 'agent-pool': '' }, { from: settings(name, 'execution') });
    assert.equal(missing.status, 422);
    assert.match(missing.text, /needs an agent pool/);

    await postOk(admin, settings(name, 'execution'), { mode: 'default' });
    a = await workspace(name);
    assert.equal(a.attributes['setting-overwrites']['execution-mode'], false);
    assert.equal(a.attributes['execution-mode'], 'remote', "the organization's default");
  });

  it('connects a repository through a VCS provider, changes its triggers, and disconnects', async () => {
    const client = await server.api.post(`/organizations/${org}/oauth-clients`, {
      data: { type: 'oauth-clients', attributes: { 'service-provider': 'github', name: '<i>gh</i>', 'api-url': provider.apiUrl('github'), 'http-url': provider.url, 'oauth-token-string': TOKEN } },
    });
    assert.equal(client.status, 201, client.text);
    const tokenId: string = client.body.data.relationships['oauth-tokens'].data[0].id;
    const identifier = `acme/${randomName('repo')}`;
    provider.addRepository({ identifier, defaultBranch: 'main', cloneUrl: `${provider.url}/git/${identifier}.git`, webUrl: `${provider.url}/web/${identifier}` });
    const ws = await createWorkspace(server.api, org);
    const name = ws.attributes.name;
    const form = await admin.get(settings(name, 'vcs'));
    assert.ok(form.text.includes('&lt;i&gt;gh&lt;/i&gt;'), 'the provider name is escaped');

    await postOk(admin, settings(name, 'vcs'), { 'oauth-token': tokenId, identifier, branch: 'release', 'working-directory': 'stacks/app', triggering: 'paths', 'trigger-patterns': '/modules/**/*.tf\n\n/stacks/app/*', 'trigger-prefixes': '', 'tags-regex': '' });
    let a = (await workspace(name)).attributes;
    assert.equal(a['vcs-repo'].identifier, identifier);
    assert.equal(a['vcs-repo'].branch, 'release');
    assert.equal(a['working-directory'], 'stacks/app');
    assert.equal(a['file-triggers-enabled'], true);
    assert.deepEqual(a['trigger-patterns'], ['/modules/**/*.tf', '/stacks/app/*']);
    assert.equal(provider.hooks(identifier).length, 1);

    await postOk(admin, settings(name, 'vcs'), { 'oauth-token': tokenId, identifier, branch: '', 'working-directory': 'stacks/app', triggering: 'tags', 'trigger-patterns': '', 'trigger-prefixes': '', 'tags-regex': '^v\\d+' });
    a = (await workspace(name)).attributes;
    assert.equal(a['vcs-repo']['tags-regex'], '^v\\d+');
    assert.equal(a['file-triggers-enabled'], false);

    const bad = await admin.post(settings(name, 'vcs'), { 'oauth-token': tokenId, identifier, branch: 'bad..branch', triggering: 'always' }, { from: settings(name, 'vcs') });
    assert.equal(bad.status, 422);
    assert.match(bad.text, /branch/);

    const location = await postOk(admin, settings(name, 'vcs/disconnect'), {}, settings(name, 'vcs'));
    assert.match(location, /done=disconnected/);
    assert.equal((await workspace(name)).attributes['vcs-repo'], null);
    assert.equal(provider.hooks(identifier).length, 0, 'the webhook is deleted with the last connection');
  });

  it('adds and removes run triggers; a workspace of another organization is not found', async () => {
    const target = await createWorkspace(server.api, org);
    const source = await createWorkspace(server.api, org);
    const name = target.attributes.name;
    const page = await admin.get(settings(name, 'run-triggers'));
    assert.ok(page.text.includes(source.attributes.name), 'the source is offered');
    await postOk(admin, settings(name, 'run-triggers'), { source: source.id });
    const list = await server.api.get(`/workspaces/${target.id}/run-triggers?filter[run-trigger][type]=inbound`);
    assert.equal(list.body.data.length, 1);
    assert.equal(list.body.data[0].relationships.sourceable.data.id, source.id);
    const again = await admin.post(settings(name, 'run-triggers'), { source: source.id }, { from: settings(name, 'run-triggers') });
    assert.equal(again.status, 422);

    const foreign = await createWorkspace(server.api, other);
    const refused = await admin.post(settings(name, 'run-triggers'), { source: foreign.id }, { from: settings(name, 'run-triggers') });
    assert.equal(refused.status, 404);

    const triggerId: string = list.body.data[0].id;
    // A trigger id through another workspace's URL is not found.
    const elsewhere = await admin.post(`${settings(source.attributes.name, 'run-triggers')}/${triggerId}/delete`, {}, { from: settings(name, 'run-triggers') });
    assert.equal(elsewhere.status, 404);
    await postOk(admin, `${settings(name, 'run-triggers')}/${triggerId}/delete`, {}, settings(name, 'run-triggers'));
    assert.equal((await server.api.get(`/workspaces/${target.id}/run-triggers?filter[run-trigger][type]=inbound`)).body.data.length, 0);
  });

  it('adds, changes and removes team access; a team of another organization is refused', async () => {
    const ws = await createWorkspace(server.api, org);
    const name = ws.attributes.name;
    const team = await createTeam(server.api, org);
    await postOk(admin, settings(name, 'team-access'), { team: team.id, access: 'write' });
    const entries = async () => (await server.api.get(`/team-workspaces?filter[workspace][id]=${ws.id}`)).body.data as Json[];
    let list = await entries();
    assert.equal(list.length, 1);
    assert.equal(list[0].attributes.access, 'write');
    await postOk(admin, `${settings(name, 'team-access')}/${list[0].id}`, { access: 'admin' }, settings(name, 'team-access'));
    list = await entries();
    assert.equal(list[0].attributes.access, 'admin');
    const badLevel = await admin.post(`${settings(name, 'team-access')}/${list[0].id}`, { access: 'owner' }, { from: settings(name, 'team-access') });
    assert.equal(badLevel.status, 422);

    const foreign = await createTeam(server.api, other);
    const refused = await admin.post(settings(name, 'team-access'), { team: foreign.id, access: 'read' }, { from: settings(name, 'team-access') });
    assert.equal(refused.status, 422);
    assert.match(refused.text, /not a team of the workspace&#39;s organization/);

    await postOk(admin, `${settings(name, 'team-access')}/${list[0].id}/delete`, {}, settings(name, 'team-access'));
    assert.equal((await entries()).length, 0);
  });

  it('chooses an SSH key of the organization or none; another organization\'s key is not found', async () => {
    const ws = await createWorkspace(server.api, org);
    const name = ws.attributes.name;
    const key = await sshKey(org);
    await postOk(admin, settings(name, 'ssh-key'), { 'ssh-key': key });
    assert.equal((await workspace(name)).relationships['ssh-key'].data.id, key);
    const foreign = await sshKey(other);
    const refused = await admin.post(settings(name, 'ssh-key'), { 'ssh-key': foreign }, { from: settings(name, 'ssh-key') });
    assert.equal(refused.status, 404);
    await postOk(admin, settings(name, 'ssh-key'), { 'ssh-key': '' });
    assert.equal((await workspace(name)).relationships['ssh-key'].data, null);
  });

  it('deletes a workspace only with its name typed, and not while it is locked', async () => {
    const ws = await createWorkspace(server.api, org);
    const name = ws.attributes.name;
    const wrong = await admin.post(settings(name, 'delete'), { confirm: 'something else' }, { from: settings(name, 'delete') });
    assert.equal(wrong.status, 422);
    assert.match(wrong.text, /Type the workspace/);
    assert.equal((await server.api.post(`/workspaces/${ws.id}/actions/lock`, {})).status, 200);
    const locked = await admin.post(settings(name, 'delete'), { confirm: name }, { from: settings(name, 'delete') });
    assert.equal(locked.status, 409);
    assert.match(locked.text, /locked/);
    assert.equal((await server.api.post(`/workspaces/${ws.id}/actions/unlock`, {})).status, 200);
    const location = await postOk(admin, settings(name, 'delete'), { confirm: name });
    assert.equal(location, `/app/${org}/workspaces`);
    assert.equal((await server.api.get(`/workspaces/${ws.id}`)).status, 404);
  });

  it('shows a read-only member the values without forms, and answers 403 to every form they post', async () => {
    const ws = await createWorkspace(server.api, org, randomName('ws'), { description: 'read me' });
    const name = ws.attributes.name;
    const reader = await userWithAccess(server.api, org, [ws.id], 'read');
    const client = new WebClient(server.url);
    await client.signIn(reader.token);
    for (const section of ['', 'execution', 'vcs', 'run-triggers', 'team-access', 'ssh-key', 'delete']) {
      const res = await client.get(settings(name, section));
      assert.equal(res.status, 200, section);
      const forms = [...res.text.matchAll(/<form method="post" action="([^"]+)"/g)].map((m) => m[1]).filter((a) => a !== '/logout');
      assert.deepEqual(forms, [], `no forms on ${section || 'general'}`);
    }
    assert.match((await client.get(settings(name))).text, /read me/);

    const source = await createWorkspace(server.api, org);
    const team = await createTeam(server.api, org);
    const from = settings(name);
    const posts: Array<[string, Record<string, string>]> = [
      [settings(name), { name, engine: 'terraform', 'terraform-version': '1.9.0', description: 'changed' }],
      [settings(name, 'execution'), { mode: 'local' }],
      [settings(name, 'vcs'), { 'oauth-token': 'ot-nope', identifier: 'acme/x', triggering: 'always' }],
      [settings(name, 'vcs/disconnect'), {}],
      [settings(name, 'run-triggers'), { source: source.id }],
      [settings(name, 'team-access'), { team: team.id, access: 'admin' }],
      [settings(name, 'ssh-key'), { 'ssh-key': '' }],
      [settings(name, 'delete'), { confirm: name }],
    ];
    // The reader's own team's entry: they see it, and may change it no more than the rest.
    const own = ((await server.api.get(`/team-workspaces?filter[workspace][id]=${ws.id}`)).body.data as Json[]).find((e) => e.relationships.team.data.id === reader.teamId)!;
    posts.push([`${settings(name, 'team-access')}/${own.id}`, { access: 'admin' }], [`${settings(name, 'team-access')}/${own.id}/delete`, {}]);
    for (const [path, form] of posts) {
      const res = await client.post(path, form, { from });
      assert.equal(res.status, 403, `${path}: ${res.status} ${res.text.slice(0, 300)}`);
    }
    // Run triggers are for workspace admins only: removing one is refused too.
    const trigger = await server.api.post(`/workspaces/${ws.id}/run-triggers`, { data: { type: 'run-triggers', relationships: { sourceable: { data: { type: 'workspaces', id: source.id } } } } });
    assert.equal(trigger.status, 201, trigger.text);
    assert.equal((await client.post(`${settings(name, 'run-triggers')}/${trigger.body.data.id}/delete`, {}, { from })).status, 403);
    assert.equal((await server.api.get(`/run-triggers/${trigger.body.data.id}`)).status, 200);
    // A grant of the admin team through the form would be the worst of these: check it did not happen.
    const entries = (await server.api.get(`/team-workspaces?filter[workspace][id]=${ws.id}`)).body.data as Json[];
    assert.ok(!entries.some((e) => e.relationships.team.data.id === team.id));
    assert.equal((await workspace(name)).attributes.description, 'read me');
  });

  it('lets a workspace admin (not an owner) use the forms, with names from the organization escaped', async () => {
    const ws = await createWorkspace(server.api, org);
    const name = ws.attributes.name;
    const wsAdmin = await userWithAccess(server.api, org, [ws.id], 'admin');
    const client = new WebClient(server.url);
    await client.signIn(wsAdmin.token);
    const res = await server.api.post(`/organizations/${org}/ssh-keys`, { data: { type: 'ssh-keys', attributes: { name: '<b>deploy</b> "key"', value: generateKeyPair().privateKey } } });
    assert.equal(res.status, 201, res.text);
    const keyPage = await client.get(settings(name, 'ssh-key'));
    assert.equal(keyPage.status, 200);
    assert.ok(keyPage.text.includes('&lt;b&gt;deploy&lt;/b&gt; &quot;key&quot;') && !keyPage.text.includes('<b>deploy</b>'));
    await postOk(client, settings(name, 'ssh-key'), { 'ssh-key': res.body.data.id });
    assert.equal((await workspace(name)).relationships['ssh-key'].data.id, res.body.data.id);
    await postOk(client, settings(name), { name, description: 'by the workspace admin', project: ws.relationships.project.data.id, engine: 'terraform', 'terraform-version': ws.attributes['terraform-version'], 'working-directory': '' });
    assert.equal((await workspace(name)).attributes.description, 'by the workspace admin');
    for (const section of ['execution', 'run-triggers', 'team-access', 'delete']) {
      const page = await client.get(settings(name, section));
      assert.equal(page.status, 200, section);
      // (Team access: at least the forms that change the entries, among them the admin's own team's.)
      assert.ok(page.text.includes(`<form method="post" action="${settings(name, section)}`), `the ${section} form is offered`);
    }
    // The organization's VCS providers are listed for workspace admins too.
    assert.equal((await client.get(settings(name, 'vcs'))).status, 200);
  });

  it('answers 404 for a workspace the visitor cannot see or that does not exist, without a 5xx', async () => {
    const ws = await createWorkspace(server.api, other);
    const outsider = await userWithAccess(server.api, org, [], 'read');
    const client = new WebClient(server.url);
    await client.signIn(outsider.token);
    assert.equal((await client.get(`/app/${other}/workspaces/${ws.attributes.name}/settings`)).status, 404);
    assert.equal((await admin.get(`/app/${org}/workspaces/nope-${randomName()}/settings/execution`)).status, 404);
    assert.equal((await admin.get(`/app/${org}/workspaces/%3Cscript%3E/settings`)).status, 404);
  });
});
