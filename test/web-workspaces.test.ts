// The workspace pages of the web UI: the organization's workspace list (search, tags, projects,
// pages of 100, latest run status), a workspace's overview (resources, outputs with the sensitive
// ones hidden, lock and unlock), and its state versions (download, rollback), in a real Chromium,
// with WebClient for what a browser would not send.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { Api, Json } from './helpers/api.js';
import { launchBrowser, screenshot, seriousViolations, signInWithToken, type Browser, type Page } from './helpers/browser.js';
import { addToOrganization, createUser, userWithAccess } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { WebClient } from './helpers/web.js';

const BUILTIN = 'terraform.io/builtin/terraform';
const SECRET = `s3cret-${crypto.randomBytes(6).toString('hex')}`;

describe('web UI workspaces', function () {
  this.timeout(180_000);
  let server: TestServer;
  let admin: Api;
  let browser: Browser;
  let org: string;
  let web: WebClient;

  before(async () => {
    server = await startServer();
    admin = server.api;
    org = await createOrganization(admin);
    browser = await launchBrowser();
    web = new WebClient(server.url);
    await web.signIn(server.siteToken);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function signedInPage(token = server.siteToken, path = '/app/organizations'): Promise<Page> {
    const page = await browser.newPage();
    // The browser runs as a single process (no separate contexts): each visitor starts without cookies.
    const cdp = await page.createCDPSession();
    await cdp.send('Network.clearBrowserCookies');
    await cdp.detach();
    // Destructive buttons ask first (data-confirm): the user says yes.
    page.on('dialog', (d) => void d.accept());
    await signInWithToken(page, server.url, token, path);
    return page;
  }

  /** A state file with two resources and three outputs, one of them sensitive. */
  function stateFile(serial: number, lineage: string, greeting = 'hello'): Json {
    return {
      version: 4,
      terraform_version: '1.9.0',
      serial,
      lineage,
      outputs: {
        greeting: { value: greeting, type: 'string' },
        numbers: { value: [1, 2], type: ['tuple', ['number', 'number']] },
        password: { value: SECRET, type: 'string', sensitive: true },
      },
      resources: [
        { mode: 'managed', type: 'terraform_data', name: 'first', provider: `provider["${BUILTIN}"]`, instances: [{ schema_version: 0, attributes: { id: 'a' } }] },
        { module: 'module.child', mode: 'managed', type: 'terraform_data', name: 'inner', provider: `provider["${BUILTIN}"]`, instances: [{ schema_version: 0, attributes: { id: 'b' } }] },
      ],
    };
  }

  /** Pushes a state as the CLI's state push does: lock, create the version with the state inline, unlock. Returns its id. */
  async function pushState(wsId: string, state: Json): Promise<string> {
    const content = JSON.stringify(state);
    assert.equal((await admin.post(`/workspaces/${wsId}/actions/lock`, { data: { type: 'workspaces', attributes: {} } })).status, 200);
    const created = await admin.post(`/workspaces/${wsId}/state-versions`, {
      data: {
        type: 'state-versions',
        attributes: { serial: state.serial, lineage: state.lineage, md5: crypto.createHash('md5').update(content).digest('hex'), state: Buffer.from(content).toString('base64') },
      },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal((await admin.post(`/workspaces/${wsId}/actions/unlock`)).status, 200);
    return created.body.data.id;
  }

  /** Uploads a configuration to the workspace and queues a run of it (no runner here: it waits in the queue). */
  async function queueRun(wsId: string): Promise<string> {
    const cv = await admin.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assert.equal(cv.status, 201, cv.text);
    assert.equal((await uploadTarball(admin, cv.body.data, configTarball({ 'main.tf': 'output "x" { value = 1 }' }))).status, 200);
    const run = await admin.post('/runs', { data: { type: 'runs', attributes: {}, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } });
    assert.equal(run.status, 201, run.text);
    return run.body.data.id;
  }

  /**
   * The statements otfd runs to answer a page (the fewest of three tries: otfd's own timers run
   * statements now and then), and the page.
   */
  async function statementsOf(path: string): Promise<{ queries: string[]; text: string }> {
    let best: { queries: string[]; text: string } | null = null;
    for (let i = 0; i < 3; i++) {
      const queries: string[] = [];
      const listener = (q: { sql: string }) => queries.push(q.sql);
      server.otfd.db.on('query', listener);
      try {
        const res = await web.get(path);
        assert.equal(res.status, 200);
        if (!best || queries.length < best.queries.length) best = { queries, text: res.text };
      } finally {
        server.otfd.db.off('query', listener);
      }
    }
    return best!;
  }

  /** The names in the workspace list's rows, in order. */
  function listedNames(htmlText: string): string[] {
    return [...htmlText.matchAll(/<th scope="row"><a href="[^"]*">([^<]*)<\/a><\/th>/g)].map((m) => m[1]);
  }

  it('redirects an organization to its workspaces and lists them with search, tag and project filters, 100 a page', async () => {
    const own = await createOrganization(admin);
    const project = await admin.post(`/organizations/${own}/projects`, { data: { type: 'projects', attributes: { name: 'infra' } } });
    assert.equal(project.status, 201, project.text);
    const projectId: string = project.body.data.id;
    // 101 workspaces: two pages. Made ten at a time.
    const names = Array.from({ length: 101 }, (_, i) => `app-${String(i).padStart(3, '0')}`);
    for (let i = 0; i < names.length; i += 10) {
      await Promise.all(names.slice(i, i + 10).map((n) => createWorkspace(admin, own, n)));
    }
    const tagged = await createWorkspace(admin, own, 'db-main', { 'tag-names': ['prod'] });
    await createWorkspace(admin, own, 'db-replica', { 'tag-names': ['staging'] });
    const moved = await admin.patch(`/workspaces/${tagged.id}`, { data: { type: 'workspaces', relationships: { project: { data: { type: 'projects', id: projectId } } } } });
    assert.equal(moved.status, 200, moved.text);

    const root = await web.get(`/app/${own}`);
    assert.equal(root.status, 303);
    assert.equal(root.headers.location, `/app/${own}/workspaces`);

    const first = await web.get(`/app/${own}/workspaces`);
    assert.equal(first.status, 200);
    assert.match(first.text, /103 workspaces/);
    const firstNames = listedNames(first.text);
    assert.equal(firstNames.length, 100);
    assert.equal(firstNames[0], 'app-000');
    assert.match(first.text, /Page 1 of 2/);
    const second = await web.get(`/app/${own}/workspaces?page=2`);
    assert.deepEqual(listedNames(second.text), ['app-100', 'db-main', 'db-replica']);

    assert.deepEqual(listedNames((await web.get(`/app/${own}/workspaces?search=db-`)).text), ['db-main', 'db-replica']);
    assert.deepEqual(listedNames((await web.get(`/app/${own}/workspaces?tag=prod`)).text), ['db-main']);
    const inProject = await web.get(`/app/${own}/workspaces?project=${projectId}`);
    assert.deepEqual(listedNames(inProject.text), ['db-main']);
    assert.match(inProject.text, new RegExp(`<td><a href="/app/${own}/workspaces\\?project=${projectId}">infra</a></td>`));
    // A tag links to the list filtered by it.
    assert.match(inProject.text, new RegExp(`<a href="/app/${own}/workspaces\\?tag=prod"><code>prod</code></a>`));
    assert.match((await web.get(`/app/${own}/workspaces?search=nothing-like-this`)).text, /No workspace matches these filters/);
    // Filters are kept across pages.
    assert.match((await web.get(`/app/${own}/workspaces?search=app`)).text, /href="\/app\/[^"]+\/workspaces\?search=app&amp;page=2"/);
    const beyond = await web.get(`/app/${own}/workspaces?page=9`);
    assert.equal(beyond.status, 200);
    assert.match(beyond.text, /nothing on page 9/);
    // Malformed input is the visitor's mistake, not a server error.
    for (const bad of ['?page=0', '?page=abc', '?page=1&page=2', `?search=${'x'.repeat(300)}`, '?search=%00', '?tag=a%00b', '?project=%00']) {
      assert.equal((await web.get(`/app/${own}/workspaces${bad}`)).status, 400, bad);
    }

    // A page of 100 takes as many statements as a page of 2: no statement per row. Some rows have runs.
    for (const ws of ['app-000', 'app-050', 'db-main']) await queueRun((await admin.get(`/organizations/${own}/workspaces/${ws}`)).body.data.id);
    const many = await statementsOf(`/app/${own}/workspaces?search=app`);
    const few = await statementsOf(`/app/${own}/workspaces?search=db-`);
    assert.equal(listedNames(many.text).length, 100);
    assert.match(many.text, /plan queued/);
    assert.equal(many.queries.length, few.queries.length, `100 rows: ${many.queries.join('\n')}`);

    // In a browser: search through the form.
    const page = await signedInPage(server.siteToken, `/app/${own}/workspaces`);
    assert.equal(new URL(page.url()).pathname, `/app/${own}/workspaces`);
    await page.type('#search', 'replica');
    await Promise.all([page.waitForNavigation(), page.click('form.filters button[type="submit"]')]);
    assert.deepEqual(listedNames(await page.content()), ['db-replica']);
    await page.close();
  });

  /** The workspace list's event stream as a browser's EventSource opens it, with the client's session. */
  async function listStream(client: WebClient, path: string) {
    const received: string[] = [];
    const req = http.get(`${server.url}${path}`, {
      headers: { Accept: 'text/event-stream', Cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => req.on('response', resolve).on('error', reject));
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /text\/event-stream/);
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => received.push(chunk));
    const text = () => received.join('');
    return {
      text,
      async waitFor(wanted: string) {
        const deadline = Date.now() + 20_000;
        while (!text().includes(wanted)) {
          if (Date.now() > deadline) assert.fail(`no ${wanted} in the stream; got ${text()}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      close: () => req.destroy(),
    };
  }

  it('shows a run status change in the list live, without reloading the page', async () => {
    const own = await createOrganization(admin);
    const ws = await createWorkspace(admin, own, 'live');
    await createWorkspace(admin, own, 'quiet');
    const page = await signedInPage();
    // Told when htmx's SSE extension has connected the list's stream.
    await page.evaluateOnNewDocument(`document.addEventListener('htmx:sseOpen', () => { window.streamOpen = true; })`);
    await page.goto(`${server.url}/app/${own}/workspaces`);
    await page.waitForFunction('window.streamOpen === true', { timeout: 20_000 });
    const cell = `#ws-status-${ws.id}`;
    assert.match((await page.$eval(cell, (e) => e.textContent)) ?? '', /no runs yet/);
    await page.evaluate('window.notReloaded = true');
    const runId = await queueRun(ws.id);
    await page.waitForFunction(`document.querySelector('${cell}').textContent.includes('plan queued')`, { timeout: 20_000 });
    assert.equal((await admin.post(`/runs/${runId}/actions/cancel`)).status, 202);
    await page.waitForFunction(`document.querySelector('${cell}').textContent.includes('canceled')`, { timeout: 20_000 });
    assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was not reloaded');
    assert.ok(await page.$(`${cell} a[href="/app/${own}/workspaces/live/runs/${runId}"]`), 'the status links to the run');
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, 'workspace-list');
    await page.setViewport({ width: 360, height: 800 });
    await screenshot(page, 'workspace-list-360');
    await page.close();
  });

  it("sends a visitor's stream the page's statuses when it starts, then only changes of workspaces they may see", async () => {
    const own = await createOrganization(admin);
    const seen = await createWorkspace(admin, own, 'seen');
    const hidden = await createWorkspace(admin, own, 'hidden');
    const reader = await userWithAccess(admin, own, [seen.id], 'read');
    const client = new WebClient(server.url);
    await client.signIn(reader.token);
    // Queued before the stream starts (as if between the page's rendering and the stream's start).
    const first = await queueRun(seen.id);
    const stream = await listStream(client, `/app/${own}/workspaces/events`);
    try {
      await stream.waitFor(`/runs/${first}`);
      assert.match(stream.text(), new RegExp(`event: ws-${seen.id}\ndata: [^\n]*plan queued`));
      // The hidden workspace's change comes first: a stream handles events in order, so by the
      // time the visible one's arrives, the hidden one's would have been sent too.
      await queueRun(hidden.id);
      assert.equal((await admin.post(`/runs/${first}/actions/cancel`)).status, 202);
      await stream.waitFor('canceled');
      assert.ok(!stream.text().includes(hidden.id), 'nothing about the hidden workspace');
    } finally {
      stream.close();
    }
  });

  it("sends a list's stream only the changes of the workspaces on that page, not the organization's others", async () => {
    const own = await createOrganization(admin);
    const shown = await createWorkspace(admin, own, 'shown-one');
    const other = await createWorkspace(admin, own, 'elsewhere');
    // The site admin may see both: only the page's filter keeps the other off the page.
    const stream = await listStream(web, `/app/${own}/workspaces/events?search=shown`);
    try {
      await stream.waitFor(`event: ws-${shown.id}`);
      // The other workspace's change comes first: by the time the shown one's arrives, the other's would have been sent too.
      await queueRun(other.id);
      const run = await queueRun(shown.id);
      await stream.waitFor(`/runs/${run}`);
      assert.ok(!stream.text().includes(other.id), 'nothing about the workspace off the page');
    } finally {
      stream.close();
    }
  });

  it('creates a workspace from the form, and refuses a malformed name with a clear error', async () => {
    const page = await signedInPage(server.siteToken, `/app/${org}/workspaces`);
    await page.type('#new-name', 'made-in-browser');
    await page.type('#new-description', 'from the form');
    await Promise.all([page.waitForNavigation(), page.click('form[action$="/workspaces"][method="post"] button[type="submit"]')]);
    assert.equal(new URL(page.url()).pathname, `/app/${org}/workspaces/made-in-browser`);
    assert.ok((await page.content()).includes('from the form'));
    await page.close();
    const api = await admin.get(`/organizations/${org}/workspaces/made-in-browser`);
    assert.equal(api.status, 200);
    const bad = await web.post(`/app/${org}/workspaces`, { name: 'no spaces <b>', description: '' }, { from: `/app/${org}/workspaces` });
    assert.equal(bad.status, 422);
    assert.match(bad.text, /workspace name/);
    assert.ok(!bad.text.includes('<b>'));
    // The description is checked as every other free text field is: control characters are refused.
    const bell = await web.post(`/app/${org}/workspaces`, { name: 'rings-a-bell', description: 'ding\u0007' }, { from: `/app/${org}/workspaces` });
    assert.equal(bell.status, 422);
    assert.match(bell.text, /control characters/);
    assert.equal((await admin.get(`/organizations/${org}/workspaces/rings-a-bell`)).status, 404);
  });

  it('shows only the workspaces a user may see, and offers no new-workspace form to who may not create one', async () => {
    const own = await createOrganization(admin);
    const seen = await createWorkspace(admin, own, 'seen');
    await createWorkspace(admin, own, 'hidden');
    const reader = await userWithAccess(admin, own, [seen.id], 'read');
    const client = new WebClient(server.url);
    await client.signIn(reader.token);
    const res = await client.get(`/app/${own}/workspaces`);
    assert.equal(res.status, 200);
    assert.deepEqual(listedNames(res.text), ['seen']);
    assert.ok(!res.text.includes('New workspace'));
    assert.equal((await client.get(`/app/${own}/workspaces/hidden`)).status, 404);
  });

  it('overview shows resources and outputs, the sensitive output hidden, its value nowhere in the page', async () => {
    const ws = await createWorkspace(admin, org, randomName('ws'), { description: 'the overview' });
    await pushState(ws.id, stateFile(1, crypto.randomUUID()));
    const res = await web.get(`/app/${org}/workspaces/${ws.attributes.name}`);
    assert.equal(res.status, 200);
    assert.ok(!res.text.includes(SECRET), 'the sensitive value is not in the page');
    assert.match(res.text, /<code>password<\/code><\/td><td>[^<]*<\/td><td><em>sensitive<\/em>/);
    assert.match(res.text, /<code>&quot;hello&quot;<\/code>/);
    assert.match(res.text, /<code>\[1,2\]<\/code>/);
    assert.match(res.text, /<code>terraform_data\.first<\/code>/);
    assert.match(res.text, /<code>module\.child\.terraform_data\.inner<\/code>/);
    assert.match(res.text, /module\.child/);
    for (const label of ['Overview', 'Runs', 'States', 'Variables', 'Settings']) assert.match(res.text, new RegExp(`>${label}<`));
    // The runs page's start-run form, posting to the runs page.
    assert.match(res.text, new RegExp(`<form method="post" action="/app/${org}/workspaces/${ws.attributes.name}/runs"`));

    const page = await signedInPage(server.siteToken, `/app/${org}/workspaces/${ws.attributes.name}`);
    const text = (await page.evaluate('document.body.innerText')) as string;
    assert.ok(text.includes('sensitive'));
    assert.ok(!text.includes(SECRET));
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, 'workspace-overview');
    await page.close();
  });

  it('overview shows the execution mode, engine and agent pool by name', async () => {
    const pool = await admin.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: 'builders' } } });
    assert.equal(pool.status, 201, pool.text);
    const ws = await createWorkspace(admin, org, randomName('ws'), { 'execution-mode': 'agent', 'agent-pool-id': pool.body.data.id, 'terraform-version': '1.9.8' });
    const res = await web.get(`/app/${org}/workspaces/${ws.attributes.name}`);
    assert.equal(res.status, 200);
    assert.match(res.text, new RegExp(`<dd>agent \\(agent pool <a href="/app/${org}/agent-pools/${pool.body.data.id}">builders</a>\\)</dd>`));
    assert.match(res.text, /<dd>terraform 1\.9\.8<\/dd>/);
    assert.match(res.text, /<dd>not connected<\/dd>/);
  });

  it('locks and unlocks a workspace from its overview; a read-only user sees no lock button and gets 403 posting it', async () => {
    const ws = await createWorkspace(admin, org);
    const name: string = ws.attributes.name;
    const page = await signedInPage(server.siteToken, `/app/${org}/workspaces/${name}`);
    await Promise.all([page.waitForNavigation(), page.click(`form[action="/app/${org}/workspaces/${name}/lock"] button`)]);
    assert.equal((await admin.get(`/workspaces/${ws.id}`)).body.data.attributes.locked, true);
    assert.match(await page.content(), /by site-admin/);
    await Promise.all([page.waitForNavigation(), page.click(`form[action="/app/${org}/workspaces/${name}/unlock"] button`)]);
    assert.equal((await admin.get(`/workspaces/${ws.id}`)).body.data.attributes.locked, false);
    await page.close();

    const reader = await userWithAccess(admin, org, [ws.id], 'read');
    const client = new WebClient(server.url);
    await client.signIn(reader.token);
    const overview = await client.get(`/app/${org}/workspaces/${name}`);
    assert.equal(overview.status, 200);
    assert.ok(!overview.text.includes('Lock workspace'));
    const forged = await client.post(`/app/${org}/workspaces/${name}/lock`, {}, { from: `/app/${org}/workspaces/${name}` });
    assert.equal(forged.status, 403);
    assert.equal((await admin.get(`/workspaces/${ws.id}`)).body.data.attributes.locked, false);

    // A writer locks; an admin sees force-unlock on the writer's lock and uses it.
    const writer = await userWithAccess(admin, org, [ws.id], 'write');
    const wclient = new WebClient(server.url);
    await wclient.signIn(writer.token);
    assert.equal((await wclient.post(`/app/${org}/workspaces/${name}/lock`, {}, { from: `/app/${org}/workspaces/${name}` })).status, 303);
    const seenByAdmin = await web.get(`/app/${org}/workspaces/${name}`);
    assert.match(seenByAdmin.text, new RegExp(`by ${writer.username}`));
    assert.ok(seenByAdmin.text.includes('Force unlock'));
    // The writer may not force somebody's lock, and is not offered to: their own lock they unlock.
    assert.ok((await wclient.get(`/app/${org}/workspaces/${name}`)).text.includes('Unlock workspace'));
    assert.equal((await web.post(`/app/${org}/workspaces/${name}/force-unlock`, {}, { from: `/app/${org}/workspaces/${name}` })).status, 303);
    assert.equal((await admin.get(`/workspaces/${ws.id}`)).body.data.attributes.locked, false);
  });

  it('lists state versions and downloads one with the same content as the API', async () => {
    const ws = await createWorkspace(admin, org);
    const lineage = crypto.randomUUID();
    const first = await pushState(ws.id, stateFile(1, lineage));
    await pushState(ws.id, stateFile(2, lineage, 'second'));
    const empty = await createWorkspace(admin, org);
    assert.match((await web.get(`/app/${org}/workspaces/${empty.attributes.name}/states`)).text, /has no state yet/);
    const res = await web.get(`/app/${org}/workspaces/${ws.attributes.name}/states`);
    assert.equal(res.status, 200);
    assert.match(res.text, /2 <strong>\(current\)<\/strong>/);
    assert.match(res.text, new RegExp(`id="sv-${first}"`));
    const download = await web.get(`/app/${org}/workspaces/${ws.attributes.name}/states/${first}/download`);
    assert.equal(download.status, 200);
    assert.match(String(download.headers['content-disposition']), /^attachment; filename=".+-1\.tfstate"$/);
    const api = await admin.get(`/state-versions/${first}/download`);
    assert.equal(api.status, 200);
    assert.equal(download.text, api.text);
    assert.equal(JSON.parse(download.text).serial, 1);

    // A reader without state access gets no download; another workspace's version is not found here.
    const other = await createWorkspace(admin, org);
    const otherVersion = await pushState(other.id, stateFile(1, crypto.randomUUID()));
    assert.equal((await web.get(`/app/${org}/workspaces/${ws.attributes.name}/states/${otherVersion}/download`)).status, 404);
    assert.equal((await web.get(`/app/${org}/workspaces/${ws.attributes.name}/states/sv-nope/download`)).status, 404);
    const stranger = await createUser(admin);
    const sclient = new WebClient(server.url);
    await sclient.signIn(stranger.token);
    assert.equal((await sclient.get(`/app/${org}/workspaces/${ws.attributes.name}/states/${first}/download`)).status, 404);
  });

  it('rolls back to an earlier version once the visitor holds the lock, making a new current version', async () => {
    const ws = await createWorkspace(admin, org);
    const name: string = ws.attributes.name;
    const lineage = crypto.randomUUID();
    const first = await pushState(ws.id, stateFile(1, lineage, 'first'));
    const second = await pushState(ws.id, stateFile(2, lineage, 'second'));
    const page = await signedInPage(server.siteToken, `/app/${org}/workspaces/${name}/states`);
    assert.match(await page.content(), /lock the workspace first/);
    assert.equal(await page.$(`form[action$="/states/rollback"]`), null, 'no rollback before the lock');
    await Promise.all([page.waitForNavigation(), page.click(`form[action="/app/${org}/workspaces/${name}/lock"] button`)]);
    assert.equal(new URL(page.url()).pathname, `/app/${org}/workspaces/${name}/states`);
    await Promise.all([page.waitForNavigation(), page.click(`#sv-${first} form[action$="/states/rollback"] button`)]);
    const current = await admin.get(`/workspaces/${ws.id}/current-state-version`);
    assert.equal(current.status, 200);
    assert.notEqual(current.body.data.id, first);
    assert.notEqual(current.body.data.id, second);
    assert.equal(current.body.data.attributes.serial, 3);
    const content = await admin.get(`/state-versions/${current.body.data.id}/download`);
    assert.equal(JSON.parse(content.text).outputs.greeting.value, 'first');
    assert.match(await page.content(), /3 <strong>\(current\)<\/strong>/);
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, 'workspace-states');
    await page.close();

    // A reader may not roll back: no button, and a forged post is refused.
    const reader = await userWithAccess(admin, org, [ws.id], 'read');
    const client = new WebClient(server.url);
    await client.signIn(reader.token);
    const res = await client.get(`/app/${org}/workspaces/${name}/states`);
    assert.equal(res.status, 200);
    assert.ok(!res.text.includes('Roll back'));
    const forged = await client.post(`/app/${org}/workspaces/${name}/states/rollback`, { version: first }, { from: `/app/${org}/workspaces/${name}/states` });
    assert.equal(forged.status, 403);
  });

  it("answers 404 for other organizations' workspaces and unknown ones", async () => {
    const theirs = await createOrganization(admin);
    const theirWs = await createWorkspace(admin, theirs, 'their-ws');
    const member = await createUser(admin);
    await addToOrganization(admin, org, member);
    const client = new WebClient(server.url);
    await client.signIn(member.token);
    for (const path of [
      `/app/${theirs}/workspaces`,
      `/app/${theirs}/workspaces/their-ws`,
      `/app/${theirs}/workspaces/their-ws/states`,
      `/app/${org}/workspaces/their-ws`,
      `/app/${org}/workspaces/no-such-workspace`,
      `/app/no-such-org/workspaces`,
    ]) {
      const res = await client.get(path);
      assert.equal(res.status, 404, path);
      assert.match(res.text, /not found|does not exist/i, path);
    }
    // A NUL byte in a name is refused somewhere on the way (400) or found nowhere (404), never a 5xx.
    const mine: string = (await createWorkspace(admin, org)).attributes.name;
    for (const path of [`/app/%00/workspaces`, `/app/${org}/workspaces/%00`, `/app/${org}/workspaces/a%00b/states`, `/app/${org}/workspaces/${mine}/states/%00/download`, `/app/${org}/workspaces/${mine}/states/sv-x%00/download`]) {
      const res = await web.get(path);
      assert.ok(res.status === 400 || res.status === 404, `${path}: ${res.status}`);
    }
    const forged = await client.post(`/app/${theirs}/workspaces/their-ws/lock`, {}, { from: '/app/organizations' });
    assert.equal(forged.status, 404);
    assert.equal((await admin.get(`/workspaces/${theirWs.id}`)).body.data.attributes.locked, false);
  });

  it('escapes HTML in descriptions and tags', async () => {
    const evil = '<script>alert("owned")</script><img src=x onerror=alert(1)>';
    const ws = await createWorkspace(admin, org, randomName('ws'), { description: evil });
    const bound = await admin.patch(`/workspaces/${ws.id}/tag-bindings`, { data: [{ type: 'tag-bindings', attributes: { key: '<b>key</b>', value: '"><svg onload=alert(2)>' } }] });
    assert.equal(bound.status, 200, bound.text);
    for (const path of [`/app/${org}/workspaces`, `/app/${org}/workspaces/${ws.attributes.name}`, `/app/${org}/workspaces?tag=${encodeURIComponent('<b>key</b>')}`]) {
      const res = await web.get(path);
      assert.equal(res.status, 200, path);
      for (const raw of ['<script>alert', '<img src=x', '<b>key</b>', '<svg onload']) assert.ok(!res.text.includes(raw), `${raw} raw on ${path}`);
    }
    const overview = await web.get(`/app/${org}/workspaces/${ws.attributes.name}`);
    assert.ok(overview.text.includes('&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;'));
    const page = await signedInPage();
    let dialogs = 0;
    page.on('dialog', () => void dialogs++);
    await page.goto(`${server.url}/app/${org}/workspaces/${ws.attributes.name}`);
    const text = (await page.evaluate('document.body.innerText')) as string;
    assert.ok(text.includes('<script>alert("owned")</script>'), 'shown as text');
    assert.equal(dialogs, 0);
    await page.close();
  });
});
