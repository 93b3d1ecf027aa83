// Run triggers, as Terraform Cloud has them: a workspace follows up to 20 source workspaces of its
// organization, and each successful apply in a source queues one run in it, as the source run's
// creator. The API first (what go-tfe sends and expects), then real runs of the server agent with
// the terraform on PATH, then what an otfd stopped between an apply and its triggered runs owes.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pg from 'pg';
import { createLogger } from '../src/logger.js';
import type { Api, Json } from './helpers/api.js';
import { assertError, assertStatus } from './helpers/assert.js';
import { fixture } from './helpers/fixtures.js';
import { addToOrganization, createTeam, createUser, grant, userWithAccess } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { until, waitFor } from './helpers/wait.js';

const CONFIG = fixture('one-resource');
const FINAL = ['applied', 'planned_and_finished', 'discarded', 'errored', 'canceled', 'force_canceled'];

function triggerDoc(sourceableId: string): Json {
  return { data: { type: 'run-triggers', relationships: { sourceable: { data: { type: 'workspaces', id: sourceableId } } } } };
}

const inbound = (wsId: string, more = '') => `/workspaces/${wsId}/run-triggers?filter%5Brun-trigger%5D%5Btype%5D=inbound${more}`;
const outbound = (wsId: string, more = '') => `/workspaces/${wsId}/run-triggers?filter%5Brun-trigger%5D%5Btype%5D=outbound${more}`;

async function createTrigger(api: Api, targetId: string, sourceId: string): Promise<Json> {
  const res = await api.post(`/workspaces/${targetId}/run-triggers`, triggerDoc(sourceId));
  assertStatus(res, 201);
  return res.body.data;
}

