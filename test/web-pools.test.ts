// The agent pool pages as an operator uses them: a pool made in a real browser, its agent token
// shown once and good for a real otf-agent, and the agents table following the agent live (idle,
// busy with a link to its run, exited, unknown) without reloading; and, through WebClient, what
// visitors who may not manage pools, or not see the organization, get.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { killLeftoverAgents, startAgent, type AgentProcess } from './helpers/agent.js';
import type { Api } from './helpers/api.js';
import { launchBrowser, screenshot, seriousViolations, type Browser, type Page } from './helpers/browser.js';
import { fixture } from './helpers/fixtures.js';
import { addToOrganization, createTeam, createUser } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { WebClient } from './helpers/web.js';
import { suite } from './hooks.js';

describe('web UI: agent pools', function () {
  this.timeout(180_000);
  let server: TestServer;
  let api: Api;
  let org: string;
  let browser: Browser;

  before(async () => {
    // Heartbeats every second and a 4 s grace period: an agent that goes silent is unknown within seconds.
    server = await startServer({ ssl: true, config: { concurrency: 0, agentHeartbeatSeconds: 1, agentGracePeriodSeconds: 4 } });
    api = server.api;
    org = await createOrganization(api);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });
  afterEach(() => killLeftoverAgents());

  function client(): WebClient {
    return new WebClient(server.url, fs.readFileSync(suite().certFile));
  }

  async function createPool(orgName: string): Promise<string> {
    const res = await api.post(`/organizations/${orgName}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } });
    assert.equal(res.status, 201, res.text);
    return res.body.data.id;
  }

  /**
   * A page signed in as the site administrator at `path`. The browser is shared (the packaged
   * Chromium runs one process: no second context), so a later test finds the session already there.
   */
  async function adminPage(path: string): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${server.url}/login?next=${encodeURIComponent(path)}`);
    if (await page.$('#token')) {
      await page.type('#token', server.siteToken);
      await Promise.all([page.waitForNavigation(), page.click('form[action="/login/token"] button[type="submit"]')]);
    }
    assert.equal(new URL(page.url()).pathname, path);
    return page;
  }

  /** Waits until the agents table shows the agent with this status, without the page reloading. */
  async function statusShown(page: Page, agentId: string, status: string, timeoutMs = 20_000): Promise<void> {
    await page.waitForSelector(`#agent-${agentId} [data-agent-status="${status}"]`, { timeout: timeoutMs });
  }

  it('creates a pool and an agent token in a browser; the token is shown once and registers a real agent, whose status the page follows live', async () => {
    const page = await adminPage(`/app/${org}/agent-pools`);
    assert.equal(new URL(page.url()).pathname, `/app/${org}/agent-pools`);
    const poolName = randomName('pool');
    await page.type('#pool-name', poolName);
    await Promise.all([page.waitForNavigation(), page.click('form[action$="/agent-pools"] button[type="submit"]')]);
    const poolPath = new URL(page.url()).pathname;
    assert.match(poolPath, new RegExp(`^/app/${org}/agent-pools/apool-`));
    assert.equal(await page.$eval('h1', (h) => h.textContent), `Agent pool ${poolName}`);

    await page.type('#token-description', 'browser <b>token</b>');
    await Promise.all([page.waitForNavigation(), page.click('form[action$="/tokens"] button[type="submit"]')]);
    const secret = await page.$eval('#secret-once-value', (i) => (i as unknown as { value: string }).value);
    assert.match(secret, /^at-/);
    assert.deepEqual(await seriousViolations(page), []);

    // Back on the pool's page (a GET): the token is listed by its description, never shown again.
    await page.goto(`${server.url}${poolPath}`);
    const html = await page.content();
    assert.ok(!html.includes(secret), 'the token is not on the page any more');
    assert.ok(html.includes('browser &lt;b&gt;token&lt;/b&gt;'), 'the description is escaped');
    // A marker that a reload would wipe out: the table below changes without one.
    await page.evaluate('window.notReloaded = true');

    const agent = startAgent(server, ['--token', secret, '--name', 'web-agent-1']);
    const registered = await agent.waitForLog('registered; waiting for jobs');
    await statusShown(page, registered.agent, 'idle');
    await screenshot(page, 'agent-pool');

    // Stopped the proper way, it deregisters: exited.
    agent.child.kill('SIGTERM');
    await agent.exited;
    await statusShown(page, registered.agent, 'exited');
    assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was not reloaded');

    // Killed, it just goes silent: unknown after three missed heartbeats, then errored.
    const second = startAgent(server, ['--token', secret, '--name', 'web-agent-2']);
    const other = await second.waitForLog('registered; waiting for jobs');
    await statusShown(page, other.agent, 'idle');
    second.child.kill('SIGKILL');
    await second.exited;
    await statusShown(page, other.agent, 'unknown');
    await statusShown(page, other.agent, 'errored');
    assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was not reloaded');
    await page.close();
  });

  it('shows a busy agent with a link to the run it is executing', async () => {
    const poolId = await createPool(org);
    const token = await api.post(`/agent-pools/${poolId}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'run' } } });
    assert.equal(token.status, 201, token.text);
    const ws = await createWorkspace(api, org);
    const patched = await api.patch(`/workspaces/${ws.id}`, { data: { type: 'workspaces', attributes: { 'execution-mode': 'agent', 'agent-pool-id': poolId } } });
    assert.equal(patched.status, 200, patched.text);
    const cv = await api.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assert.equal(cv.status, 201, cv.text);
    const put = await uploadTarball(api, cv.body.data, configTarball({ 'main.tf': fixture('slow-apply', { command: 'sleep 6' }) }));
    assert.equal(put.status, 200, put.text);

    const page = await adminPage(`/app/${org}/agent-pools/${poolId}`);
    const agent: AgentProcess = startAgent(server, ['--token', token.body.data.attributes.token]);
    const registered = await agent.waitForLog('registered; waiting for jobs');
    await statusShown(page, registered.agent, 'idle');
    const run = await api.post('/runs', { data: { type: 'runs', attributes: { 'auto-apply': true }, relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } } } });
    assert.equal(run.status, 201, run.text);
    const runId: string = run.body.data.id;
    await statusShown(page, registered.agent, 'busy', 60_000);
    await page.waitForSelector(`#agent-${registered.agent} a[href="/app/${org}/workspaces/${ws.attributes.name}/runs/${runId}"]`, { timeout: 60_000 });
    // Once the run is done the agent is idle again, with no job.
    await statusShown(page, registered.agent, 'idle', 90_000);
    await page.close();
  });

  it('offers pool management only to who may manage pools; others get 403, outsiders and other organizations 404', async () => {
    const poolId = await createPool(org);
    const member = await createUser(api);
    await addToOrganization(api, org, member);
    const web = client();
    await web.signIn(member.token);
    const list = await web.get(`/app/${org}/agent-pools`);
    assert.equal(list.status, 200);
    assert.ok(!list.text.includes('New agent pool'), 'no creation form for a member without manage-agent-pools');
    const view = await web.get(`/app/${org}/agent-pools/${poolId}`);
    assert.equal(view.status, 200);
    assert.ok(view.text.includes('Agents'));
    assert.ok(!view.text.includes('Create agent token'), 'no token form');
    // Posting the form anyway: the service's 403, as an error page.
    const forged = await web.post(`/app/${org}/agent-pools/${poolId}/tokens`, { description: 'x' }, { from: `/app/${org}/agent-pools/${poolId}` });
    assert.equal(forged.status, 403);
    assert.match(forged.text, /manage agent pools/);
    assert.equal((await web.post(`/app/${org}/agent-pools`, { name: 'nope' }, { from: `/app/${org}/agent-pools` })).status, 403);

    // A team with manage-agent-pools gets the forms, and its token works against the agent protocol.
    const team = await createTeam(api, org, { 'manage-agent-pools': true });
    const manager = await createUser(api);
    await addToOrganization(api, org, manager, [team.id]);
    const mweb = client();
    await mweb.signIn(manager.token);
    const page = await mweb.get(`/app/${org}/agent-pools/${poolId}`);
    assert.ok(page.text.includes('Create agent token'));
    const created = await mweb.post(`/app/${org}/agent-pools/${poolId}/tokens`, { description: 'by manager' }, { from: `/app/${org}/agent-pools/${poolId}` });
    assert.equal(created.status, 200);
    const secret = /id="secret-once-value"[^>]*value="([^"]+)"/.exec(created.text)?.[1];
    assert.ok(secret, 'the new token is on the answer to the form');
    const again = await mweb.get(`/app/${org}/agent-pools/${poolId}`);
    assert.ok(!again.text.includes(secret!), 'and never again');
    const agent = startAgent(server, ['--token', secret!]);
    await agent.waitForLog('registered; waiting for jobs');

    // An outsider sees nothing of the organization; another organization's pool is not under this one.
    const outsider = await createUser(api);
    const oweb = client();
    await oweb.signIn(outsider.token);
    assert.equal((await oweb.get(`/app/${org}/agent-pools`)).status, 404);
    assert.equal((await oweb.get(`/app/${org}/agent-pools/${poolId}`)).status, 404);
    assert.equal((await oweb.get(`/app/${org}/agent-pools/${poolId}/events`, { Accept: 'text/event-stream' })).status, 404);
    const otherOrg = await createOrganization(api);
    const otherPool = await createPool(otherOrg);
    const admin = client();
    await admin.signIn(server.siteToken);
    assert.equal((await admin.get(`/app/${org}/agent-pools/${otherPool}`)).status, 404);
    assert.equal((await admin.get(`/app/${org}/agent-pools/apool-doesnotexist`)).status, 404);
    const bad = await admin.post(`/app/${org}/agent-pools`, { name: '<script>alert(1)</script>' }, { from: `/app/${org}/agent-pools` });
    assert.equal(bad.status, 422);
    assert.ok(!bad.text.includes('<script>alert(1)'), 'the bad name is not echoed as markup');
  });
});
