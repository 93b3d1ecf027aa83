// The run page's live stream in a real Chromium against a real otfd: it comes back by itself after
// otfd restarts (a new otfd on the same port and database), it ends for a visitor who loses the
// right to read the run (within the re-check interval) and at sign-out in another tab, and otfd
// cuts the stream of a browser that does not read rather than holding ever more for it.
// The test plays a pool agent through the agent protocol, so it decides when log lines arrive.
import assert from 'node:assert/strict';
import http from 'node:http';
import { Api, type Json } from './helpers/api.js';
import { launchBrowser, signInWithToken, type Browser, type Page } from './helpers/browser.js';
import { userWithAccess } from './helpers/people.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { until } from './helpers/wait.js';
import { WebClient } from './helpers/web.js';

/** How often streams gather their visitors' rights again here (30 s by default). */
const RECHECK_MS = 1_000;
/** The agent sends no heartbeats during the test: otfd must not give up on it meanwhile. */
const QUIET_AGENTS = { agentHeartbeatSeconds: 60, agentGracePeriodSeconds: 600 };

interface StartedJob {
  workspace: string;
  workspaceId: string;
  runId: string;
  jobId: string;
  token: string;
  /** Bytes of the plan log written so far. */
  offset: number;
}

describe('web UI: live streams', function () {
  this.timeout(180_000);
  let server: TestServer;
  /** The site token's client of the otfd running now. */
  let admin: Api;
  /** The site token (the restarted otfd keeps it). */
  let siteToken: string;
  let org: string;
  let poolId: string;
  let poolToken: string;
  let browser: Browser;

  before(async () => {
    server = await startServer({ config: { streamRecheckMs: RECHECK_MS, ...QUIET_AGENTS } });
    admin = server.api;
    siteToken = server.siteToken;
    org = await createOrganization(admin);
    const pool = await admin.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: 'live', 'organization-scoped': true } } });
    assert.equal(pool.status, 201, pool.text);
    const token = await admin.post(`/agent-pools/${pool.body.data.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'live' } } });
    assert.equal(token.status, 201, token.text);
    poolToken = token.body.data.attributes.token;
    poolId = pool.body.data.id;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const runPath = (job: StartedJob) => `/app/${org}/workspaces/${job.workspace}/runs/${job.runId}`;

  /** A run (of a new workspace) whose plan job the test's agent has claimed and started: the run plans until the test says otherwise. */
  async function plannedByTheTest(): Promise<StartedJob> {
    const ws = await createWorkspace(admin, org);
    const agentMode = await admin.patch(`/workspaces/${ws.id}`, { data: { type: 'workspaces', attributes: { 'execution-mode': 'agent', 'agent-pool-id': poolId } } });
    assert.equal(agentMode.status, 200, agentMode.text);
    const cv = await admin.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assert.equal(cv.status, 201, cv.text);
    assert.equal((await uploadTarball(admin, cv.body.data, configTarball({ 'main.tf': 'resource "terraform_data" "x" {}\n' }))).status, 200);
    const run = await admin.post('/runs', { data: { type: 'runs', attributes: {}, relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } } } });
    assert.equal(run.status, 201, run.text);
    const registered = await admin.post('/api/agent/register', {}, { token: poolToken });
    assert.equal(registered.status, 201, registered.text);
    const agent = admin.withToken(registered.body.token);
    const polled = await agent.get('/api/agent/jobs?wait=10');
    assert.equal(polled.status, 200, polled.text);
    const job = (polled.body.jobs as Json[]).find((j) => j.run === run.body.data.id);
    assert.ok(job, `the agent got the run's job: ${polled.text}`);
    assert.equal((await admin.withToken(job.token).post(`/api/agent/jobs/${job.id}/start`, {})).status, 200);
    return { workspace: ws.attributes.name, workspaceId: ws.id, runId: run.body.data.id, jobId: job.id, token: job.token, offset: 0 };
  }

  /** The agent sends the next piece of the plan log. */
  async function writeLog(job: StartedJob, text: string | Buffer): Promise<void> {
    const data = Buffer.from(text);
    const res = await admin.withToken(job.token).request('PUT', `/api/agent/jobs/${job.jobId}/logs?offset=${job.offset}`, { raw: data, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(res.status, 200, res.text);
    job.offset += data.length;
  }

  /** Signs in with the token, leaving the session of an earlier test behind (this Chromium has one browser context: it runs as a single process). */
  async function signInAfresh(page: Page, token: string): Promise<void> {
    const cdp = await page.createCDPSession();
    await cdp.send('Network.clearBrowserCookies');
    await cdp.detach();
    await signInWithToken(page, server.url, token);
  }

  const planLog = (page: Page) => page.$eval('#plan-log', (el) => el.textContent ?? '');
  async function waitForLine(page: Page, line: string): Promise<void> {
    await page.waitForFunction(`(document.querySelector('#plan-log')?.textContent ?? '').includes(${JSON.stringify(line)})`, { timeout: 30_000 });
  }

  /** Requests the page makes to its event stream, and their answers' statuses. */
  function streamRequests(page: Page): { opened: number; statuses: number[] } {
    const seen = { opened: 0, statuses: [] as number[] };
    page.on('request', (req) => {
      if (req.url().includes('/events')) seen.opened++;
    });
    page.on('response', (res) => {
      if (res.url().includes('/events')) seen.statuses.push(res.status());
    });
    return seen;
  }

  it('reconnects after otfd restarts: lines written to the new otfd appear in the open page without a reload', async () => {
    const job = await plannedByTheTest();
    await writeLog(job, 'first line\n');
    const page = await browser.newPage();
    await signInWithToken(page, server.url, siteToken);
    await page.goto(`${server.url}${runPath(job)}`);
    assert.match(await planLog(page), /first line/);
    let navigations = 0;
    page.on('framenavigated', () => navigations++);
    await writeLog(job, 'live line\n');
    await waitForLine(page, 'live line');

    // A new otfd on the same port and database: the page's stream ended with the old one.
    const { databaseUrl, secret, hostname } = server;
    const port = server.otfd.port;
    await server.stop();
    server = await startServer({ databaseUrl, config: { listenPort: port, hostname, secret, siteToken, streamRecheckMs: RECHECK_MS, ...QUIET_AGENTS } });
    admin = new Api(server.url, siteToken);
    // Written while the page may still be reconnecting, and once it surely is connected again.
    await writeLog(job, 'after the restart\n');
    await waitForLine(page, 'after the restart');
    await writeLog(job, 'and more\n');
    await waitForLine(page, 'and more');
    assert.equal(navigations, 0, 'the page was not reloaded');
    const log = await planLog(page);
    for (const line of ['first line\n', 'live line\n', 'after the restart\n', 'and more\n']) {
      assert.equal(log.split(line).length - 1, 1, `"${line.trim()}" once in:\n${log}`);
    }
    await page.close();
  });

  it('ends the stream of a visitor removed from the team that let them read the run, within the re-check interval', async () => {
    const job = await plannedByTheTest();
    const reader = await userWithAccess(admin, org, [job.workspaceId], 'read');
    const page = await browser.newPage();
    await signInAfresh(page, reader.token);
    const stream = streamRequests(page);
    await page.goto(`${server.url}${runPath(job)}`);
    await writeLog(job, 'the reader sees this\n');
    await waitForLine(page, 'the reader sees this');

    const removed = await admin.request('DELETE', `/teams/${reader.teamId}/relationships/users`, { body: { data: [{ type: 'users', id: reader.id }] } });
    assert.equal(removed.status, 204, removed.text);
    // Within the interval the stream ends; the browser reconnects and is refused.
    await until('the reconnected stream to be refused', async () => stream.statuses, (s) => s.includes(404), 10_000);
    await writeLog(job, 'the reader does not see this\n');
    await new Promise((resolve) => setTimeout(resolve, 3 * RECHECK_MS));
    assert.doesNotMatch(await planLog(page), /the reader does not see this/);
    assert.match(await planLog(page), /the reader sees this/);
    await page.close();
  });

  it('ends the stream when the visitor signs out in another tab: no further events arrive and it does not reconnect', async () => {
    const job = await plannedByTheTest();
    const page = await browser.newPage();
    await signInAfresh(page, siteToken);
    const stream = streamRequests(page);
    await page.goto(`${server.url}${runPath(job)}`);
    await writeLog(job, 'seen while signed in\n');
    await waitForLine(page, 'seen while signed in');
    const opened = stream.opened;
    assert.ok(opened >= 1, 'the page opened its stream');

    const other = await browser.newPage();
    await other.goto(`${server.url}/app/organizations`);
    await Promise.all([other.waitForNavigation(), other.click('form[action="/logout"] button')]);
    assert.match(other.url(), /\/login/);

    await writeLog(job, 'written after sign-out\n');
    // Longer than the browser's reconnect delay (2 s) and a few re-checks.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    assert.doesNotMatch(await planLog(page), /written after sign-out/);
    assert.equal(stream.opened, opened, 'the page did not open its stream again');
    await other.close();
    await page.close();
  });

  it('cuts the stream of a browser that stops reading, instead of holding ever more for it', async () => {
    const job = await plannedByTheTest();
    const client = new WebClient(server.url);
    await client.signIn(siteToken);
    const pageHtml = (await client.get(runPath(job))).text;
    const streamPath = /sse-connect="([^"]+)"/.exec(pageHtml)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(streamPath, 'the page names its stream');

    // A reader that takes nothing until told: what otfd sends piles up.
    let received = 0;
    let ended = false;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get(new URL(streamPath, server.url), { headers: { Accept: 'text/event-stream', Cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } }, resolve);
      req.on('error', reject);
    });
    assert.equal(res.statusCode, 200);
    res.on('error', () => undefined);
    res.on('close', () => (ended = true));

    // 16 MiB of log (4 MiB chunks, the most the protocol takes at once): far more than the 1 MiB a stream may hold.
    const line = `${'x'.repeat(99)}\n`;
    const chunk = line.repeat((4 * 1024 * 1024) / line.length);
    for (let i = 0; i < 4; i++) await writeLog(job, chunk);
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    res.on('data', (c: Buffer) => (received += c.length));
    await until('otfd to cut the stream', async () => ended, (e) => e, 20_000);
    assert.ok(received < job.offset, `the reader got ${received} of ${job.offset} bytes before the stream was cut`);
  });

  it('shows only the end of a long log, with a link to the whole log as plain text (same rights, no colour codes)', async () => {
    const job = await plannedByTheTest();
    await writeLog(job, 'the very first line\n');
    const filler = `\x1b[32m${'y'.repeat(90)}\x1b[0m\n`;
    await writeLog(job, filler.repeat(Math.ceil((300 * 1024) / filler.length)));
    await writeLog(job, 'the <b>last</b> line\n');
    const client = new WebClient(server.url);
    await client.signIn(siteToken);
    const shown = await client.get(runPath(job));
    assert.equal(shown.status, 200);
    assert.doesNotMatch(shown.text, /the very first line/, 'the start of a long log is left out of the page');
    assert.match(shown.text, /the &lt;b&gt;last&lt;\/b&gt; line/);
    assert.match(shown.text, /This log is long/);
    // The workspace's pages are a link away, Runs the current one; the breadcrumbs name the workspaces as the workspace's pages do.
    assert.match(shown.text, /<nav aria-label="Breadcrumb"><ul><li><a [^>]+>[^<]+<\/a><\/li><li><a [^>]+>Workspaces<\/a><\/li><li><a [^>]+>[^<]+<\/a><\/li><li><a [^>]+>Runs<\/a><\/li><li aria-current="page">run-/);
    assert.match(shown.text, /<nav aria-label="Workspace"[\s\S]*?aria-current="page"><strong>Runs<\/strong>/);
    const link = /<a href="([^"]+\/logs\/plan)">the whole plan log as plain text<\/a>/.exec(shown.text)?.[1];
    assert.ok(link, 'the page links to the whole log');
    // The page shows well under the whole log: the end of it.
    const logHtml = /<pre class="log" id="plan-log"[^>]*>([\s\S]*?)<\/pre>/.exec(shown.text)?.[1] ?? '';
    const fillerLines = Math.ceil((300 * 1024) / filler.length);
    const shownLines = logHtml.split('\n').length - 1;
    assert.ok(shownLines < fillerLines && shownLines > (200 * 1024) / filler.length, `the page shows ${shownLines} of ${fillerLines + 2} lines`);
    assert.ok(logHtml.startsWith('<span class="ansi-green-fg">'), 'it starts on a whole line');

    const whole = await client.get(link);
    assert.equal(whole.status, 200);
    assert.match(whole.headers['content-type'] ?? '', /^text\/plain; charset=utf-8/);
    assert.equal(whole.headers['x-content-type-options'], 'nosniff');
    assert.ok(whole.text.startsWith('the very first line\n'));
    assert.ok(whole.text.endsWith('the <b>last</b> line\n'));
    assert.ok(!whole.text.includes('\x1b'), 'no colour codes in the plain text');
    assert.equal(whole.text.split('\n').length - 1, fillerLines + 2);
    // The same rights as the page: an outsider gets 404, as for the page; there is no third log.
    const outsider = new WebClient(server.url);
    const stranger = await userWithAccess(admin, await createOrganization(admin), [], 'read');
    await outsider.signIn(stranger.token);
    assert.equal((await outsider.get(link)).status, 404);
    assert.equal((await client.get(link.replace(/plan$/, 'destroy'))).status, 404);
    // Unknown, oversized and NUL-carrying run ids and phases are refused with a 4xx, never a 5xx.
    const withRun = (id: string) => link.replace(/\/runs\/run-[^/]+\//, `/runs/${id}/`);
    for (const bad of [withRun('run-nope'), withRun('r'.repeat(5000)), withRun('run-%00'), `${link}%00`, link.replace(/plan$/, 'p'.repeat(5000))]) {
      const res = await client.get(bad);
      assert.ok(res.status >= 400 && res.status < 500, `${bad.slice(0, 100)} answered ${res.status}`);
    }
  });
});