describe('run triggers: the API', function () {
  let server: TestServer;
  let api: Api;
  let org: string;

  before(async () => {
    server = await startServer();
    api = server.api;
    org = await createOrganization(api);
  });
  after(() => server.stop());

  it('creates, shows, lists (inbound and outbound, paged, with includes) and deletes run triggers', async () => {
    const target = await createWorkspace(api, org, randomName('target'));
    const s1 = await createWorkspace(api, org, randomName('source'));
    const s2 = await createWorkspace(api, org, randomName('source'));
    const t1 = await createTrigger(api, target.id, s1.id);
    assert.match(t1.id, /^rt-/);
    assert.equal(t1.type, 'run-triggers');
    assert.equal(t1.attributes['workspace-name'], target.attributes.name);
    assert.equal(t1.attributes['sourceable-name'], s1.attributes.name);
    assert.ok(!Number.isNaN(Date.parse(t1.attributes['created-at'])));
    assert.deepEqual(t1.relationships.workspace.data, { type: 'workspaces', id: target.id });
    assert.deepEqual(t1.relationships.sourceable.data, { type: 'workspaces', id: s1.id });
    assert.equal(t1.links.self, `/api/v2/run-triggers/${t1.id}`);
    const t2 = await createTrigger(api, target.id, s2.id);

    // What a client created is what it reads back, by id and in lists.
    const shown = await api.get(`/run-triggers/${t1.id}`);
    assertStatus(shown, 200);
    assert.deepEqual(shown.body.data, t1);
    const listed = await api.get(inbound(target.id));
    assertStatus(listed, 200);
    assert.deepEqual(listed.body.data, [t1, t2]);
    assert.equal(listed.body.meta.pagination['total-count'], 2);
    assert.equal(listed.body.meta.pagination['current-page'], 1);
    const out = await api.get(outbound(s1.id));
    assertStatus(out, 200);
    assert.deepEqual(out.body.data, [t1], 'outbound: the triggers whose source the workspace is');
    assert.deepEqual((await api.get(outbound(target.id))).body.data, []);
    assert.deepEqual((await api.get(inbound(s1.id))).body.data, []);

    const far = await api.get(inbound(target.id, '&page%5Bnumber%5D=999&page%5Bsize%5D=100'));
    assertStatus(far, 200);
    assert.deepEqual(far.body.data, []);
    assert.equal(far.body.meta.pagination['current-page'], 999);
    assert.equal(far.body.meta.pagination['total-count'], 2);
    const one = await api.get(inbound(target.id, '&page%5Bsize%5D=1&page%5Bnumber%5D=2'));
    assert.deepEqual(one.body.data.map((t: Json) => t.id), [t2.id]);

    const withSources = await api.get(inbound(target.id, '&include=sourceable'));
    assertStatus(withSources, 200);
    assert.deepEqual(withSources.body.included.map((w: Json) => w.attributes.name).sort(), [s1.attributes.name, s2.attributes.name].sort());
    assert.ok(withSources.body.included.every((w: Json) => w.type === 'workspaces'));
    const withBoth = await api.get(`/run-triggers/${t1.id}?include=workspace,sourceable`);
    assert.deepEqual(withBoth.body.included.map((w: Json) => w.id).sort(), [target.id, s1.id].sort());

    assertStatus(await api.delete(`/run-triggers/${t1.id}`), 204);
    assertError(await api.get(`/run-triggers/${t1.id}`), 404, /run trigger "rt-\S+" not found/);
    assertError(await api.delete(`/run-triggers/${t1.id}`), 404, /not found/);
    assert.deepEqual((await api.get(inbound(target.id))).body.data, [t2]);
    assertError(await api.get('/run-triggers/nonexisting'), 404, /not found/);
  });

  it('answers 400 naming the parameter when filter[run-trigger][type] is missing or unknown', async () => {
    const ws = await createWorkspace(api, org);
    const parameter = 'filter[run-trigger][type]';
    assertError(await api.get(`/workspaces/${ws.id}/run-triggers`), 400, /is required and must be "inbound" or "outbound": it is missing/, { parameter });
    assertError(await api.get(`/workspaces/${ws.id}/run-triggers?filter%5Brun-trigger%5D%5Btype%5D=oubound`), 400, /got "oubound"/, { parameter });
    assertError(await api.get(`/workspaces/${ws.id}/run-triggers?filter%5Brun-trigger%5D%5Btype%5D=`), 400, /inbound/, { parameter });
    assertError(await api.get(inbound('ws-nonexisting')), 404, /workspace "ws-nonexisting" not found/);
  });

  it('refuses a workspace as its own source, a duplicate and a 21st source with 422', async () => {
    const target = await createWorkspace(api, org);
    const pointer = '/data/relationships/sourceable/data/id';
    assertError(await api.post(`/workspaces/${target.id}/run-triggers`, triggerDoc(target.id)), 422, /cannot be a source of its own run triggers/, { pointer });
    const sources: Json[] = [];
    for (let i = 0; i < 20; i++) sources.push(await createWorkspace(api, org));
    await createTrigger(api, target.id, sources[0].id);
    assertError(await api.post(`/workspaces/${target.id}/run-triggers`, triggerDoc(sources[0].id)), 422, /is already a source of workspace/, { pointer });
    // Twenty at once: the limit holds also when requests race for the last places.
    const extra = await createWorkspace(api, org);
    const answers = await Promise.all([...sources.slice(1), extra].map((s) => api.post(`/workspaces/${target.id}/run-triggers`, triggerDoc(s.id))));
    assert.equal(answers.filter((r) => r.status === 201).length, 19);
    const refused = answers.filter((r) => r.status !== 201);
    assert.equal(refused.length, 1);
    assertError(refused[0], 422, /already has 20 source workspaces, the most a workspace may have/, { pointer });
    assert.equal((await api.get(inbound(target.id))).body.meta.pagination['total-count'], 20);
  });

  it('refuses malformed bodies with 422 and unknown or other organizations’ workspaces with 404', async () => {
    const target = await createWorkspace(api, org);
    const source = await createWorkspace(api, org);
    const post = (doc: unknown) => api.post(`/workspaces/${target.id}/run-triggers`, doc);
    assertError(await post({ data: { type: 'run-triggers' } }), 422, /relationships/);
    assertError(await post({ data: { type: 'run-triggers', relationships: {} } }), 422, /sourceable/);
    assertError(await post({ data: { type: 'run-triggers', relationships: { sourceable: { data: null } } } }), 422, /sourceable/);
    assertError(await post({ data: { type: 'run-triggers', relationships: { sourceable: { data: { type: 'projects', id: source.id } } } } }), 422, /sourceable\.data\.type/);
    assertError(await post({ data: { type: 'workspaces', relationships: { sourceable: { data: { type: 'workspaces', id: source.id } } } } }), 422, /run-triggers/);
    assertError(await post(triggerDoc('ws-\u0000')), 422, /NUL/);
    const huge = await api.request('POST', `/workspaces/${target.id}/run-triggers`, {
      raw: JSON.stringify(triggerDoc('ws-' + 'a'.repeat(11 * 1024 * 1024))),
    });
    assertStatus(huge, 413);
    assertError(await post(triggerDoc('ws-nonexisting')), 404, /workspace "ws-nonexisting" not found/);
    assertError(await api.post('/workspaces/ws-nonexisting/run-triggers', triggerDoc(source.id)), 404, /workspace "ws-nonexisting" not found/);

    // Another organization's workspace is no source, either way round, and its triggers are not there.
    const otherOrg = await createOrganization(api);
    const foreign = await createWorkspace(api, otherOrg);
    assertError(await post(triggerDoc(foreign.id)), 404, new RegExp(`workspace "${foreign.id}" not found`));
    assertError(await api.post(`/workspaces/${foreign.id}/run-triggers`, triggerDoc(target.id)), 404, new RegExp(`workspace "${target.id}" not found`));
    const theirs = await createTrigger(api, foreign.id, (await createWorkspace(api, otherOrg)).id);
    const outsider = await userWithAccess(api, org, [target.id], 'admin');
    assertError(await outsider.client.get(`/run-triggers/${theirs.id}`), 404, /not found/);
    assertError(await outsider.client.delete(`/run-triggers/${theirs.id}`), 404, /not found/);
    assertError(await outsider.client.get(inbound(foreign.id)), 404, /not found/);
    assertError(await outsider.client.post(`/workspaces/${foreign.id}/run-triggers`, triggerDoc(target.id)), 404, /not found/);
    assertStatus(await api.get(`/run-triggers/${theirs.id}`), 200);
    assert.equal((await api.get(inbound(target.id))).body.meta.pagination['total-count'], 0, 'nothing was created');
  });

  it('needs admin access to the target and the right to read the source’s runs', async () => {
    const target = await createWorkspace(api, org);
    const source = await createWorkspace(api, org);
    const hidden = await createWorkspace(api, org);
    const team = await createTeam(api, org);
    await grant(api, team.id, target.id, 'admin');
    await grant(api, team.id, source.id, 'read');
    const adminUser = await createUser(api);
    await addToOrganization(api, org, adminUser, [team.id]);
    const writer = await userWithAccess(api, org, [target.id, source.id], 'write');
    const reader = await userWithAccess(api, org, [target.id, source.id], 'read');

    assertError(await writer.client.post(`/workspaces/${target.id}/run-triggers`, triggerDoc(source.id)), 403, /to manage the workspace's run triggers you need admin access/);
    // A source the user cannot see is not there for them.
    assertError(await adminUser.client.post(`/workspaces/${target.id}/run-triggers`, triggerDoc(hidden.id)), 404, new RegExp(`workspace "${hidden.id}" not found`));
    const mine = await createTrigger(adminUser.client, target.id, source.id);
    const theirs = await createTrigger(api, target.id, hidden.id);

    for (const user of [writer, reader]) {
      assertError(await user.client.get(inbound(target.id)), 403, /to read the workspace's run triggers you need admin access/);
      assertError(await user.client.get(`/run-triggers/${mine.id}`), 403, /admin access/);
      assertError(await user.client.delete(`/run-triggers/${mine.id}`), 403, /admin access/);
    }
    // The admin of the target sees every trigger of it, but of a source it cannot see, not the workspace itself.
    const listed = await adminUser.client.get(inbound(target.id, '&include=sourceable'));
    assertStatus(listed, 200);
    assert.deepEqual(listed.body.data.map((t: Json) => t.id), [mine.id, theirs.id]);
    assert.deepEqual(listed.body.included.map((w: Json) => w.id), [source.id]);
    assertStatus(await adminUser.client.delete(`/run-triggers/${theirs.id}`), 204);
    assertStatus(await adminUser.client.delete(`/run-triggers/${mine.id}`), 204);
  });

  it('deleting either workspace removes its run triggers', async () => {
    const target = await createWorkspace(api, org);
    const source = await createWorkspace(api, org);
    const other = await createWorkspace(api, org);
    const bySource = await createTrigger(api, target.id, source.id);
    const byTarget = await createTrigger(api, other.id, target.id);
    assertStatus(await api.delete(`/workspaces/${source.id}`), 204);
    assertError(await api.get(`/run-triggers/${bySource.id}`), 404, /not found/);
    assert.deepEqual((await api.get(inbound(target.id))).body.data, []);
    assertStatus(await api.delete(`/workspaces/${target.id}`), 204);
    assertError(await api.get(`/run-triggers/${byTarget.id}`), 404, /not found/);
    assert.deepEqual((await api.get(inbound(other.id))).body.data, []);
  });
});

describe('run triggers: an apply in a source queues runs in its targets', function () {
  let server: TestServer;
  let admin: Api;
  let org: string;
  /** otfd's log lines, as JSON. */
  const lines: Json[] = [];

  before(async () => {
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
        done();
      },
    });
    server = await startServer({ config: { concurrency: 2 }, logger: createLogger('info', 'otfd', stream) });
    admin = server.api;
    org = await createOrganization(admin);
  });
  after(() => server.stop());

  /** A workspace with CONFIG uploaded (queuing nothing by itself). */
  async function workspaceWithConfig(attributes: Record<string, unknown> = {}): Promise<Json> {
    const ws = await createWorkspace(admin, org, randomName('ws'), attributes);
    const cv = await admin.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assertStatus(cv, 201);
    assertStatus(await uploadTarball(admin, cv.body.data, configTarball({ 'main.tf': CONFIG })), 200);
    return ws;
  }

  /** Queues an auto-applied run; `replace` makes a run of an unchanged configuration change something. */
  async function queueRun(client: Api, wsId: string, replace = false): Promise<string> {
    const attributes = { 'auto-apply': true, ...(replace ? { 'replace-addrs': ['terraform_data.x'] } : {}) };
    const res = await client.post('/runs', {
      data: { type: 'runs', attributes, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } },
    });
    assertStatus(res, 201);
    return res.body.data.id;
  }

  async function waitForRun(id: string, wanted: string[]): Promise<Json> {
    const run = await until(
      `run ${id} to reach ${wanted.join(' or ')}`,
      async () => (await admin.get(`/runs/${id}`)).body.data,
      (r: Json) => wanted.includes(r.attributes.status) || FINAL.includes(r.attributes.status),
      90_000,
    );
    assert.ok(wanted.includes(run.attributes.status), `run ${id} ended ${run.attributes.status} (${run.attributes['error-message']}), expected ${wanted.join(' or ')}`);
    return run;
  }

  async function runsOf(wsId: string): Promise<Json[]> {
    const res = await admin.get(`/workspaces/${wsId}/runs`);
    assertStatus(res, 200);
    return res.body.data;
  }

  it('an apply queues exactly one run in each of two targets; after a trigger is deleted, the next apply queues nothing there', async () => {
    const source = await workspaceWithConfig();
    // One target applies triggered runs by itself (auto-apply-run-trigger); the other waits for a confirmation, as TFC's default.
    const t1 = await workspaceWithConfig({ 'auto-apply-run-trigger': true });
    const t2 = await workspaceWithConfig();
    await createTrigger(admin, t1.id, source.id);
    const toT2 = await createTrigger(admin, t2.id, source.id);

    const first = await queueRun(admin, source.id);
    await waitForRun(first, ['applied']);
    const message = new RegExp(`^Triggered by run ${first} in workspace ${org}/${source.attributes.name}$`);
    const [r1] = await waitFor('the run of target 1', async () => ((await runsOf(t1.id)).length > 0 ? runsOf(t1.id) : null));
    const [r2] = await waitFor('the run of target 2', async () => ((await runsOf(t2.id)).length > 0 ? runsOf(t2.id) : null));
    for (const r of [r1, r2]) {
      assert.equal(r.attributes.source, 'tfe-run-trigger');
      assert.match(r.attributes.message, message);
    }
    assert.equal((await waitForRun(r1.id, ['applied'])).attributes['auto-apply'], true);
    const planned = await waitForRun(r2.id, ['planned']);
    assert.equal(planned.attributes['auto-apply'], false, 'a target without auto-apply-run-trigger waits for a confirmation');
    // The triggered runs' own applies trigger nothing (their workspaces are nobody's sources), and the source ran once.
    assert.equal((await runsOf(source.id)).length, 1);
    assert.equal((await runsOf(t1.id)).length, 1);
    assert.equal((await runsOf(t2.id)).length, 1);
    assertStatus(await admin.post(`/runs/${r2.id}/actions/discard`, {}), 202);

    assertStatus(await admin.delete(`/run-triggers/${toT2.id}`), 204);
    const second = await queueRun(admin, source.id, true);
    await waitForRun(second, ['applied']);
    const again = await waitFor('the second run of target 1', async () => {
      const list = await runsOf(t1.id);
      return list.length === 2 ? list : null;
    });
    assert.match(again[0].attributes.message, new RegExp(`^Triggered by run ${second} `));
    // Its configuration is unchanged since its first run: nothing to apply.
    await waitForRun(again[0].id, ['planned_and_finished']);
    assert.deepEqual((await runsOf(t2.id)).map((r: Json) => r.id), [r2.id], 'the deleted trigger queued nothing');
  });

  it('a triggered run acts for the source run’s creator: queued where they may queue runs, nowhere else', async () => {
    const source = await workspaceWithConfig();
    const allowed = await workspaceWithConfig({ 'auto-apply-run-trigger': true });
    const forbidden = await workspaceWithConfig({ 'auto-apply-run-trigger': true });
    await createTrigger(admin, allowed.id, source.id);
    await createTrigger(admin, forbidden.id, source.id);
    // Write on the source; plan on one target; nothing on the other.
    const team = await createTeam(admin, org);
    await grant(admin, team.id, source.id, 'write');
    await grant(admin, team.id, allowed.id, 'plan');
    const user = await createUser(admin);
    await addToOrganization(admin, org, user, [team.id]);

    const sourceRun = await queueRun(user.client, source.id);
    await waitForRun(sourceRun, ['applied']);
    const [triggered] = await waitFor('the run of the allowed target', async () => ((await runsOf(allowed.id)).length > 0 ? runsOf(allowed.id) : null));
    assert.equal(triggered.relationships['created-by'].data.id, user.id, 'the run is the source run’s creator’s');
    // They may plan only: auto-apply-run-trigger does not apply it for them.
    const planned = await waitForRun(triggered.id, ['planned']);
    assert.equal(planned.attributes['auto-apply'], false);
    // otfd says why the other target got nothing.
    const refused = await waitFor('the log line of the refused delivery', async () =>
      lines.find((l) => l.workspace === forbidden.id && l.sourceRun === sourceRun && /creator may not queue runs in the target workspace/.test(l.msg)),
    );
    assert.deepEqual(refused.createdBy, { type: 'users', id: user.id, name: user.username });
    assert.deepEqual(await runsOf(forbidden.id), [], 'no run where the creator may not queue one');
  });

  it('what an apply owes its targets survives an otfd stopped before delivering: queued once at the next start, never twice', async () => {
    const source = await workspaceWithConfig();
    const target = await workspaceWithConfig();
    const done = await workspaceWithConfig();
    // Its trigger deleted after the apply: what the apply owed it is not delivered.
    const untriggered = await workspaceWithConfig();
    const sourceRun = await queueRun(admin, source.id);
    await waitForRun(sourceRun, ['applied']);
    await createTrigger(admin, target.id, source.id);
    const deleted = await createTrigger(admin, untriggered.id, source.id);
    assertStatus(await admin.delete(`/run-triggers/${deleted.id}`), 204);
    // As if otfd had stopped after the apply committed, before or after queuing a delivery's run.
    const existing = await queueRun(admin, done.id);
    await waitForRun(existing, ['applied']);
    const db = new pg.Client({ connectionString: server.databaseUrl });
    await db.connect();
    try {
      await db.query(
        `INSERT INTO run_trigger_deliveries (id, source_run_id, workspace_id, run_id) VALUES
           ('rtd-test-1', $1, $2, 'run-triggeredTest01'), ('rtd-test-2', $1, $3, $4), ('rtd-test-3', $1, $5, 'run-triggeredTest03')`,
        [sourceRun, target.id, done.id, existing, untriggered.id],
      );
      // A second otfd on the same database delivers at its start.
      const replica = await startServer({ databaseUrl: server.databaseUrl });
      try {
        const run = await waitFor('the owed run', async () => {
          const res = await admin.get('/runs/run-triggeredTest01');
          return res.status === 200 ? res.body.data : null;
        });
        assert.equal(run.attributes.source, 'tfe-run-trigger');
        assert.equal(run.relationships.workspace.data.id, target.id);
        await waitFor('the deliveries to be gone', async () => (await db.query('SELECT id FROM run_trigger_deliveries')).rowCount === 0);
        assert.deepEqual((await runsOf(target.id)).map((r: Json) => r.id), ['run-triggeredTest01']);
        assert.deepEqual((await runsOf(done.id)).map((r: Json) => r.id), [existing], 'a delivery whose run exists queues no second one');
        assert.deepEqual(await runsOf(untriggered.id), [], 'a delivery whose trigger was deleted queues nothing');
        assert.equal((await admin.get('/runs/run-triggeredTest03')).status, 404);
      } finally {
        await replica.stop();
      }
    } finally {
      await db.end();
    }
  });
});
