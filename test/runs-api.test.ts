// Runs as a client of the API sees them, executed for real by the server agent inside otfd
// (concurrency 2) with the terraform on PATH: the flow a curl user follows, auto-apply, plan-only
// and no-change runs, discard, the per-workspace queue and its lock, cancel and force-cancel, the
// signed log stream, the JSON plan, variables, reading and listing runs, and bad input.
// Configurations use only terraform_data, local-exec and outputs: nothing to download.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Api, Json, Response } from './helpers/api.js';
import { assertError } from './helpers/assert.js';
import { fixture } from './helpers/fixtures.js';
import { addToOrganization, createTeam, createUser, grant, organizationToken } from './helpers/people.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { configTarball, rawRequest, uploadTarball } from './helpers/tarball.js';
import { sleep, until } from './helpers/wait.js';

// ---------------------------------------------------------------- configurations

const ONE_RESOURCE = fixture('one-resource');

/** A resource whose creation runs `command` through local-exec: a slow or stubborn apply. */
function provisioned(command: string): string {
  return fixture('slow-apply', { command });
}

const VARIABLES = fixture('run-variables');

// ---------------------------------------------------------------- small helpers

const FINAL = ['applied', 'planned_and_finished', 'discarded', 'errored', 'canceled', 'force_canceled'];
const TERMINAL_PHASE = ['finished', 'errored', 'canceled', 'unreachable'];
const STX = 0x02;
const ETX = 0x03;

