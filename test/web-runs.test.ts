// A workspace's runs in the web UI, in a real Chromium against a real otfd whose server agent runs
// the real terraform: starting a run from the runs page, watching its plan log stream live while
// it plans, approving it and seeing it applied without a reload; what a read-only user is offered
// and refused; discarding and canceling; log output with HTML and ANSI colours escaped; and runs of
// other organizations not found.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Api, Json } from './helpers/api.js';
import { launchBrowser, screenshot, seriousViolations, signInWithToken, type Browser, type Page } from './helpers/browser.js';
import { addToOrganization, createUser, userWithAccess } from './helpers/people.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { until } from './helpers/wait.js';
import { WebClient } from './helpers/web.js';
import { LogRenderer, wholeUtf8Length } from '../src/web/pages/run-log.js';

const FINAL = ['applied', 'planned_and_finished', 'discarded', 'errored', 'canceled', 'force_canceled'];

/** An empty state, as an http backend serves it to terraform_remote_state. */
const EMPTY_STATE = JSON.stringify({ version: 4, terraform_version: '1.5.0', serial: 1, lineage: '3f1d7a1e-0000-4000-8000-000000000000', outputs: {}, resources: [] });

describe('web UI: run logs as HTML', () => {
  it('escapes markup, keeps colours across chunks as classes, and writes no style attribute (the CSP refuses them)', () => {
    const log = new LogRenderer();
    const first = log.render('\x1b[1;31m<script>alert(1)</script> & "q"');
    const second = log.render(' still red\x1b[0m plain\r\n');
    assert.equal(String(first), '<span class="ansi-bold ansi-red-fg">&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;</span>');
    assert.equal(String(second), '<span class="ansi-bold ansi-red-fg"> still red</span> plain\n');
    assert.doesNotMatch(String(new LogRenderer().render('\x1b[38;2;1;2;3mtrue\x1b[0m \x1b[3;4mx\x1b[0m')), /style=/);
  });

  it('cuts a chunk at the last whole UTF-8 character', () => {
    const euro = Buffer.from('a€', 'utf8');
    assert.equal(wholeUtf8Length(euro), 4);
    assert.equal(wholeUtf8Length(euro.subarray(0, 3)), 1);
    assert.equal(wholeUtf8Length(euro.subarray(0, 2)), 1);
    assert.equal(wholeUtf8Length(Buffer.from('plain')), 5);
    assert.equal(wholeUtf8Length(Buffer.alloc(0)), 0);
  });
});

