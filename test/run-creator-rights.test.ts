// A run acts with its creator's rights, never the server's: the run an upload queues by itself
// belongs to the uploader, and a run applies without confirmation only when its creator may apply,
// when it is created and still when its plan ends. Otherwise it stops at planned, for somebody who
// may apply to confirm. Executed for real by the server agent with the terraform on PATH.
import assert from 'node:assert/strict';
import type { Api, Json } from './helpers/api.js';
import { assertError, assertStatus } from './helpers/assert.js';
import { fixture } from './helpers/fixtures.js';
import { createTeam, grant, teamToken, userWithAccess, type TestUser } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { until, waitFor } from './helpers/wait.js';

const CONFIG = fixture('one-resource');


const FINAL = ['applied', 'planned_and_finished', 'discarded', 'errored', 'canceled', 'force_canceled'];

function runDoc(wsId: string, attributes: Record<string, unknown> = {}): Json {
  return { data: { type: 'runs', attributes, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } };
}

describe('a run acts with its creator’s rights', function () {
  let server: TestServer;
  let admin: Api;
  let org: string;

  before(async () => {
    server = await startServer({ config: { concurrency: 2 } });
    admin = server.api;
    org = await createOrganization(admin);
  });
  after(() => server.stop());

  /** An auto-apply workspace of the organization. */
  async function autoApplyWorkspace(): Promise<Json> {
    return createWorkspace(admin, org, randomName('ws'), { 'auto-apply': true });
  }

  /** Creates a configuration version as `client` and uploads CONFIG to it; returns the version. */
  async function upload(client: Api, wsId: string, autoQueue: boolean): Promise<Json> {
    const cv = await client.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': autoQueue } } });
    assertStatus(cv, 201);
    assertStatus(await uploadTarball(client, cv.body.data, configTarball({ 'main.tf': CONFIG })), 200);
    return cv.body.data;
  }

  /** The run of the configuration version, once the upload has queued it. */
  async function runOf(wsId: string, cvId: string): Promise<Json> {
    return waitFor(`a run of ${cvId}`, async () => {
      const res = await admin.get(`/workspaces/${wsId}/runs`);
      assertStatus(res, 200);
      return res.body.data.find((r: Json) => r.relationships['configuration-version'].data.id === cvId);
    });
  }

  /** Polls the run until it reaches one of `wanted`; fails at once when it ends otherwise. */
  async function waitForRun(id: string, wanted: string[]): Promise<Json> {
    const run = await until(
      `run ${id} to reach ${wanted.join(' or ')}`,
      async () => (await admin.get(`/runs/${id}`)).body.data,
      (r: Json) => wanted.includes(r.attributes.status) || FINAL.includes(r.attributes.status),
      60_000,
    );
    assert.ok(wanted.includes(run.attributes.status), `run ${id} ended ${run.attributes.status} (${run.attributes['error-message']}), expected ${wanted.join(' or ')}`);
    return run;
  }

  async function assertNoState(wsId: string): Promise<void> {
    assertError(await admin.get(`/workspaces/${wsId}/current-state-version`), 404, /has no state yet/);
  }

  it('an upload by a user who may only plan queues their run, which stops at planned and writes no state', async () => {
    const ws = await autoApplyWorkspace();
    const planner = await userWithAccess(admin, org, [ws.id], 'plan');
    const cv = await upload(planner.client, ws.id, true);
    const run = await waitForRun((await runOf(ws.id, cv.id)).id, ['planned']);
    assert.equal(run.relationships['created-by'].data.id, planner.id, 'the run belongs to the uploader');
    assert.equal(run.attributes['auto-apply'], false);
    assert.equal(run.attributes['has-changes'], true);
    await assertNoState(ws.id);
    // The planner cannot confirm it; somebody who may apply can.
    assertError(await planner.client.post(`/runs/${run.id}/actions/apply`, {}), 403, /insufficient permissions: to apply runs/);
    const writer = await userWithAccess(admin, org, [ws.id], 'write');
    assertStatus(await writer.client.post(`/runs/${run.id}/actions/apply`, {}), 202);
    await waitForRun(run.id, ['applied']);
    assertStatus(await admin.get(`/workspaces/${ws.id}/current-state-version`), 200);
  });

  it('an upload by a user who may apply is applied at once, as their run', async () => {
    const ws = await autoApplyWorkspace();
    const writer = await userWithAccess(admin, org, [ws.id], 'write');
    const cv = await upload(writer.client, ws.id, true);
    const run = await waitForRun((await runOf(ws.id, cv.id)).id, ['applied']);
    assert.equal(run.relationships['created-by'].data.id, writer.id);
    assertStatus(await admin.get(`/workspaces/${ws.id}/current-state-version`), 200);
  });

  it("an upload by a team token acts with the team's rights: applied for write access, planned for plan access", async () => {
    for (const [access, wanted] of [
      ['write', 'applied'],
      ['plan', 'planned'],
    ] as const) {
      const ws = await autoApplyWorkspace();
      const team = await createTeam(admin, org);
      await grant(admin, team.id, ws.id, access);
      const cv = await upload(admin.withToken(await teamToken(admin, team.id)), ws.id, true);
      await waitForRun((await runOf(ws.id, cv.id)).id, [wanted]);
    }
  });

  it('an upload whose creator has lost the right to queue runs meanwhile queues nothing', async () => {
    const ws = await autoApplyWorkspace();
    const writer = await userWithAccess(admin, org, [ws.id], 'write');
    const cv = await writer.client.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': true } } });
    assertStatus(cv, 201);
    assertStatus(await admin.delete(`/teams/${writer.teamId}`), 204);
    assertStatus(await uploadTarball(admin, cv.body.data, configTarball({ 'main.tf': CONFIG })), 200);
    assert.equal((await admin.get(`/configuration-versions/${cv.body.data.id}`)).body.data.attributes.status, 'uploaded');
    const runs = await admin.get(`/workspaces/${ws.id}/runs`);
    assertStatus(runs, 200);
    assert.deepEqual(runs.body.data, [], 'no run was queued');
  });

  it('POST /runs by a user who may only plan: the workspace’s auto-apply does not apply it, and asking for auto-apply is refused', async () => {
    const ws = await autoApplyWorkspace();
    await upload(admin, ws.id, false);
    const planner = await userWithAccess(admin, org, [ws.id], 'plan');
    assertError(await planner.client.post('/runs', runDoc(ws.id, { 'auto-apply': true })), 403, /insufficient permissions: to apply runs/);
    const created = await planner.client.post('/runs', runDoc(ws.id));
    assertStatus(created, 201);
    assert.equal(created.body.data.attributes['auto-apply'], false);
    await waitForRun(created.body.data.id, ['planned']);
    await assertNoState(ws.id);
  });

  it('a right to apply withdrawn while the run waits is not used when its plan ends', async () => {
    const ws = await autoApplyWorkspace();
    await upload(admin, ws.id, false);
    const writer: TestUser & { teamId: string } = await userWithAccess(admin, org, [ws.id], 'write');
    // The workspace is locked by somebody else: the writer's run waits, pending.
    assertStatus(await admin.post(`/workspaces/${ws.id}/actions/lock`, { data: { type: '', attributes: { reason: 'hold' } } }), 200);
    const created = await writer.client.post('/runs', runDoc(ws.id));
    assertStatus(created, 201);
    assert.equal(created.body.data.attributes['auto-apply'], true, 'the writer may apply when the run is created');
    assert.equal((await admin.get(`/runs/${created.body.data.id}`)).body.data.attributes.status, 'pending');
    const access = await admin.get(`/team-workspaces?filter[workspace][id]=${ws.id}`);
    assertStatus(access, 200);
    const entry = access.body.data.find((a: Json) => a.relationships.team.data.id === writer.teamId);
    assert.ok(entry, `the writer's grant is listed: ${access.text}`);
    assertStatus(await admin.patch(`/team-workspaces/${entry.id}`, { data: { type: 'team-workspaces', attributes: { access: 'plan' } } }), 200);
    assertStatus(await admin.post(`/workspaces/${ws.id}/actions/unlock`), 200);
    await waitForRun(created.body.data.id, ['planned']);
    await assertNoState(ws.id);
  });
});
