// Data retention policies (Terraform Cloud's data-retention-policy endpoints): owners set them on
// an organization or a workspace, and enforcement (with the blob collector) deletes the runs,
// configuration versions, state versions and logs older than N days, but never the current state,
// a run that is still under way and what it needs, nor a workspace's latest run or newest
// configuration. "Old" is made here by moving records' creation dates back in the database.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Api, Json } from './helpers/api.js';
import { fixtureFiles } from './helpers/fixtures.js';
import { addToOrganization, createUser, ownersTeam, userWithAccess, type TestUser } from './helpers/people.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { waitUntil } from './helpers/wait.js';

const ok = (res: { status: number; text: string }, status: number) => assert.equal(res.status, status, res.text);

const POLICY = 'relationships/data-retention-policy';

function deleteOlder(days: unknown, type = 'data-retention-policy-delete-olders'): Json {
  return { data: { type, attributes: { 'delete-older-than-n-days': days } } };
}

async function uploadedConfig(api: Api, wsId: string): Promise<string> {
  const cv = await api.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
  ok(cv, 201);
  ok(await uploadTarball(api, cv.body.data, configTarball(fixtureFiles('one-output'))), 200);
  return cv.body.data.id;
}

async function createRun(api: Api, wsId: string, cvId: string): Promise<Json> {
  const run = await api.post('/runs', {
    data: { type: 'runs', relationships: { workspace: { data: { type: 'workspaces', id: wsId } }, 'configuration-version': { data: { type: 'configuration-versions', id: cvId } } } },
  });
  ok(run, 201);
  return run.body.data;
}

async function pushState(api: Api, wsId: string, serial: number, lineage: string): Promise<string> {
  const state = JSON.stringify({ version: 4, terraform_version: '1.11.4', serial, lineage, outputs: {}, resources: [] });
  const sv = await api.post(`/workspaces/${wsId}/state-versions`, {
    data: { type: 'state-versions', attributes: { serial, lineage, md5: crypto.createHash('md5').update(state).digest('hex'), state: Buffer.from(state).toString('base64') } },
  });
  ok(sv, 201);
  return sv.body.data.id;
}