describe('web UI: runs', function () {
  this.timeout(180_000);
  let server: TestServer;
  let admin: Api;
  let org: string;
  let ws: Json;
  let browser: Browser;
  let page: Page;
  /** A remote state that takes its time to answer: plans reading it take a couple of seconds. */
  let slowState: http.Server;
  let slowPort: number;

  before(async () => {
    server = await startServer({ config: { concurrency: 1 } });
    admin = server.api;
    org = await createOrganization(admin);
    ws = await createWorkspace(admin, org, 'web-runs');
    slowState = http.createServer((_req, res) => {
      setTimeout(() => res.writeHead(200, { 'Content-Type': 'application/json' }).end(EMPTY_STATE), 3_000);
    });
    await new Promise<void>((resolve) => slowState.listen(0, '127.0.0.1', resolve));
    slowPort = (slowState.address() as AddressInfo).port;
    browser = await launchBrowser();
    page = await browser.newPage();
    // Apply and cancel ask first (app.js): the test says yes.
    page.on('dialog', (d) => void d.accept());
    await signInWithToken(page, server.url, server.siteToken);
  });
  after(async () => {
    await browser?.close();
    slowState?.close();
    await server?.stop();
  });

  const runsPath = () => `/app/${org}/workspaces/${ws.attributes.name}/runs`;
  const runPath = (id: string) => `${runsPath()}/${id}`;

  async function upload(mainTf: string, wsId: string = ws.id): Promise<void> {
    const cv = await admin.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assert.equal(cv.status, 201, cv.text);
    const up = await uploadTarball(admin, cv.body.data, configTarball({ 'main.tf': mainTf }));
    assert.equal(up.status, 200, up.text);
  }

  /** Two remote states read one after the other, three seconds each; then a resource whose apply talks. */
  function slowConfiguration(): string {
    return `
data "terraform_remote_state" "first" {
  backend = "http"
  config  = { address = "http://127.0.0.1:${slowPort}/first" }
}
data "terraform_remote_state" "second" {
  backend    = "http"
  config     = { address = "http://127.0.0.1:${slowPort}/second" }
  depends_on = [data.terraform_remote_state.first]
}
resource "terraform_data" "talk" {
  input = "talk"
  provisioner "local-exec" {
    command = "echo tick-1; sleep 1; printf '\\\\033[31m<b>red</b> & <script>window.pwned=1</script>\\\\033[0m\\\\n'; sleep 1; echo tick-3"
  }
}
output "markup" {
  value = "<img src=x onerror=alert(1)>"
}
`;
  }

  async function runStatus(id: string): Promise<Json> {
    const res = await admin.get(`/runs/${id}`);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  async function waitForRun(id: string, wanted: string[]): Promise<Json> {
    return until(
      `run ${id} to be ${wanted.join(' or ')}`,
      () => runStatus(id),
      (r) => {
        const status: string = r.attributes.status;
        if (!wanted.includes(status) && FINAL.includes(status)) throw new Error(`run ${id} ended ${status}: ${r.attributes['error-message']}`);
        return wanted.includes(status);
      },
      90_000,
    );
  }

  async function createRun(client: Api = admin, wsId: string = ws.id): Promise<Json> {
    const res = await client.post('/runs', { data: { type: 'runs', attributes: { 'auto-apply': false }, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } });
    assert.equal(res.status, 201, res.text);
    return res.body.data;
  }

  const text = (selector: string) => page.$eval(selector, (el) => el.textContent ?? '');

  /** Waits until the element's text includes `wanted` (the page's script as a string: the test has no DOM types). */
  async function waitForText(selector: string, wanted: string): Promise<void> {
    await page.waitForFunction(`(document.querySelector(${JSON.stringify(selector)})?.textContent ?? '').includes(${JSON.stringify(wanted)})`, { timeout: 60_000 });
  }

  /** Waits until the run page's status badge shows `status`. */
  async function waitForBadge(status: string): Promise<void> {
    await page.waitForFunction(`document.querySelector('#run-summary .status')?.textContent === ${JSON.stringify(status)}`, { timeout: 60_000 });
  }

  it('starts a run from the runs page, streams its plan log while it plans, and applies it live when approved', async () => {
    await upload(slowConfiguration());
    await page.goto(`${server.url}${runsPath()}`);
    assert.equal(await page.$eval('h1', (el) => el.textContent), `Runs of ${ws.attributes.name}`);
    await page.type('#run-message', 'from the browser');
    await page.select('#run-operation', 'plan-and-apply');
    const [response] = await Promise.all([page.waitForNavigation(), page.click('form.start-run button[type="submit"]')]);
    const runId = /\/runs\/(run-[A-Za-z0-9]+)$/.exec(page.url())?.[1];
    assert.ok(runId, `the run page: ${page.url()}`);
    const firstHtml = (await response?.text()) ?? '';
    assert.ok(!firstHtml.includes('data.terraform_remote_state.first: Read complete'), 'the page was rendered before the first read completed');
    assert.match(await text('#run-summary'), /from the browser/);

    // The first read completes while the second is still reading: the line is in the page while the run plans.
    await waitForText('#plan-log', 'data.terraform_remote_state.first: Read complete');
    assert.equal((await runStatus(runId)).attributes.status, 'planning', 'the log line arrived before the plan ended');
    assert.match(await text('#run-summary'), /planning/);

    // Planned: the summary and the buttons change without a reload.
    let navigations = 0;
    const counted = () => navigations++;
    page.on('framenavigated', counted);
    await waitForBadge('planned');
    assert.match(await text('#run-summary'), /\+1 ~0 -0/);
    assert.ok(await page.$('#run-actions form[action$="/actions/apply"]'), 'an Apply button is offered');
    assert.ok(await page.$('#run-actions form[action$="/actions/discard"]'), 'a Discard button is offered');
    assert.equal(navigations, 0, 'no reload while planning');
    // The output's markup is text in the log, never an element.
    assert.match(await text('#plan-log'), /<img src=x onerror=alert\(1\)>/);
    assert.equal(await page.$$eval('#plan-log img', (els) => els.length), 0);
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, 'run-planned');
    page.off('framenavigated', counted);

    // Apply (confirmed in the dialog): the form posts and comes back to the run page, which then follows the apply live.
    await Promise.all([page.waitForNavigation(), page.click('#run-actions form[action$="/actions/apply"] button')]);
    navigations = 0;
    page.on('framenavigated', counted);
    await waitForText('#apply-log', 'tick-1');
    await waitForBadge('applied');
    assert.equal(navigations, 0, 'the apply was followed without a reload');
    page.off('framenavigated', counted);
    assert.equal((await runStatus(runId)).attributes.status, 'applied');
    assert.match(await text('#run-summary'), /Apply[\s\S]*\+1 ~0 -0/);
    assert.equal(await page.$$eval('#run-actions form', (els) => els.length), 0, 'an applied run offers no actions');

    // The apply's output arrived once each, coloured, its markup escaped and never run.
    const applyLog = await text('#apply-log');
    const once = (log: string, line: string) => assert.equal(log.split(line).length - 1, 1, `${line} once in:\n${log}`);
    once(applyLog, '(local-exec): tick-1\n');
    assert.match(applyLog, /tick-3/);
    assert.match(applyLog, /<b>red<\/b> & <script>window\.pwned=1<\/script>/);
    assert.equal(await page.$$eval('#apply-log script, #apply-log b', (els) => els.length), 0);
    assert.equal(await page.evaluate('window.pwned'), undefined);
    assert.ok(await page.$('#apply-log span.ansi-red-fg'), 'the red text is coloured by a class');

    // Reloaded, the page shows the same logs, nothing doubled.
    await page.reload();
    const reloaded = await text('#apply-log');
    once(reloaded, '(local-exec): tick-1\n');
    assert.equal(reloaded, applyLog, 'the reloaded page shows what the live page showed');
    assert.match(await text('#plan-log'), /Read complete/);
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, 'run-applied');

    // The runs list shows it, newest first, with its status.
    await page.goto(`${server.url}${runsPath()}`);
    assert.match(await text('table tbody tr:first-child'), new RegExp(`${runId}[\\s\\S]*applied`));
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, 'runs-list');
  });

  it('a read-only user sees the run but no buttons, and is refused when posting the apply form anyway', async () => {
    await upload('resource "terraform_data" "quick" {\n  input = "quick"\n}\n');
    const run = await createRun();
    await waitForRun(run.id, ['planned']);
    const reader = await userWithAccess(admin, org, [ws.id], 'read');
    const client = new WebClient(server.url);
    await client.signIn(reader.token);
    const shown = await client.get(runPath(run.id));
    assert.equal(shown.status, 200);
    assert.match(shown.text, /planned/);
    assert.doesNotMatch(shown.text, /actions\/apply|actions\/discard|actions\/cancel/);
    assert.doesNotMatch(shown.text, /Start run/, 'no start-run form on the run page');
    const list = await client.get(runsPath());
    assert.equal(list.status, 200);
    assert.doesNotMatch(list.text, /Start a new run/, 'a reader may not start runs');

    const applied = await client.post(`${runPath(run.id)}/actions/apply`, {}, { from: runPath(run.id) });
    assert.equal(applied.status, 403, applied.text.slice(0, 500));
    assert.match(applied.headers['content-type'] ?? '', /text\/html/);
    const started = await client.post(runsPath(), { operation: 'plan-and-apply' }, { from: runsPath() });
    assert.equal(started.status, 403);
    assert.equal((await runStatus(run.id)).attributes.status, 'planned', 'the run was not applied');

    // Comments: a reader may comment; the comment is shown escaped.
    const commented = await client.post(`${runPath(run.id)}/comments`, { body: '<em>looks</em> fine' }, { from: runPath(run.id) });
    assert.equal(commented.status, 303);
    const again = await client.get(runPath(run.id));
    assert.match(again.text, /&lt;em&gt;looks&lt;\/em&gt; fine/);
    assert.match(again.text, new RegExp(reader.username));

    // The site admin discards it from the browser.
    await page.goto(`${server.url}${runPath(run.id)}`);
    await Promise.all([page.waitForNavigation(), page.click('#run-actions form[action$="/actions/discard"] button')]);
    assert.equal((await runStatus(run.id)).attributes.status, 'discarded');
    assert.match(await text('#run-summary'), /discarded/);
  });

  it('cancels a planning run from the run page', async () => {
    await upload(slowConfiguration());
    const run = await createRun();
    await page.goto(`${server.url}${runPath(run.id)}`);
    await waitForBadge('planning');
    await Promise.all([page.waitForNavigation(), page.click('#run-actions form[action$="/actions/cancel"] button')]);
    await waitForBadge('canceled');
    assert.equal((await runStatus(run.id)).attributes.status, 'canceled');
  });

  it('shows why a run waits: the run ahead holding the workspace, and its place in the queue', async () => {
    await upload(slowConfiguration());
    const first = await createRun();
    const second = await createRun();
    await waitForRun(first.id, ['planning']);
    const client = new WebClient(server.url);
    await client.signIn(server.siteToken);
    const waiting = await client.get(runPath(second.id));
    assert.equal(waiting.status, 200);
    assert.match(waiting.text, /Position in the organization's queue: <strong>1<\/strong>/);
    assert.match(waiting.text, new RegExp(`data-reason="workspace-locked">The workspace is locked by run ${first.id} \\(planning\\); this run starts after it\\.`));
    assert.match(waiting.text, new RegExp(`Lock held by run <a href="[^"]+">${first.id}</a>`));
    // Done with them: discard the waiting one, cancel the planning one.
    assert.equal((await client.post(`${runPath(second.id)}/actions/discard`, {}, { from: runPath(second.id) })).status, 303);
    assert.equal((await client.post(`${runPath(first.id)}/actions/cancel`, {}, { from: runPath(first.id) })).status, 303);
    await waitForRun(first.id, ['canceled']);
  });

  it('says a run of an agent-mode workspace waits for an agent of its pool', async () => {
    const pool = await admin.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: 'builders', 'organization-scoped': true } } });
    assert.equal(pool.status, 201, pool.text);
    const agentWs = await createWorkspace(admin, org, 'by-agents');
    const set = await admin.patch(`/workspaces/${agentWs.id}`, { data: { type: 'workspaces', attributes: { 'execution-mode': 'agent', 'agent-pool-id': pool.body.data.id } } });
    assert.equal(set.status, 200, set.text);
    await upload('resource "terraform_data" "x" {}\n', agentWs.id);
    const run = await createRun(admin, agentWs.id);
    await waitForRun(run.id, ['plan_queued']);
    const client = new WebClient(server.url);
    await client.signIn(server.siteToken);
    const path = `/app/${org}/workspaces/by-agents/runs/${run.id}`;
    const shown = await client.get(path);
    assert.equal(shown.status, 200);
    assert.match(shown.text, /data-reason="no-agents">The plan waits for an agent: agent pool &quot;builders&quot; \(apool-[^)]+\) has no agent registered\./);
    assert.match(shown.text, /Agent pool <a href="[^"]+">builders<\/a>: 0 idle, 0 busy, 0 unknown/);
    // Runs of other workspaces of the organization may be ahead of it.
    assert.match(shown.text, /Position in the organization's queue: <strong>\d+<\/strong>/);
    assert.equal((await client.post(`${path}/actions/cancel`, {}, { from: path })).status, 303);
    await waitForRun(run.id, ['canceled']);
  });

  it('a stream that reconnects resumes the log where the last event it got left off', async () => {
    const runs = (await admin.get(`/workspaces/${ws.id}/runs?filter[status]=applied`)).body.data as Json[];
    const runId: string = runs[0].id;
    const client = new WebClient(server.url);
    await client.signIn(server.siteToken);
    const pageHtml = (await client.get(runPath(runId))).text;
    const streamPath = /sse-connect="([^"]+)"/.exec(pageHtml)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(streamPath, 'the page names its stream');
    const { plan, apply } = Object.fromEntries(new URL(streamPath, server.url).searchParams) as { plan: string; apply: string };
    assert.ok(Number(plan) > 0 && Number(apply) > 0, `the page's offsets: ${streamPath}`);

    /** The start of a stream, up to its last first message (the run's buttons) or for `waitMs`, as text. */
    const streamStart = (url: string, headers: Record<string, string>, waitMs = 20_000) =>
      new Promise<string>((resolve, reject) => {
        const req = http.get(new URL(url, server.url), { headers: { Accept: 'text/event-stream', Cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; '), ...headers } }, (res) => {
          let body = '';
          const done = () => {
            clearTimeout(timer);
            req.destroy();
            resolve(body);
          };
          const timer = setTimeout(done, waitMs);
          res.on('data', (c: Buffer) => {
            body += c.toString();
            // The buttons come last; a message ends with a blank line.
            if (/event: run-actions\n(data: .*\n)*\n/.test(body)) done();
          });
        });
        req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      });
    // The page's own stream sends nothing it shows already: no log again, no status it has.
    const fresh = await streamStart(streamPath, {}, 2_000);
    assert.doesNotMatch(fresh, /event:/, fresh);
    // A page rendered with an older status gets the new one.
    const stale = await streamStart(streamPath.replace('status=applied', 'status=planned'), {});
    assert.match(stale, /event: run-summary/);
    assert.doesNotMatch(stale, /event: log-/);
    // A browser that had seen only the first 10 bytes of the apply log gets the rest, once, and the status again.
    const resumed = await streamStart(streamPath, { 'Last-Event-ID': `plan:${plan};apply:10` });
    const applyEvents = resumed.split('event: log-apply').length - 1;
    assert.equal(applyEvents, 1, resumed);
    assert.doesNotMatch(resumed, /event: log-plan/);
    assert.match(resumed, new RegExp(`id: plan:${plan};apply:${apply}`));
    assert.match(resumed, /event: run-summary/);
    assert.match(resumed, /Apply complete!/);
  });

  it("answers 404 for other organizations' runs and unknown ids, and sends the CLI's link to the run page", async () => {
    const runs = (await admin.get(`/workspaces/${ws.id}/runs`)).body.data as Json[];
    const runId: string = runs[0].id;
    // JSON:API runs link to their page.
    assert.equal(runs[0].links['self-html'], runPath(runId));

    const otherOrg = await createOrganization(admin);
    const otherWs = await createWorkspace(admin, otherOrg, 'elsewhere');
    const outsider = await createUser(admin);
    await addToOrganization(admin, otherOrg, outsider);
    const client = new WebClient(server.url);
    await client.signIn(outsider.token);
    for (const path of [
      runPath(runId),
      `/app/${otherOrg}/workspaces/${otherWs.attributes.name}/runs/${runId}`,
      `/app/${otherOrg}/workspaces/${otherWs.attributes.name}/runs/run-doesnotexist`,
      `/app/${otherOrg}/workspaces/${otherWs.attributes.name}/runs/${encodeURIComponent('<b>x</b>')}`,
      `/app/${otherOrg}/workspaces/${otherWs.attributes.name}/runs/${runId}/events`,
    ]) {
      const res = await client.get(path);
      assert.equal(res.status, 404, `${path}: ${res.status}`);
      assert.doesNotMatch(res.text, /<b>x<\/b>/);
    }
    // Even the site admin finds a run only under its own workspace.
    const adminClient = new WebClient(server.url);
    await adminClient.signIn(server.siteToken);
    assert.equal((await adminClient.get(`/app/${otherOrg}/workspaces/${otherWs.attributes.name}/runs/${runId}`)).status, 404);
    assert.equal((await adminClient.get(`${runsPath()}?page=abc`)).status, 400);
    assert.equal((await adminClient.post(runsPath(), { operation: 'destroy-everything' }, { from: runsPath() })).status, 400);

    const cli = await client.get(`/app/${org}/${ws.attributes.name}/runs/${runId}`);
    assert.equal(cli.status, 302);
    assert.equal(cli.headers.location, runPath(runId));
  });
});