function runDoc(wsId: string, attributes: Record<string, unknown> = {}, cvId?: string): Json {
  const relationships: Json = { workspace: { data: { type: 'workspaces', id: wsId } } };
  if (cvId) relationships['configuration-version'] = { data: { type: 'configuration-versions', id: cvId } };
  return { data: { type: 'runs', attributes, relationships } };
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe('runs API', function () {
  let server: TestServer;
  let api: Api;
  let org: string;

  before(async () => {
    // No force-cancel cool-off here: the stubborn engine below stops a second after its cancel.
    // The cool-off itself is shown in runs-tfc.test.ts, with a runner that does not answer.
    server = await startServer({ config: { concurrency: 2, forceCancelCoolOffMs: 0 } });
    api = server.api;
    org = await createOrganization(api);
  });
  after(() => server.stop());

  // ------------------------------------------------------------ helpers bound to the server

  /** Creates a configuration version of the workspace, uploads the files and returns its id. */
  async function uploadConfig(wsId: string, files: Record<string, string>, attributes: Record<string, unknown> = {}): Promise<string> {
    const res = await api.post(`/workspaces/${wsId}/configuration-versions`, {
      data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false, ...attributes } },
    });
    assert.equal(res.status, 201, res.text);
    const put = await uploadTarball(api, res.body.data, configTarball(files));
    assert.equal(put.status, 200, put.text);
    return res.body.data.id;
  }

  /** A fresh workspace of the organization with `main.tf` uploaded. */
  async function workspaceWith(mainTf: string, attributes: Record<string, unknown> = {}, owner = org): Promise<Json> {
    const ws = await createWorkspace(api, owner, undefined, attributes);
    await uploadConfig(ws.id, { 'main.tf': mainTf });
    return ws;
  }

  async function createRun(wsId: string, attributes: Record<string, unknown> = {}): Promise<Json> {
    const res = await api.post('/runs', runDoc(wsId, attributes));
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.data.type, 'runs');
    return res.body.data;
  }

  async function getRun(id: string, client = api): Promise<Json> {
    const res = await client.get(`/runs/${id}`);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  async function getWorkspace(id: string): Promise<Json> {
    const res = await api.get(`/workspaces/${id}`);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  async function phase(kind: 'plans' | 'applies', id: string): Promise<Json> {
    const res = await api.get(`/${kind}/${id}`);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  /** Bytes [offset, offset + limit) of a log stream, read as the CLI reads it: no token, query replaced. */
  async function readLog(logUrl: string, offset: number, limit: number): Promise<Buffer> {
    const url = new URL(logUrl);
    url.search = `?limit=${limit}&offset=${offset}`;
    const res = await rawRequest(api, 'GET', url.toString());
    assert.equal(res.status, 200, res.text);
    return res.bytes;
  }

  /** The whole log stream of a plan or apply (waiting for the phase to end), with STX and ETX. */
  async function wholeLog(kind: 'plans' | 'applies', id: string): Promise<Buffer> {
    const p = await until(`${kind}/${id} to end`, () => phase(kind, id), (d) => TERMINAL_PHASE.includes(d.attributes.status));
    return readLog(p.attributes['log-read-url'], 0, 1024 * 1024);
  }

  /** The text of a log without its STX and ETX. */
  function logText(stream: Buffer): string {
    let s = stream;
    if (s[0] === STX) s = s.subarray(1);
    if (s[s.length - 1] === ETX) s = s.subarray(0, -1);
    return s.toString('utf8');
  }

  /** What went wrong with a run, for assertion messages: its error and the tails of its logs. */
  async function diagnose(run: Json): Promise<string> {
    const plan = await wholeLog('plans', run.relationships.plan.data.id).catch(() => Buffer.alloc(0));
    const apply = await wholeLog('applies', run.relationships.apply.data.id).catch(() => Buffer.alloc(0));
    return `run ${run.id} is ${run.attributes.status} (${run.attributes['error-message']})\n--- plan log\n${logText(plan).slice(-3000)}\n--- apply log\n${logText(apply).slice(-3000)}`;
  }

  /** Polls the run until its status is one of `wanted`; fails at once when it ends in another status. */
  async function waitForRun(id: string, wanted: string[], timeoutMs = 30_000): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = await getRun(id);
      const status: string = run.attributes.status;
      if (wanted.includes(status)) return run;
      if (FINAL.includes(status)) assert.fail(`expected run ${id} to reach ${wanted.join(' or ')}, but it ended ${status}\n${await diagnose(run)}`);
      if (Date.now() > deadline) assert.fail(`run ${id} is still ${status} after ${timeoutMs} ms, waiting for ${wanted.join(' or ')}`);
      await sleep(100);
    }
  }

  /** Waits until the run's apply log shows `text`: the engine has got that far. */
  async function waitForApplyLog(run: Json, text: string): Promise<void> {
    const applyId = run.relationships.apply.data.id;
    const url = (await phase('applies', applyId)).attributes['log-read-url'];
    await until(`the apply log of ${run.id} to show ${JSON.stringify(text)}`, () => readLog(url, 0, 1024 * 1024), (b) => b.toString('utf8').includes(text));
  }

  async function action(runId: string, name: string, body: unknown = {}): Promise<Response> {
    return api.post(`/runs/${runId}/actions/${name}`, body);
  }

  async function lockWorkspace(wsId: string): Promise<void> {
    const res = await api.post(`/workspaces/${wsId}/actions/lock`, {});
    assert.equal(res.status, 200, res.text);
  }

  async function unlockWorkspace(wsId: string): Promise<void> {
    const res = await api.post(`/workspaces/${wsId}/actions/unlock`);
    assert.equal(res.status, 200, res.text);
  }

  async function outputsOf(wsId: string): Promise<Record<string, unknown>> {
    const res = await api.get(`/workspaces/${wsId}/current-state-version-outputs`);
    assert.equal(res.status, 200, res.text);
    return Object.fromEntries((res.body.data as Json[]).map((o) => [o.attributes.name, o.attributes.value]));
  }

  function assertUnlocked(ws: Json): void {
    assert.equal(ws.attributes.locked, false, `workspace ${ws.id} is still locked by ${JSON.stringify(ws.relationships['locked-by']?.data)}`);
    assert.equal(ws.relationships['locked-by']?.data ?? null, null);
  }

  function assertHeldBy(ws: Json, runId: string): void {
    assert.equal(ws.attributes.locked, true, `workspace ${ws.id} should be locked by ${runId}`);
    assert.equal(ws.relationships['locked-by'].data.id, runId);
    assert.equal(ws.relationships['current-run'].data.id, runId);
  }

  // ------------------------------------------------------------ the flow a curl user follows

  describe('the API-only flow', function () {
    it('uploads, plans, waits for "planned", applies on request and leaves state and an unlocked workspace', async () => {
      const ws = await createWorkspace(api, org);

      // 1. a configuration version, and its tarball PUT to the upload URL without a token
      const cvRes = await api.post(`/workspaces/${ws.id}/configuration-versions`, {
        data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } },
      });
      assert.equal(cvRes.status, 201, cvRes.text);
      const put = await uploadTarball(api, cvRes.body.data, configTarball({ 'main.tf': ONE_RESOURCE }));
      assert.equal(put.status, 200, put.text);
      const cv = await api.get(`/configuration-versions/${cvRes.body.data.id}`);
      assert.equal(cv.body.data.attributes.status, 'uploaded');
      const fresh = await getWorkspace(ws.id);
      assert.equal(fresh.relationships['current-configuration-version'].data?.id, cvRes.body.data.id);
      assert.equal(fresh.relationships['latest-run'].data, null);
      assert.equal(fresh.relationships['current-state-version'].data, null);
      assert.equal(fresh.attributes['resource-count'], 0);

      // 2. a run on it, not auto-applied
      const created = await api.post('/runs', runDoc(ws.id, { message: 'from curl', 'auto-apply': false }, cvRes.body.data.id));
      assert.equal(created.status, 201, created.text);
      const runId: string = created.body.data.id;
      assert.match(runId, /^run-/);
      assert.equal(created.body.data.attributes.message, 'from curl');
      assert.equal(created.body.data.attributes['auto-apply'], false);
      assert.equal(created.body.data.relationships['configuration-version'].data.id, cvRes.body.data.id);
      assert.ok(['pending', 'plan_queued', 'planning'].includes(created.body.data.attributes.status), created.body.data.attributes.status);

      // 3. it plans and stops, waiting for confirmation
      const planned = await waitForRun(runId, ['planned']);
      assert.equal(planned.attributes.actions['is-confirmable'], true);
      assert.equal(planned.attributes.actions['is-discardable'], true);
      assert.equal(planned.attributes['has-changes'], true);
      assert.equal(planned.attributes.permissions['can-apply'], true);
      const plan = await phase('plans', planned.relationships.plan.data.id);
      assert.equal(plan.attributes.status, 'finished');
      assert.equal(plan.attributes['has-changes'], true);
      assert.equal(plan.attributes['resource-additions'], 1);
      assert.equal(plan.attributes['resource-changes'], 0);
      assert.equal(plan.attributes['resource-destructions'], 0);
      assertHeldBy(await getWorkspace(ws.id), runId);
      assert.equal((await phase('applies', planned.relationships.apply.data.id)).attributes.status, 'pending');

      // 4. apply: 202, then it applies
      const applyRes = await action(runId, 'apply', { comment: 'looks good' });
      assert.equal(applyRes.status, 202, applyRes.text);
      const applied = await waitForRun(runId, ['applied']);
      assert.equal(applied.attributes.actions['is-confirmable'], false);
      assert.equal(applied.attributes.actions['is-cancelable'], false);
      const apply = await phase('applies', applied.relationships.apply.data.id);
      assert.equal(apply.attributes.status, 'finished');
      assert.equal(apply.attributes['resource-additions'], 1);

      // every status it passed through has its timestamp, in order
      const ts = applied.attributes['status-timestamps'];
      const passed = ['plan-queueable-at', 'plan-queued-at', 'planning-at', 'planned-at', 'confirmed-at', 'apply-queued-at', 'applying-at', 'applied-at'];
      for (const k of passed) assert.match(ts[k] ?? '', ISO_UTC, `status-timestamps.${k} in ${JSON.stringify(ts)}`);
      for (let i = 1; i < passed.length; i++) {
        assert.ok(Date.parse(ts[passed[i - 1]]) <= Date.parse(ts[passed[i]]), `${passed[i - 1]} after ${passed[i]}: ${JSON.stringify(ts)}`);
      }

      // 5. the workspace has the run's state, its outputs, and is free again
      const current = await api.get(`/workspaces/${ws.id}/current-state-version`);
      assert.equal(current.status, 200, current.text);
      assert.equal(current.body.data.relationships.run?.data?.id, runId, 'the state version names the run that made it');
      assert.deepEqual(await outputsOf(ws.id), { x: 'hello' });
      const after = await getWorkspace(ws.id);
      assertUnlocked(after);
      assert.equal(after.relationships['latest-run'].data?.id, runId);
      // as in TFC, the finished run stays the workspace's current run
      assert.equal(after.relationships['current-run'].data?.id, runId);
      assert.equal(after.attributes['runs-count'], 1);
      assert.equal(after.relationships['current-state-version'].data?.id, current.body.data.id);
      assert.equal(after.attributes['resource-count'], 1);

      // include= brings them along; only what the caller may read
      const including = `/workspaces/${ws.id}?include=latest_run,current_state_version,current_configuration_version`;
      const typesAndIds = (res: Response) => (res.body.included ?? []).map((r: Json) => `${r.type} ${r.id}`).sort();
      const full = await api.get(including);
      assert.equal(full.status, 200, full.text);
      assert.deepEqual(typesAndIds(full), [`configuration-versions ${cvRes.body.data.id}`, `runs ${runId}`, `state-versions ${current.body.data.id}`]);
      const team = await createTeam(api, org);
      await grant(api, team.id, ws.id, 'custom', { runs: 'read', 'state-versions': 'none' });
      const runReader = await createUser(api);
      await addToOrganization(api, org, runReader, [team.id]);
      const partial = await runReader.client.get(including);
      assert.equal(partial.status, 200, partial.text);
      assert.deepEqual(typesAndIds(partial), [`configuration-versions ${cvRes.body.data.id}`, `runs ${runId}`]);
    });
  });

  // ------------------------------------------------------------ how runs end

  describe('outcomes', function () {
    let ws: Json;
    let first: Json;
    before(async () => {
      ws = await workspaceWith(ONE_RESOURCE);
      const run = await createRun(ws.id, { 'auto-apply': true });
      first = await waitForRun(run.id, ['applied']);
    });

    it('applies an auto-apply run without an apply call', async () => {
      const ts = first.attributes['status-timestamps'];
      for (const k of ['planned-at', 'confirmed-at', 'applying-at', 'applied-at']) assert.match(ts[k] ?? '', ISO_UTC, `${k} in ${JSON.stringify(ts)}`);
      assert.equal(first.attributes['auto-apply'], true);
      assert.equal((await phase('applies', first.relationships.apply.data.id)).attributes['resource-additions'], 1);
      assert.deepEqual(await outputsOf(ws.id), { x: 'hello' });
      assertUnlocked(await getWorkspace(ws.id));
    });

    it('ends a plan with no changes (the same configuration again) planned_and_finished with has-changes false', async () => {
      const run = await createRun(ws.id, { 'auto-apply': true });
      const done = await waitForRun(run.id, ['planned_and_finished']);
      assert.equal(done.attributes['has-changes'], false);
      assert.equal(done.attributes.actions['is-confirmable'], false);
      const plan = await phase('plans', done.relationships.plan.data.id);
      assert.equal(plan.attributes.status, 'finished');
      assert.equal(plan.attributes['has-changes'], false);
      assert.equal(plan.attributes['resource-additions'], 0);
      assert.equal((await phase('applies', done.relationships.apply.data.id)).attributes.status, 'unreachable');
      assertUnlocked(await getWorkspace(ws.id));
      // nothing was applied: the state is still the first run's
      const current = await api.get(`/workspaces/${ws.id}/current-state-version`);
      assert.equal(current.body.data.relationships.run?.data?.id, first.id);
    });

    it('ends a plan-only run planned_and_finished and never locks the workspace', async () => {
      const fresh = await workspaceWith(ONE_RESOURCE);
      const run = await createRun(fresh.id, { 'plan-only': true });
      assert.equal(run.attributes['plan-only'], true);
      const seen: boolean[] = [];
      const done = await until(
        `plan-only run ${run.id} to finish`,
        async () => {
          seen.push((await getWorkspace(fresh.id)).attributes.locked);
          return getRun(run.id);
        },
        (r) => FINAL.includes(r.attributes.status),
      );
      assert.equal(done.attributes.status, 'planned_and_finished', await diagnose(done));
      assert.equal(done.attributes['has-changes'], true, 'the plan has changes, it is only never applied');
      assert.equal(done.attributes.actions['is-confirmable'], false);
      assert.ok(!seen.includes(true), `the workspace was locked while the plan-only run ran (${seen.length} looks)`);
      assertUnlocked(await getWorkspace(fresh.id));
      const current = await api.get(`/workspaces/${fresh.id}/current-state-version`);
      assert.equal(current.status, 404, 'a plan-only run writes no state');
    });

    it('discards a planned run: discarded, plan finished, apply unreachable, workspace unlocked', async () => {
      const fresh = await workspaceWith(ONE_RESOURCE);
      const run = await createRun(fresh.id);
      await waitForRun(run.id, ['planned']);
      assertHeldBy(await getWorkspace(fresh.id), run.id);
      const res = await action(run.id, 'discard', { comment: 'not today' });
      assert.equal(res.status, 202, res.text);
      const discarded = await getRun(run.id);
      assert.equal(discarded.attributes.status, 'discarded');
      assert.match(discarded.attributes['status-timestamps']['discarded-at'] ?? '', ISO_UTC);
      assert.equal(discarded.attributes.actions['is-discardable'], false);
      assert.equal((await phase('plans', run.relationships.plan.data.id)).attributes.status, 'finished');
      assert.equal((await phase('applies', run.relationships.apply.data.id)).attributes.status, 'unreachable');
      assertUnlocked(await getWorkspace(fresh.id));
      assertError(await action(run.id, 'discard'), 409, /discarded/);
      assertError(await action(run.id, 'apply'), 409, /discarded/);
    });

    it('refuses to apply a run that is not confirmable with 409 naming its status, and leaves it as it was', async () => {
      const run = await createRun(ws.id, { 'plan-only': true });
      await waitForRun(run.id, ['planned_and_finished']);
      assertError(await action(run.id, 'apply'), 409, new RegExp(`${run.id} is planned_and_finished`));
      assertError(await action(first.id, 'apply', { comment: 'again' }), 409, new RegExp(`${first.id} is applied`));
      assert.equal((await getRun(run.id)).attributes.status, 'planned_and_finished');
      assert.equal((await getRun(first.id)).attributes.status, 'applied');

      // a run still waiting for the workspace is not confirmable either
      const held = await workspaceWith(ONE_RESOURCE);
      await lockWorkspace(held.id);
      const pending = await createRun(held.id);
      assertError(await action(pending.id, 'apply'), 409, new RegExp(`${pending.id} is pending`));
      assert.equal((await getRun(pending.id)).attributes.status, 'pending');
      assert.equal((await action(pending.id, 'cancel')).status, 202);
      await unlockWorkspace(held.id);
    });
  });

  // ------------------------------------------------------------ the workspace queue

  describe('the workspace queue', function () {
    it('holds a second run pending behind the one holding the lock, lets a plan-only run pass, and admits it on discard', async () => {
      const ws = await workspaceWith(provisioned('sleep 3'));
      const first = await createRun(ws.id, { 'auto-apply': false });
      await waitForRun(first.id, ['planned']);

      const second = await createRun(ws.id);
      assert.equal(second.attributes.status, 'pending');
      assertHeldBy(await getWorkspace(ws.id), first.id);

      // a speculative run does not wait for the lock
      const speculative = await createRun(ws.id, { 'plan-only': true });
      await waitForRun(speculative.id, ['planned_and_finished']);
      assert.equal((await getRun(second.id)).attributes.status, 'pending', 'the second run waits while the first holds the workspace');
      assertHeldBy(await getWorkspace(ws.id), first.id);

      // the workspace lists all three, newest first
      const listed = await api.get(`/workspaces/${ws.id}/runs`);
      assert.deepEqual(
        (listed.body.data as Json[]).map((r) => r.id),
        [speculative.id, second.id, first.id],
      );

      // discarding the first admits the second
      assert.equal((await action(first.id, 'discard')).status, 202);
      await waitForRun(second.id, ['planned']);
      assertHeldBy(await getWorkspace(ws.id), second.id);
      assert.equal((await action(second.id, 'discard')).status, 202);
      assertUnlocked(await getWorkspace(ws.id));
    });

    it('lists the run waiting behind the workspace holder in the organization queue; the holder, waiting for confirmation, needs no runner', async () => {
      const ws = await workspaceWith(provisioned('sleep 3'));
      const first = await createRun(ws.id, { 'auto-apply': false });
      await waitForRun(first.id, ['planned']);
      const second = await createRun(ws.id);
      try {
        assertHeldBy(await getWorkspace(ws.id), first.id);
        const queue = await api.get(`/organizations/${org}/runs/queue`);
        assert.equal(queue.status, 200, queue.text);
        const inQueue = new Map((queue.body.data as Json[]).map((r) => [r.id, r.attributes['position-in-queue']]));
        const shown = JSON.stringify([...inQueue]);
        assert.equal(typeof inQueue.get(second.id), 'number', `the queue lists the pending run with a position: ${shown}`);
        assert.ok((inQueue.get(second.id) as number) > 0, `the pending run waits: ${shown}`);
        // The queue is of runs waiting for or using a runner; a planned run awaiting confirmation uses none.
        assert.equal(inQueue.has(first.id), false, `the planned run is not in the runner queue: ${shown}`);
      } finally {
        assert.equal((await action(second.id, 'cancel')).status, 202);
        assert.equal((await action(first.id, 'discard')).status, 202);
      }
      assertUnlocked(await getWorkspace(ws.id));
    });

    it('waits behind a workspace a user locked and starts when it is unlocked', async () => {
      const ws = await workspaceWith(ONE_RESOURCE);
      await lockWorkspace(ws.id);
      const run = await createRun(ws.id);
      assert.equal(run.attributes.status, 'pending');
      assert.equal((await getRun(run.id)).attributes.status, 'pending');
      await unlockWorkspace(ws.id);
      await waitForRun(run.id, ['planned']);
      assertHeldBy(await getWorkspace(ws.id), run.id);
      assert.equal((await action(run.id, 'discard')).status, 202);
    });
  });

  // ------------------------------------------------------------ cancel and force-cancel

  describe('cancel', function () {
    it('cancels a pending run at once', async () => {
      const ws = await workspaceWith(ONE_RESOURCE);
      await lockWorkspace(ws.id);
      const run = await createRun(ws.id);
      assert.equal(run.attributes.actions['is-cancelable'], true);
      const res = await action(run.id, 'cancel', { comment: 'changed my mind' });
      assert.equal(res.status, 202, res.text);
      assert.equal(res.text, '', 'actions answer 202 with no body');
      const canceled = await getRun(run.id);
      assert.equal(canceled.attributes.status, 'canceled');
      assert.match(canceled.attributes['canceled-at'] ?? '', ISO_UTC);
      // as in TFC (and go-tfe's tests), every cancel request sets when force-cancel becomes available
      assert.match(canceled.attributes['force-cancel-available-at'] ?? '', ISO_UTC);
      assert.equal(canceled.attributes.actions['is-force-cancelable'], false, 'a run that is over is not force-cancelable');
      assert.equal((await phase('plans', run.relationships.plan.data.id)).attributes.status, 'unreachable');
      assert.equal((await phase('applies', run.relationships.apply.data.id)).attributes.status, 'unreachable');
      // the user's lock is untouched, and unlocking starts nothing
      const held = await getWorkspace(ws.id);
      assert.equal(held.attributes.locked, true);
      assert.notEqual(held.relationships['locked-by'].data.id, run.id);
      await unlockWorkspace(ws.id);
      assert.equal((await getRun(run.id)).attributes.status, 'canceled');
      assertError(await action(run.id, 'cancel'), 409, /canceled/);
    });

    it('refuses force-cancel of a run that was not canceled first with 409', async () => {
      const ws = await workspaceWith(ONE_RESOURCE);
      await lockWorkspace(ws.id);
      const run = await createRun(ws.id);
      assertError(await action(run.id, 'force-cancel'), 409, /has not been canceled/);
      assert.equal((await getRun(run.id)).attributes.status, 'pending');
      assert.equal((await action(run.id, 'cancel')).status, 202);
      await unlockWorkspace(ws.id);
    });

    it('interrupts a slow apply: canceled within seconds, the workspace freed and the next run admitted', async () => {
      const ws = await workspaceWith(provisioned('sleep 30'));
      const slow = await createRun(ws.id, { 'auto-apply': true });
      await waitForRun(slow.id, ['applying']);
      await waitForApplyLog(slow, 'Executing:');
      // a log still being written has its 0x02 but no 0x03 yet
      const running = await readLog((await phase('applies', slow.relationships.apply.data.id)).attributes['log-read-url'], 0, 1024 * 1024);
      assert.equal(running[0], STX);
      assert.ok(!running.includes(ETX), 'the log of a running apply has no 0x03');
      const next = await createRun(ws.id);
      assert.equal(next.attributes.status, 'pending');
      assertError(await action(slow.id, 'force-cancel'), 409, /has not been canceled/);

      const asked = Date.now();
      const res = await action(slow.id, 'cancel');
      assert.equal(res.status, 202, res.text);
      const canceled = await waitForRun(slow.id, ['canceled'], 10_000);
      assert.ok(Date.now() - asked < 10_000, `cancel took ${Date.now() - asked} ms`);
      assert.match(canceled.attributes['canceled-at'] ?? '', ISO_UTC);
      assert.equal((await phase('applies', slow.relationships.apply.data.id)).attributes.status, 'canceled');
      // the engine was interrupted, as Ctrl-C would
      assert.match(logText(await wholeLog('applies', slow.relationships.apply.data.id)), /Interrupt received/);
      const after = await getWorkspace(ws.id);
      assert.notEqual(after.relationships['locked-by']?.data?.id, slow.id, 'the canceled run let go of the workspace');

      await waitForRun(next.id, ['planned']);
      assertHeldBy(await getWorkspace(ws.id), next.id);
      assert.equal((await action(next.id, 'discard')).status, 202);
      assertUnlocked(await getWorkspace(ws.id));
    });

    it('force-cancels a canceled run whose engine has not stopped: force_canceled at once, the workspace and the runner slot free', async () => {
      const ws = await workspaceWith(provisioned("trap '' INT; sleep 30"));
      const stubborn = await createRun(ws.id, { 'auto-apply': true });
      await waitForRun(stubborn.id, ['applying']);
      await waitForApplyLog(stubborn, 'Executing:');

      // Cancel, then force-cancel before the engine has stopped: terraform takes about a second to
      // wind down after its SIGINT, and the provisioner's shell ignores it. (This server has no
      // force-cancel cool-off.)
      assert.equal((await action(stubborn.id, 'cancel')).status, 202);
      const asked = await getRun(stubborn.id);
      assert.equal(asked.attributes.status, 'applying', 'the engine is still stopping right after cancel');
      assert.equal(asked.attributes.actions['is-force-cancelable'], true);
      assert.match(asked.attributes['force-cancel-available-at'] ?? '', ISO_UTC);
      const res = await action(stubborn.id, 'force-cancel', { comment: 'kill it' });
      assert.equal(res.status, 202, res.text);
      // no waiting: the run is over when force-cancel answers
      const killed = await getRun(stubborn.id);
      assert.equal(killed.attributes.status, 'force_canceled');
      assert.match(killed.attributes['status-timestamps']['force-canceled-at'] ?? '', ISO_UTC);
      assert.equal((await phase('applies', stubborn.relationships.apply.data.id)).attributes.status, 'canceled');
      assertUnlocked(await getWorkspace(ws.id));

      // the workspace takes the next run, and the killed engine's late reports change nothing
      const next = await createRun(ws.id);
      await waitForRun(next.id, ['planned']);
      assert.equal((await getRun(stubborn.id)).attributes.status, 'force_canceled');
      assert.equal((await action(next.id, 'discard')).status, 202);
      assertUnlocked(await getWorkspace(ws.id));

      // and the killed job gave its runner slot back: two slow applies run side by side on the
      // server's two slots
      const pair = await Promise.all([workspaceWith(provisioned('sleep 3')), workspaceWith(provisioned('sleep 3'))]);
      const runs = await Promise.all(pair.map((w) => createRun(w.id, { 'auto-apply': true })));
      const both = await until(
        'both slow applies to run at the same time',
        () => Promise.all(runs.map((r) => getRun(r.id))),
        (rs) => rs.every((r) => r.attributes.status === 'applying') || rs.some((r) => FINAL.includes(r.attributes.status)),
        20_000,
      );
      assert.deepEqual(
        both.map((r) => r.attributes.status),
        ['applying', 'applying'],
        'one runner slot is still taken by the force-canceled job',
      );
      await Promise.all(runs.map((r) => waitForRun(r.id, ['applied'])));
    });
  });

  // ------------------------------------------------------------ reading a finished run

  describe('a finished run', function () {
    let ws: Json;
    let run: Json;
    let planId: string;
    let applyId: string;
    before(async () => {
      ws = await workspaceWith(ONE_RESOURCE);
      const created = await createRun(ws.id, { 'auto-apply': true });
      run = await waitForRun(created.id, ['applied']);
      planId = run.relationships.plan.data.id;
      applyId = run.relationships.apply.data.id;
    });

    describe('logs', function () {
      it('streams the plan log from 0x02 to 0x03 with the plan summary', async () => {
        const url = (await phase('plans', planId)).attributes['log-read-url'];
        assert.ok(new URL(url).origin === server.url, `log-read-url ${url} is absolute, on this server`);
        const first = await readLog(url, 0, 1);
        assert.deepEqual([...first], [STX]);
        const all = await readLog(url, 0, 1024 * 1024);
        assert.equal(all[0], STX);
        assert.equal(all[all.length - 1], ETX, 'the log of a finished plan ends with 0x03');
        assert.equal(all.indexOf(ETX), all.length - 1, 'only the last byte is 0x03');
        assert.match(logText(all), /^Plan: 1 to add, 0 to change, 0 to destroy\.$/m);
        // past the end there is nothing
        assert.equal((await readLog(url, all.length, 100)).length, 0);
      });

      it('gives the same bytes read 7 at a time as in one read, honouring offset exactly', async () => {
        const url = (await phase('plans', planId)).attributes['log-read-url'];
        const whole = await readLog(url, 0, 1024 * 1024);
        const pieces: Buffer[] = [];
        for (let offset = 0; ; ) {
          const piece = await readLog(url, offset, 7);
          if (piece.length === 0) break;
          assert.ok(piece.length <= 7, `a read of limit 7 gave ${piece.length} bytes`);
          pieces.push(piece);
          offset += piece.length;
        }
        assert.ok(Buffer.concat(pieces).equals(whole), 'paged reads concatenate to the whole stream');
        // and from an arbitrary offset
        assert.ok((await readLog(url, 5, 20)).equals(whole.subarray(5, 25)));
      });

      it('starts the apply log with the three header lines the CLI skips', async () => {
        const stream = await wholeLog('applies', applyId);
        assert.equal(stream[0], STX);
        assert.equal(stream[stream.length - 1], ETX);
        const lines = logText(stream).split('\n');
        assert.match(lines[0], /^Terraform v\d+\.\d+\.\d+/);
        assert.match(lines[1], /^on \S+/);
        assert.equal(lines[2], 'Initializing plugins and modules...');
        assert.match(logText(stream), /Apply complete! Resources: 1 added, 0 changed, 0 destroyed\./);
      });

      it('refuses a log URL with a bad signature with a 404 error', async () => {
        const url: string = (await phase('plans', planId)).attributes['log-read-url'];
        const bad = url.slice(0, -1) + (url.endsWith('A') ? 'B' : 'A');
        const res = await rawRequest(api, 'GET', `${bad}?offset=0&limit=100`);
        assertError(res, 404, /log URL is invalid/);
        // one phase's signature does not open another's log
        const applyUrl: string = (await phase('applies', applyId)).attributes['log-read-url'];
        const swapped = applyUrl.replace(applyId, planId);
        assertError(await rawRequest(api, 'GET', swapped), 404, /log URL is invalid/);
      });

      it('refuses a bad offset with 400 naming the parameter', async () => {
        const url = new URL((await phase('plans', planId)).attributes['log-read-url']);
        url.search = '?offset=-1&limit=10';
        assertError(await rawRequest(api, 'GET', url.toString()), 400, /offset/, { parameter: 'offset' });
      });
    });

    describe('JSON plan', function () {
      for (const suffix of ['json-output', 'json-output-redacted']) {
        it(`answers ${suffix} with the JSON plan`, async () => {
          const res = await api.get(`/plans/${planId}/${suffix}`, { headers: { Accept: 'application/json' } });
          assert.equal(res.status, 200, res.text);
          const doc = JSON.parse(res.text);
          assert.match(doc.format_version, /^\d+\.\d+$/);
          assert.equal(doc.terraform_version.split('.')[0], '1');
          const changes = (doc.resource_changes as Json[]).map((c) => `${c.address}:${c.change.actions.join(',')}`);
          assert.deepEqual(changes, ['terraform_data.x:create']);
        });
      }

      it('answers 404 before the plan has run', async () => {
        const held = await workspaceWith(ONE_RESOURCE);
        await lockWorkspace(held.id);
        const pending = await createRun(held.id);
        for (const suffix of ['json-output', 'json-output-redacted']) {
          assertError(await api.get(`/plans/${pending.relationships.plan.data.id}/${suffix}`), 404, /no JSON output yet/);
        }
        assert.equal((await action(pending.id, 'cancel')).status, 202);
        await unlockWorkspace(held.id);
      });
    });

    describe('reads the CLI makes', function () {
      it("answers run-events with the run's history, from its creation to its apply", async () => {
        const res = await api.get(`/runs/${run.id}/run-events`);
        assert.equal(res.status, 200, res.text);
        const actions = (res.body.data as Json[]).map((e) => e.attributes.action);
        assert.equal(actions[0], 'created', res.text);
        assert.equal(actions[actions.length - 1], 'applied', res.text);
      });

      it('answers include=task_stages with 200 and no task stages', async () => {
        const res = await api.get(`/runs/${run.id}?include=task_stages`);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.data.id, run.id);
        assert.deepEqual(res.body.data.relationships['task-stages'].data, []);
        assert.deepEqual(res.body.data.relationships['policy-checks'].data, []);
        assert.equal(res.body.data.relationships['cost-estimate'].data, null);
      });

      it('includes the plan, apply, workspace and configuration version when asked', async () => {
        const res = await api.get(`/runs/${run.id}?include=plan,apply,workspace,configuration_version`);
        assert.equal(res.status, 200, res.text);
        const included = new Map((res.body.included as Json[]).map((r) => [r.type, r]));
        const rels = res.body.data.relationships;
        assert.equal(included.get('plans')?.id, rels.plan.data.id);
        assert.equal(included.get('plans').attributes.status, 'finished');
        assert.ok(included.get('plans').attributes['log-read-url']);
        assert.equal(included.get('applies')?.id, rels.apply.data.id);
        assert.equal(included.get('applies').attributes.status, 'finished');
        assert.equal(included.get('workspaces')?.id, ws.id);
        assert.equal(included.get('workspaces').attributes.name, ws.attributes.name);
        assert.equal(included.get('configuration-versions')?.id, rels['configuration-version'].data.id);
        assert.equal(included.get('configuration-versions').attributes.status, 'uploaded');
      });

      it('shows the plan and apply through the run as well', async () => {
        const plan = await api.get(`/runs/${run.id}/plan`);
        assert.equal(plan.status, 200, plan.text);
        assert.equal(plan.body.data.id, planId);
        const apply = await api.get(`/runs/${run.id}/apply`);
        assert.equal(apply.status, 200, apply.text);
        assert.equal(apply.body.data.id, applyId);
      });
    });

    describe('access', function () {
      it("answers 404 to another organization's token for the run, its plan, its apply and its actions", async () => {
        const stranger = await organizationToken(api, await createOrganization(api));
        assertError(await stranger.get(`/runs/${run.id}`), 404, new RegExp(run.id));
        assertError(await stranger.get(`/plans/${planId}`), 404, new RegExp(planId));
        assertError(await stranger.get(`/applies/${applyId}`), 404, new RegExp(applyId));
        assertError(await stranger.get(`/plans/${planId}/json-output`), 404, new RegExp(planId));
        assertError(await stranger.get(`/runs/${run.id}/run-events`), 404, new RegExp(run.id));
        assertError(await stranger.post(`/runs/${run.id}/actions/discard`, {}), 404, new RegExp(run.id));
        assertError(await stranger.get(`/workspaces/${ws.id}/runs`), 404, new RegExp(ws.id));
        assertError(await stranger.post('/runs', runDoc(ws.id)), 404, new RegExp(ws.id));
        // its own organization's token sees it
        assert.equal((await getRun(run.id, await organizationToken(api, org))).id, run.id);
      });

      it('answers 401 without a token', async () => {
        assertError(await api.get(`/runs/${run.id}`, { token: null }), 401, /token/);
        assertError(await api.get(`/plans/${planId}`, { token: null }), 401, /token/);
        assertError(await api.post('/runs', runDoc(ws.id), { token: null }), 401, /token/);
        assertError(await api.post(`/runs/${run.id}/actions/cancel`, {}, { token: null }), 401, /token/);
        assert.equal((await getRun(run.id)).attributes.status, 'applied');
      });
    });
  });

  // ------------------------------------------------------------ variables

  describe('variables', function () {
    it('plans and applies with workspace, HCL, sensitive, env and run variables as terraform would', async () => {
      const ws = await workspaceWith(VARIABLES);
      const secret = `s3cr3t-${crypto.randomBytes(8).toString('hex')}`;
      const vars = [
        { key: 'name', value: 'from-workspace', category: 'terraform', hcl: false, sensitive: false },
        { key: 'greeting', value: 'from-workspace-greeting', category: 'terraform', hcl: false, sensitive: false },
        { key: 'zones', value: '["a", "b"]', category: 'terraform', hcl: true, sensitive: false },
        { key: 'secret', value: secret, category: 'terraform', hcl: false, sensitive: true },
        { key: 'FOO', value: 'bar-from-env', category: 'env', hcl: false, sensitive: false },
      ];
      for (const attributes of vars) {
        const res = await api.post(`/workspaces/${ws.id}/vars`, { data: { type: 'vars', attributes } });
        assert.equal(res.status, 201, res.text);
      }
      const created = await createRun(ws.id, { 'auto-apply': true, variables: [{ key: 'greeting', value: '"from-run"' }] });
      assert.deepEqual(created.attributes.variables, [{ key: 'greeting', value: '"from-run"' }]);
      const run = await waitForRun(created.id, ['applied']);

      const planLog = logText(await wholeLog('plans', run.relationships.plan.data.id));
      assert.match(planLog, /name\s+= "from-workspace"/, 'the workspace variable beats the default');
      assert.match(planLog, /greeting\s+= "from-run"/, 'the run variable beats the workspace variable');
      assert.match(planLog, /zone_count\s+= 2/, 'the HCL variable is a list');
      const applyLog = logText(await wholeLog('applies', run.relationships.apply.data.id));
      assert.match(applyLog, /FOO is bar-from-env/, 'the env variable reaches local-exec');

      const expectedHash = crypto.createHash('sha256').update(secret).digest('hex');
      assert.deepEqual(await outputsOf(ws.id), {
        name: 'from-workspace',
        greeting: 'from-run',
        zones: 'a,b',
        zone_count: 2,
        secret_hash: expectedHash,
      });

      // The sensitive value reached terraform (its hash above) but shows nowhere. json-output is
      // left out on purpose: like TFC's, it is the unredacted plan for workspace admins.
      const state = await api.get(`/workspaces/${ws.id}/current-state-version`);
      const reads: Array<[string, string]> = [
        ['plan log', planLog],
        ['apply log', applyLog],
        ['run', (await api.get(`/runs/${run.id}?include=plan,apply,workspace,configuration_version`)).text],
        ['plan', (await api.get(`/plans/${run.relationships.plan.data.id}`)).text],
        ['apply', (await api.get(`/applies/${run.relationships.apply.data.id}`)).text],
        ['json-output-redacted', (await api.get(`/plans/${run.relationships.plan.data.id}/json-output-redacted`)).text],
        ['workspace variables', (await api.get(`/workspaces/${ws.id}/vars`)).text],
        ['workspace runs', (await api.get(`/workspaces/${ws.id}/runs`)).text],
        ['current state version', state.text],
        ['state outputs', (await api.get(`/workspaces/${ws.id}/current-state-version-outputs`)).text],
        ['state file', (await api.get(state.body.data.attributes['hosted-state-download-url'])).text],
      ];
      for (const [what, text] of reads) assert.ok(text.length > 0, `${what} is empty`);
      const leaks = reads.filter(([, text]) => text.includes(secret)).map(([what]) => what);
      assert.deepEqual(leaks, [], `the sensitive value appears in: ${leaks.join(', ')}`);
    });
  });

  // ------------------------------------------------------------ listing, the queue and capacity

  describe('listing runs', function () {
    let listOrg: string;
    let ws: Json;
    let pending: Json;
    let speculative: Json;
    before(async () => {
      listOrg = await createOrganization(api);
      ws = await workspaceWith(ONE_RESOURCE, {}, listOrg);
      await lockWorkspace(ws.id);
      pending = await createRun(ws.id, { message: 'waits for the lock' });
      speculative = await createRun(ws.id, { 'plan-only': true });
      await waitForRun(speculative.id, ['planned_and_finished']);
    });
    after(async () => {
      await action(pending.id, 'cancel');
      await api.post(`/workspaces/${ws.id}/actions/unlock`);
    });

    const ids = (res: Response) => (res.body.data as Json[]).map((r) => r.id);

    it('lists the runs of a workspace, newest first, filtered by status and operation', async () => {
      const all = await api.get(`/workspaces/${ws.id}/runs`);
      assert.equal(all.status, 200, all.text);
      assert.deepEqual(ids(all), [speculative.id, pending.id]);
      assert.equal(all.body.meta.pagination['total-count'], 2);

      assert.deepEqual(ids(await api.get(`/workspaces/${ws.id}/runs?filter[status]=pending`)), [pending.id]);
      assert.deepEqual(ids(await api.get(`/workspaces/${ws.id}/runs?filter[status]=planned_and_finished`)), [speculative.id]);
      assert.deepEqual(ids(await api.get(`/workspaces/${ws.id}/runs?filter[status]=pending,planned_and_finished`)), [speculative.id, pending.id]);
      assert.deepEqual(ids(await api.get(`/workspaces/${ws.id}/runs?filter[operation]=plan_only`)), [speculative.id]);
      assert.deepEqual(ids(await api.get(`/workspaces/${ws.id}/runs?filter[operation]=plan_and_apply`)), [pending.id]);
      assert.deepEqual(ids(await api.get(`/workspaces/${ws.id}/runs?filter[status]=applied`)), []);
    });

    it('lists the runs of an organization with the same filters', async () => {
      const all = await api.get(`/organizations/${listOrg}/runs`);
      assert.equal(all.status, 200, all.text);
      assert.deepEqual(ids(all), [speculative.id, pending.id]);
      assert.deepEqual(ids(await api.get(`/organizations/${listOrg}/runs?filter[status]=pending`)), [pending.id]);
      assert.deepEqual(ids(await api.get(`/organizations/${listOrg}/runs?filter[operation]=plan_only`)), [speculative.id]);
      // runs of other organizations never show
      const mine = await api.get(`/organizations/${org}/runs`);
      assert.ok(!ids(mine).includes(pending.id));
    });

    it('refuses an unknown filter[status] with 400 naming the parameter', async () => {
      assertError(await api.get(`/workspaces/${ws.id}/runs?filter[status]=pending,bogus`), 400, /filter\[status\].*"bogus" is not a run status/, {
        parameter: 'filter[status]',
      });
      assertError(await api.get(`/organizations/${listOrg}/runs?filter[status]=bogus`), 400, /"bogus"/, { parameter: 'filter[status]' });
    });

    it('shows waiting runs in the organization queue and counts them in capacity', async () => {
      const second = await createRun(ws.id);
      try {
        const queue = await api.get(`/organizations/${listOrg}/runs/queue`);
        assert.equal(queue.status, 200, queue.text);
        const positions = (queue.body.data as Json[]).map((r) => [r.id, r.attributes['position-in-queue']]);
        assert.deepEqual(positions, [
          [pending.id, 1],
          [second.id, 2],
        ]);
        const capacity = await api.get(`/organizations/${listOrg}/capacity`);
        assert.equal(capacity.status, 200, capacity.text);
        assert.equal(capacity.body.data.type, 'organization-capacity');
        assert.deepEqual({ pending: capacity.body.data.attributes.pending, running: capacity.body.data.attributes.running }, { pending: 2, running: 0 });
      } finally {
        assert.equal((await action(second.id, 'cancel')).status, 202);
      }
      const after = await api.get(`/organizations/${listOrg}/capacity`);
      assert.equal(after.body.data.attributes.pending, 1);
    });
  });

  // ------------------------------------------------------------ bad input

  describe('bad input', function () {
    let ws: Json;
    before(async () => {
      ws = await workspaceWith(ONE_RESOURCE);
    });

    async function runCount(wsId: string): Promise<number> {
      const res = await api.get(`/workspaces/${wsId}/runs`);
      assert.equal(res.status, 200, res.text);
      return res.body.meta.pagination['total-count'];
    }

    afterEach(async () => {
      // no refused request leaves a run behind
      assert.equal(await runCount(ws.id), 0);
      assert.equal((await getWorkspace(ws.id)).attributes.locked, false);
    });

    it('refuses a run without a workspace relationship with 422', async () => {
      const res = await api.post('/runs', { data: { type: 'runs', attributes: {} } });
      assertError(res, 422, /relationship/);
      const empty = await api.post('/runs', { data: { type: 'runs', attributes: {}, relationships: {} } });
      assertError(empty, 422, /relationship "workspace" is required/, { pointer: '/data/relationships/workspace' });
    });

    it('refuses a document of the wrong type with 422', async () => {
      const doc = runDoc(ws.id);
      doc.data.type = 'workspaces';
      assertError(await api.post('/runs', doc), 422, /data\.type must be "runs", got "workspaces"/, { pointer: '/data/type' });
      const rel = runDoc(ws.id);
      rel.data.relationships.workspace.data.type = 'projects';
      assertError(await api.post('/runs', rel), 422, /workspace/);
    });

    it('refuses attributes of the wrong type with 422 pointing at them', async () => {
      assertError(await api.post('/runs', runDoc(ws.id, { 'auto-apply': 'yes' })), 422, /attribute "auto-apply" must be boolean/, {
        pointer: '/data/attributes/auto-apply',
      });
      assertError(await api.post('/runs', runDoc(ws.id, { variables: [{ key: 'not a name', value: '"x"' }] })), 422, /must be a variable name/);
    });

    it('answers 404 for an unknown workspace', async () => {
      assertError(await api.post('/runs', runDoc('ws-doesnotexist')), 404, /workspace "ws-doesnotexist" not found/);
    });

    it('refuses a run in a local-execution workspace with 422 naming local execution', async () => {
      const local = await workspaceWith(ONE_RESOURCE, { 'execution-mode': 'local' });
      assertError(await api.post('/runs', runDoc(local.id)), 422, /local execution/, { pointer: '/data/relationships/workspace' });
      assert.equal(await runCount(local.id), 0);
    });

    it('refuses is-destroy together with refresh-only with 422', async () => {
      assertError(await api.post('/runs', runDoc(ws.id, { 'is-destroy': true, 'refresh-only': true })), 422, /both a destroy and refresh-only/, {
        pointer: '/data/attributes/refresh-only',
      });
    });

    it('refuses a run in a workspace with no uploaded configuration with 422', async () => {
      const bare = await createWorkspace(api, org);
      assertError(await api.post('/runs', runDoc(bare.id)), 422, /has no uploaded configuration/, { pointer: '/data/relationships/configuration-version' });
      assert.equal(await runCount(bare.id), 0);
    });

    it('refuses malformed JSON with 400', async () => {
      const res = await api.request('POST', '/runs', { raw: '{"data": {"type": "runs"' });
      assertError(res, 400, /malformed JSON/);
    });

    it('answers 404 to actions on an unknown run and refuses a malformed action body with 422', async () => {
      assertError(await action('run-doesnotexist', 'apply'), 404, /run "run-doesnotexist" not found/);
      assertError(await action('run-doesnotexist', 'cancel'), 404, /run-doesnotexist/);
      assertError(await api.post(`/runs/run-doesnotexist/actions/discard`, { comment: 42 }), 422, /comment/);
    });
  });
});