describe('data retention policies', function () {
  this.timeout(120_000);
  let server: TestServer;
  let org: string;
  let owner: TestUser;

  before(async () => {
    server = await startServer();
    org = await createOrganization(server.api);
    owner = await createUser(server.api);
    await addToOrganization(server.api, org, owner, [(await ownersTeam(server.api, org)).id]);
  });
  after(() => server.stop());

  /** Moves the records' creation back by days. */
  async function age(table: 'runs' | 'configuration_versions' | 'state_versions', ids: string[], days: number): Promise<void> {
    await server.otfd.db(table).whereIn('id', ids).update({ created_at: server.otfd.db.raw(`now() - make_interval(days => ?)`, [days]) });
  }

  it('an owner sets, reads, replaces and deletes the organization policy in Terraform Cloud shapes', async () => {
    const api = owner.client;
    const none = await api.get(`/organizations/${org}/${POLICY}`);
    ok(none, 200);
    assert.equal(none.body.data, null);

    const set = await api.post(`/organizations/${org}/${POLICY}`, deleteOlder(30));
    ok(set, 201);
    assert.equal(set.body.data.type, 'data-retention-policy-delete-olders');
    assert.match(set.body.data.id, /^drp-/);
    assert.deepEqual(set.body.data.attributes, { 'delete-older-than-n-days': 30 });
    assert.deepEqual((await api.get(`/organizations/${org}/${POLICY}`)).body.data, set.body.data);

    const dont = await api.post(`/organizations/${org}/${POLICY}`, { data: { type: 'data-retention-policy-dont-deletes' } });
    ok(dont, 201);
    assert.equal(dont.body.data.type, 'data-retention-policy-dont-deletes');
    assert.equal((await api.get(`/organizations/${org}/${POLICY}`)).body.data.type, 'data-retention-policy-dont-deletes');

    ok(await api.delete(`/organizations/${org}/${POLICY}`), 204);
    assert.equal((await api.get(`/organizations/${org}/${POLICY}`)).body.data, null);
  });

  it('refuses bad input with a 422 that says what is wrong, and changes nothing', async () => {
    const api = owner.client;
    ok(await api.post(`/organizations/${org}/${POLICY}`, deleteOlder(7)), 201);
    const ws = await createWorkspace(server.api, org);
    const cases: Array<[Json, RegExp]> = [
      [deleteOlder(0), /delete-older-than-n-days.*whole number of days from 1/],
      [deleteOlder(-5), /delete-older-than-n-days.*whole number of days from 1/],
      [deleteOlder('ten'), /delete-older-than-n-days.*whole number of days from 1/],
      [deleteOlder(1.5), /delete-older-than-n-days.*whole number of days from 1/],
      [deleteOlder(10_000_000), /delete-older-than-n-days.*whole number of days from 1/],
      [deleteOlder('3\u0000'), /delete-older-than-n-days/],
      [{ data: { type: 'data-retention-policy-delete-olders', attributes: {} } }, /"delete-older-than-n-days" is required/],
      [deleteOlder(3, 'data-retention-policy-delete-olders\u0000'), /NUL/],
      [deleteOlder(3, 'workspaces'), /data.type must be "data-retention-policy-delete-olders" or "data-retention-policy-dont-deletes", got "workspaces"/],
      [{ data: 'x' }, /data/],
      // Oversized: a type of 100,000 characters.
      [deleteOlder(3, 'x'.repeat(100_000)), /data.type must be "data-retention-policy-delete-olders" or "data-retention-policy-dont-deletes"/],
    ];
    for (const [body, detail] of cases) {
      for (const path of [`/organizations/${org}/${POLICY}`, `/workspaces/${ws.id}/${POLICY}`]) {
        const res = await api.post(path, body);
        assert.equal(res.status, 422, `${JSON.stringify(body)}: ${res.text}`);
        assert.match(res.body.errors[0].detail, detail);
      }
    }
    const malformed = await api.request('POST', `/organizations/${org}/${POLICY}`, { raw: '{"data": {' });
    assert.ok(malformed.status >= 400 && malformed.status < 500, malformed.text);
    assert.deepEqual((await api.get(`/organizations/${org}/${POLICY}`)).body.data.attributes, { 'delete-older-than-n-days': 7 });
    assert.equal((await api.get(`/workspaces/${ws.id}/${POLICY}`)).body.data, null);
    ok(await api.delete(`/organizations/${org}/${POLICY}`), 204);
  });

  it("is for owners only: members get 403, other organizations' policies and workspaces are 404", async () => {
    const ws = await createWorkspace(server.api, org);
    // Admin of the workspace and holder of every organization permission, but not an owner.
    const admin = await userWithAccess(server.api, org, [ws.id], 'admin');
    for (const [method, path] of [
      ['GET', `/organizations/${org}/${POLICY}`],
      ['POST', `/organizations/${org}/${POLICY}`],
      ['DELETE', `/organizations/${org}/${POLICY}`],
      ['GET', `/workspaces/${ws.id}/${POLICY}`],
      ['POST', `/workspaces/${ws.id}/${POLICY}`],
      ['DELETE', `/workspaces/${ws.id}/${POLICY}`],
    ]) {
      const res = await admin.client.request(method, path, method === 'POST' ? { body: deleteOlder(1) } : {});
      assert.equal(res.status, 403, `${method} ${path}: ${res.text}`);
      assert.match(res.body.errors[0].detail, /data retention policies/);
    }

    const other = await createOrganization(server.api);
    const otherWs = await createWorkspace(server.api, other);
    ok(await server.api.post(`/organizations/${other}/${POLICY}`, deleteOlder(5)), 201);
    for (const [method, path] of [
      ['GET', `/organizations/${other}/${POLICY}`],
      ['POST', `/organizations/${other}/${POLICY}`],
      ['DELETE', `/organizations/${other}/${POLICY}`],
      ['GET', `/workspaces/${otherWs.id}/${POLICY}`],
      ['POST', `/workspaces/${otherWs.id}/${POLICY}`],
      ['GET', `/workspaces/ws-doesnotexist000/${POLICY}`],
      ['GET', `/organizations/no-such-org/${POLICY}`],
    ]) {
      const res = await owner.client.request(method, path, method === 'POST' ? { body: deleteOlder(1) } : {});
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
    }
    // The other organization's policy is as it was.
    assert.deepEqual((await server.api.get(`/organizations/${other}/${POLICY}`)).body.data.attributes, { 'delete-older-than-n-days': 5 });
    assert.equal((await server.api.get(`/workspaces/${otherWs.id}/${POLICY}`)).body.data, null);
  });

  it('deletes what is older than N days and keeps the current state, a run under way and what it needs, and the latest run', async () => {
    const api = server.api;
    const db = server.otfd.db;
    const ws = await createWorkspace(api, org);
    // State: serial 1 and 2, both old; 2 is current.
    const lineage = crypto.randomUUID();
    ok(await api.post(`/workspaces/${ws.id}/actions/lock`, {}), 200);
    const sv1 = await pushState(api, ws.id, 1, lineage);
    const sv2 = await pushState(api, ws.id, 2, lineage);
    ok(await api.post(`/workspaces/${ws.id}/actions/unlock`, {}), 200);

    // An old finished run, with logs; an old configuration no run uses.
    const oldCv = await uploadedConfig(api, ws.id);
    const oldRun = await createRun(api, ws.id, oldCv);
    ok(await api.post(`/runs/${oldRun.id}/actions/cancel`, {}), 202);
    const oldPlan: string = oldRun.relationships.plan.data.id;
    await db('run_logs').insert({ phase_id: oldPlan, offset: 0, data: Buffer.from('old plan log') });
    const unusedCv = await uploadedConfig(api, ws.id);
    // An old run still under way (queued: no agent here), and its configuration.
    const busyCv = await uploadedConfig(api, ws.id);
    const busyRun = await createRun(api, ws.id, busyCv);
    const busyPlan: string = busyRun.relationships.plan.data.id;
    await db('run_logs').insert({ phase_id: busyPlan, offset: 0, data: Buffer.from('busy plan log') });
    // A recent finished run: the latest.
    const newCv = await uploadedConfig(api, ws.id);
    const newRun = await createRun(api, ws.id, newCv);
    ok(await api.post(`/runs/${newRun.id}/actions/cancel`, {}), 202);

    await age('state_versions', [sv1, sv2], 40);
    // In the order they were made: the workspace's current run is the newest admitted to its queue.
    await age('configuration_versions', [oldCv, unusedCv], 41);
    await age('configuration_versions', [busyCv], 40);
    await age('runs', [oldRun.id], 41);
    await age('runs', [busyRun.id], 40);

    // A workspace that keeps everything though the organization deletes after 30 days.
    const kept = await createWorkspace(api, org);
    ok(await api.post(`/workspaces/${kept.id}/actions/lock`, {}), 200);
    const keptSv1 = await pushState(api, kept.id, 1, lineage);
    await pushState(api, kept.id, 2, lineage);
    ok(await api.post(`/workspaces/${kept.id}/actions/unlock`, {}), 200);
    await age('state_versions', [keptSv1], 40);
    ok(await owner.client.post(`/workspaces/${kept.id}/${POLICY}`, { data: { type: 'data-retention-policy-dont-deletes' } }), 201);

    // A workspace whose only run is old and finished: its current and latest run, kept.
    const lone = await createWorkspace(api, org);
    const loneCv = await uploadedConfig(api, lone.id);
    const loneRun = await createRun(api, lone.id, loneCv);
    ok(await api.post(`/runs/${loneRun.id}/actions/cancel`, {}), 202);
    await age('configuration_versions', [loneCv], 40);
    await age('runs', [loneRun.id], 40);
    // A workspace whose latest run is an old plan-only one (so not its current run), with a health
    // assessment made since: a hidden run, not the workspace's latest, so the plan is kept.
    const probed = await createWorkspace(api, org);
    const probedCv = await uploadedConfig(api, probed.id);
    const probedRun = await createRun(api, probed.id, probedCv);
    ok(await api.post(`/runs/${probedRun.id}/actions/cancel`, {}), 202);
    await db('runs').where({ id: probedRun.id }).update({ speculative: true, plan_only: true });
    await age('configuration_versions', [probedCv], 40);
    await age('runs', [probedRun.id], 40);
    const assessment = await createRun(api, probed.id, probedCv);
    ok(await api.post(`/runs/${assessment.id}/actions/cancel`, {}), 202);
    await db('runs').where({ id: assessment.id }).update({ speculative: true, plan_only: true, assessment: true });

    // Without a policy nothing goes.
    const idle = await server.otfd.collectBlobs(0);
    assert.deepEqual({ ...idle.retention, workspaces: 0 }, { workspaces: 0, runs: 0, configurationVersions: 0, stateVersions: 0 });
    ok(await api.get(`/state-versions/${sv1}`), 200);

    ok(await owner.client.post(`/organizations/${org}/${POLICY}`, deleteOlder(30)), 201);
    const pass = await server.otfd.collectBlobs(0);
    assert.equal(pass.retention.runs, 1);
    assert.equal(pass.retention.configurationVersions, 2);
    assert.equal(pass.retention.stateVersions, 1);
    // The deleted records' blobs (a tarball each, a state file) went in the same pass.
    assert.ok(pass.blobs >= 3, `${pass.blobs} blobs collected`);

    // Gone: the old finished run with its logs, the configurations nothing uses, the old state.
    ok(await api.get(`/runs/${oldRun.id}`), 404);
    ok(await api.get(`/configuration-versions/${oldCv}`), 404);
    ok(await api.get(`/configuration-versions/${unusedCv}`), 404);
    ok(await api.get(`/state-versions/${sv1}`), 404);
    assert.deepEqual(await db('run_logs').where({ phase_id: oldPlan }).pluck('phase_id'), []);

    // Kept: the current state (old as it is) and its file, the run under way with its logs and
    // configuration, the recent run, the other workspaces' things.
    const current = await api.get(`/workspaces/${ws.id}/current-state-version`);
    ok(current, 200);
    assert.equal(current.body.data.id, sv2);
    ok(await api.get(current.body.data.attributes['hosted-state-download-url']), 200);
    const busy = await api.get(`/runs/${busyRun.id}`);
    ok(busy, 200);
    assert.equal(busy.body.data.attributes.status, 'plan_queued');
    ok(await api.get(`/configuration-versions/${busyCv}`), 200);
    ok(await api.get(`/configuration-versions/${busyCv}/download`), 200);
    assert.equal((await db('run_logs').where({ phase_id: busyPlan })).length, 1);
    ok(await api.get(`/runs/${newRun.id}`), 200);
    ok(await api.get(`/configuration-versions/${newCv}`), 200);
    ok(await api.get(`/state-versions/${keptSv1}`), 200);
    ok(await api.get(`/runs/${loneRun.id}`), 200);
    ok(await api.get(`/configuration-versions/${loneCv}`), 200);
    ok(await api.get(`/runs/${probedRun.id}`), 200);

    // Once over, it is still the workspace's current run (the last one admitted to its queue),
    // and stays until a newer run is.
    ok(await api.post(`/runs/${busyRun.id}/actions/cancel`, {}), 202);
    assert.equal((await server.otfd.collectBlobs(0)).retention.runs, 0);
    ok(await api.get(`/runs/${busyRun.id}`), 200);
    const next = await createRun(api, ws.id, newCv);
    await waitUntil('the next run is queued', async () => (await api.get(`/runs/${next.id}`)).body.data.attributes.status === 'plan_queued', 30_000);
    ok(await api.post(`/runs/${next.id}/actions/cancel`, {}), 202);
    // Then it goes, with its configuration; the next pass finds nothing more.
    const second = await server.otfd.collectBlobs(0);
    assert.equal(second.retention.runs, 1);
    assert.equal(second.retention.configurationVersions, 1);
    ok(await api.get(`/runs/${busyRun.id}`), 404);
    ok(await api.get(`/configuration-versions/${busyCv}`), 404);
    // Operators see what retention deleted at /metrics.
    const metrics = await api.get('/metrics', { token: null });
    assert.match(metrics.text, /otf_retention_deleted_total\{kind="runs"\} 2\n/);
    assert.match(metrics.text, /otf_retention_deleted_total\{kind="state_versions"\} 1\n/);
    const third = await server.otfd.collectBlobs(0);
    assert.deepEqual({ ...third.retention, workspaces: 0 }, { workspaces: 0, runs: 0, configurationVersions: 0, stateVersions: 0 });
  });

  it("a workspace's delete-older policy applies under an organization that keeps everything", async () => {
    const api = server.api;
    const other = await createOrganization(api);
    ok(await api.post(`/organizations/${other}/${POLICY}`, { data: { type: 'data-retention-policy-dont-deletes' } }), 201);
    const strict = await createWorkspace(api, other);
    const lax = await createWorkspace(api, other);
    const lineage = crypto.randomUUID();
    const old: Record<string, string> = {};
    for (const ws of [strict, lax]) {
      ok(await api.post(`/workspaces/${ws.id}/actions/lock`, {}), 200);
      old[ws.id] = await pushState(api, ws.id, 1, lineage);
      await pushState(api, ws.id, 2, lineage);
      ok(await api.post(`/workspaces/${ws.id}/actions/unlock`, {}), 200);
    }
    await age('state_versions', Object.values(old), 3);
    const set = await api.post(`/workspaces/${strict.id}/${POLICY}`, deleteOlder(2));
    ok(set, 201);
    assert.deepEqual((await api.get(`/workspaces/${strict.id}/${POLICY}`)).body.data, set.body.data);

    await server.otfd.collectBlobs(0);
    ok(await api.get(`/state-versions/${old[strict.id]}`), 404);
    ok(await api.get(`/state-versions/${old[lax.id]}`), 200);

    // Without its own policy the workspace follows the organization again.
    ok(await api.delete(`/workspaces/${strict.id}/${POLICY}`), 204);
    assert.equal((await api.get(`/workspaces/${strict.id}/${POLICY}`)).body.data, null);
  });
});
