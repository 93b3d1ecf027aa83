// Runs, workspaces and applies as Terraform Cloud's own clients (go-tfe, the tfe provider) expect
// them, executed for real by the server agent inside otfd with the terraform on PATH: a plan-only
// run on a terraform version of its own, the created-by user, force-execute (the runs ahead
// discarded, this one admitted now) with its refusals, the workspace's current run and run count
// after a run ends, and the state versions an apply wrote.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { Api, Json } from './helpers/api.js';
import { startAgent } from './helpers/agent.js';
import { assertError } from './helpers/assert.js';
import { fixture } from './helpers/fixtures.js';
import { addToOrganization, createTeam, createUser, grant, organizationToken, userWithAccess, type TestUser } from './helpers/people.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { sleep } from './helpers/wait.js';

const ONE_RESOURCE = fixture('one-resource');
const FINAL = ['applied', 'planned_and_finished', 'discarded', 'errored', 'canceled', 'force_canceled'];

/** The version of the terraform on PATH, which runs use without downloading anything. */
function localTerraformVersion(): string {
  const out = execFileSync('terraform', ['version', '-json'], { env: { ...process.env, CHECKPOINT_DISABLE: '1' }, stdio: ['ignore', 'pipe', 'ignore'] }).toString('utf8');
  return (JSON.parse(out) as { terraform_version: string }).terraform_version;
}

function runDoc(wsId: string, attributes: Record<string, unknown> = {}): Json {
  return { data: { type: 'runs', attributes, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } };
}

describe('runs as Terraform Cloud clients expect them', function () {
  let server: TestServer;
  let api: Api;
  let org: string;
  /** A user who may apply in every workspace of these tests: runs they create are theirs. */
  let writer: TestUser;

  before(async () => {
    // A long agent grace period: the frozen agent below must not be declared lost during the test.
    server = await startServer({ config: { concurrency: 2, agentGracePeriodSeconds: 120 } });
    api = server.api;
    org = await createOrganization(api);
  });
  after(() => server.stop());

  async function workspaceWith(mainTf: string, attributes: Record<string, unknown> = {}): Promise<Json> {
    const ws = await createWorkspace(api, org, undefined, attributes);
    const cv = await api.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assert.equal(cv.status, 201, cv.text);
    assert.equal((await uploadTarball(api, cv.body.data, configTarball({ 'main.tf': mainTf }))).status, 200);
    return ws;
  }

  async function createRun(client: Api, wsId: string, attributes: Record<string, unknown> = {}): Promise<Json> {
    const res = await client.post('/runs', runDoc(wsId, attributes));
    assert.equal(res.status, 201, res.text);
    return res.body.data;
  }

  async function getRun(id: string): Promise<Json> {
    const res = await api.get(`/runs/${id}`);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  async function getWorkspace(id: string): Promise<Json> {
    const res = await api.get(`/workspaces/${id}`);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  async function waitForRun(id: string, wanted: string[], timeoutMs = 60_000): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = await getRun(id);
      const status: string = run.attributes.status;
      if (wanted.includes(status)) return run;
      if (FINAL.includes(status)) assert.fail(`expected run ${id} to reach ${wanted.join(' or ')}, but it ended ${status} (${run.attributes['error-message']})`);
      if (Date.now() > deadline) assert.fail(`run ${id} is still ${status} after ${timeoutMs} ms, waiting for ${wanted.join(' or ')}`);
      await sleep(100);
    }
  }

  const action = (runId: string, name: string, client = api) => client.post(`/runs/${runId}/actions/${name}`, {});

  // ------------------------------------------------------------ terraform-version

  describe('terraform-version on create', function () {
    it('runs a plan-only run on the version it names, not the workspace’s', async () => {
      const local = localTerraformVersion();
      // The workspace asks for a version this machine does not have (and cannot download): only
      // the run's own version lets the plan run.
      const ws = await workspaceWith(ONE_RESOURCE, { 'terraform-version': '1.0.0' });
      const run = await createRun(api, ws.id, { 'plan-only': true, 'terraform-version': local });
      assert.equal(run.attributes['terraform-version'], local);
      assert.equal(run.attributes['plan-only'], true);
      const done = await waitForRun(run.id, ['planned_and_finished']);
      assert.equal(done.attributes['terraform-version'], local);
      assert.equal((await getWorkspace(ws.id)).attributes['terraform-version'], '1.0.0', 'the workspace keeps its own version');
    });

    it('refuses it on a run that is not plan-only (422, as TFC), and a value that is not a version', async () => {
      const ws = await workspaceWith(ONE_RESOURCE);
      assertError(await api.post('/runs', runDoc(ws.id, { 'terraform-version': '1.9.5' })), 422, /terraform-version may only be set on a plan-only run/, {
        pointer: '/data/attributes/terraform-version',
      });
      for (const bad of ['latest', '~> 1.9', '1.9', 'x'.repeat(100), '1.9.5\u0000']) {
        const res = await api.post('/runs', runDoc(ws.id, { 'plan-only': true, 'terraform-version': bad }));
        assert.equal(res.status, 422, `${JSON.stringify(bad)}: ${res.text}`);
        assert.ok(res.body.errors[0].detail, res.text);
      }
      assertError(await api.post('/runs', runDoc(ws.id, { 'plan-only': true, 'terraform-version': 195 })), 422, /terraform-version/);
      assert.equal((await api.get(`/workspaces/${ws.id}/runs`)).body.data.length, 0, 'no run was created');
    });
  });

  // ------------------------------------------------------------ created-by

  describe('created-by', function () {
    it('names the user who created the run, and include=created_by brings the user along', async () => {
      const ws = await workspaceWith(ONE_RESOURCE);
      writer = await userWithAccess(api, org, [ws.id], 'write');
      const run = await createRun(writer.client, ws.id, { 'plan-only': true });
      assert.equal(run.relationships['created-by'].data.id, writer.id);
      assert.equal(run.relationships['created-by'].data.type, 'users');
      const res = await writer.client.get(`/runs/${run.id}?include=created_by`);
      assert.equal(res.status, 200, res.text);
      const users = (res.body.included as Json[]).filter((r) => r.type === 'users');
      assert.deepEqual(
        users.map((u) => [u.id, u.attributes.username]),
        [[writer.id, writer.username]],
      );
      const listed = await writer.client.get(`/workspaces/${ws.id}/runs?include=created_by`);
      assert.equal(listed.status, 200, listed.text);
      assert.deepEqual(
        (listed.body.included as Json[]).filter((r) => r.type === 'users').map((u) => u.id),
        [writer.id],
        'one user for all the runs they made',
      );
      await waitForRun(run.id, ['planned_and_finished']);

      // the site administrator has no user account, and is shown by name
      const byAdmin = await createRun(api, ws.id, { 'plan-only': true });
      const withAdmin = await api.get(`/runs/${byAdmin.id}?include=created_by`);
      assert.deepEqual(
        (withAdmin.body.included as Json[]).map((u) => [u.type, u.id, u.attributes.username, u.attributes['is-site-admin']]),
        [['users', byAdmin.relationships['created-by'].data.id, 'site-admin', true]],
      );
      await waitForRun(byAdmin.id, ['planned_and_finished']);
    });
  });

  // ------------------------------------------------------------ force-cancel cool-off

  describe('force-cancel', function () {
    it('sets force-cancel-available-at, 10 s after the request, when a pending run is canceled (go-tfe reads it)', async () => {
      const ws = await workspaceWith(ONE_RESOURCE);
      assert.equal((await api.post(`/workspaces/${ws.id}/actions/lock`, {})).status, 200);
      const run = await createRun(api, ws.id);
      assert.equal(run.attributes['force-cancel-available-at'], null);
      const asked = Date.now();
      assert.equal((await action(run.id, 'cancel')).status, 202);
      const canceled = await getRun(run.id);
      assert.equal(canceled.attributes.status, 'canceled');
      const available = Date.parse(canceled.attributes['force-cancel-available-at']);
      assert.ok(available > Date.now() && available >= asked + 9_000 && available <= Date.now() + 10_000, canceled.attributes['force-cancel-available-at']);
      assert.equal(canceled.attributes.actions['is-force-cancelable'], false);
      assert.equal((await api.post(`/workspaces/${ws.id}/actions/unlock`)).status, 200);
    });

    it('is refused during the cool-off after cancel, and ends the run of a runner that does not answer once it has passed', async () => {
      const pool = await api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: `pool-${Date.now()}` } } });
      assert.equal(pool.status, 201, pool.text);
      const token = await api.post(`/agent-pools/${pool.body.data.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'cool-off' } } });
      assert.equal(token.status, 201, token.text);
      const ws = await workspaceWith(fixture('slow-apply', { command: 'sleep 60' }), { 'execution-mode': 'agent', 'agent-pool-id': pool.body.data.id });
      const agent = startAgent(server, ['--token', token.body.data.attributes.token]);
      try {
        const run = await createRun(api, ws.id, { 'auto-apply': true });
        await waitForRun(run.id, ['applying']);
        // The runner stops answering: the cancel never reaches its engine.
        agent.child.kill('SIGSTOP');
        const asked = Date.now();
        assert.equal((await action(run.id, 'cancel')).status, 202);
        const stopping = await getRun(run.id);
        assert.equal(stopping.attributes.status, 'applying');
        assert.equal(stopping.attributes.actions['is-force-cancelable'], false, 'not during the cool-off');
        const available = Date.parse(stopping.attributes['force-cancel-available-at']);
        assert.ok(available >= asked + 9_000 && available <= Date.now() + 10_000, stopping.attributes['force-cancel-available-at']);
        assertError(await action(run.id, 'force-cancel'), 409, /may still stop by itself: force-cancel is available from/);
        assert.equal((await getRun(run.id)).attributes.status, 'applying');

        while (Date.now() < available) await sleep(200);
        const ready = await getRun(run.id);
        assert.equal(ready.attributes.status, 'applying', 'the runner is still silent');
        assert.equal(ready.attributes.actions['is-force-cancelable'], true);
        assert.equal((await action(run.id, 'force-cancel')).status, 202);
        const killed = await getRun(run.id);
        assert.equal(killed.attributes.status, 'force_canceled');
        assert.equal((await getWorkspace(ws.id)).attributes.locked, false);
      } finally {
        // The runner comes back, learns its job is over, and leaves.
        agent.child.kill('SIGCONT');
        agent.child.kill('SIGTERM');
        await agent.exited;
      }
    });
  });

  // ------------------------------------------------------------ force-execute

  describe('force-execute', function () {
    it('discards the run holding the workspace and the runs ahead, and plans this one now', async () => {
      const ws = await workspaceWith(ONE_RESOURCE);
      const holder = await createRun(api, ws.id, { 'auto-apply': false });
      await waitForRun(holder.id, ['planned']);
      const ahead = await createRun(api, ws.id);
      const target = await createRun(api, ws.id);
      const behind = await createRun(api, ws.id);
      assert.equal(target.attributes.status, 'pending');
      assert.equal(target.attributes.permissions['can-force-execute'], true);

      const res = await action(target.id, 'force-execute');
      assert.equal(res.status, 202, res.text);
      assert.equal(res.text, '', 'actions answer 202 with no body');
      assert.equal((await getRun(holder.id)).attributes.status, 'discarded');
      assert.equal((await getRun(ahead.id)).attributes.status, 'discarded');
      await waitForRun(target.id, ['planned']);
      const held = await getWorkspace(ws.id);
      assert.equal(held.relationships['locked-by'].data.id, target.id);
      assert.equal(held.relationships['current-run'].data.id, target.id);
      // the run behind it keeps waiting, now behind this one
      assert.equal((await getRun(behind.id)).attributes.status, 'pending');

      // once it is no longer pending, it cannot be force-executed again (403, as TFC)
      assertError(await action(target.id, 'force-execute'), 403, /is planned: only a pending run can be force-executed/);
      assert.equal((await action(target.id, 'discard')).status, 202);
      await waitForRun(behind.id, ['planned']);
      assert.equal((await action(behind.id, 'discard')).status, 202);
    });

    it('refuses (409) when the run holding the workspace is past being discarded, and (403) when no run holds it', async () => {
      const ws = await workspaceWith(fixture('slow-apply', { command: 'sleep 20' }));
      const slow = await createRun(api, ws.id, { 'auto-apply': true });
      await waitForRun(slow.id, ['applying']);
      const waiting = await createRun(api, ws.id);
      assertError(await action(waiting.id, 'force-execute'), 409, new RegExp(`run ${slow.id} holding the workspace is applying and cannot be discarded`));
      assert.equal((await getRun(slow.id)).attributes.status, 'applying');
      assert.equal((await getRun(waiting.id)).attributes.status, 'pending');
      assert.equal((await action(slow.id, 'cancel')).status, 202);
      await waitForRun(slow.id, ['canceled'], 30_000);
      await waitForRun(waiting.id, ['planned']);
      assert.equal((await action(waiting.id, 'discard')).status, 202);

      // a workspace a user locked: the run waits behind no run
      const locked = await workspaceWith(ONE_RESOURCE);
      assert.equal((await api.post(`/workspaces/${locked.id}/actions/lock`, {})).status, 200);
      const behindUser = await createRun(api, locked.id);
      assertError(await action(behindUser.id, 'force-execute'), 403, /is not waiting behind another run: its workspace is locked by a user/);
      assert.equal((await getRun(behindUser.id)).attributes.status, 'pending');
      assert.equal((await action(behindUser.id, 'cancel')).status, 202);
      assert.equal((await api.post(`/workspaces/${locked.id}/actions/unlock`)).status, 200);
    });

    it('answers 404 for unknown runs and other organizations, 403 to a reader, 400 to NUL in the id', async () => {
      const ws = await workspaceWith(ONE_RESOURCE);
      const holder = await createRun(api, ws.id);
      await waitForRun(holder.id, ['planned']);
      const target = await createRun(api, ws.id);
      assertError(await action('run-doesnotexist', 'force-execute'), 404, /run-doesnotexist/);
      assertError(await api.post('/runs/run-%00x/actions/force-execute', {}), 400, /NUL/);
      const stranger = await organizationToken(api, await createOrganization(api));
      assertError(await action(target.id, 'force-execute', stranger), 404, new RegExp(target.id));
      const reader = await userWithAccess(api, org, [ws.id], 'read');
      const seen = await reader.client.get(`/runs/${target.id}`);
      assert.equal(seen.body.data.attributes.permissions['can-force-execute'], false);
      assertError(await action(target.id, 'force-execute', reader.client), 403, /insufficient permissions/);
      assertError(await api.request('POST', `/runs/${target.id}/actions/force-execute`, { raw: '{not json' }), 400, /JSON/);
      // nothing moved
      assert.equal((await getRun(holder.id)).attributes.status, 'planned');
      assert.equal((await getRun(target.id)).attributes.status, 'pending');
      assert.equal((await action(holder.id, 'discard')).status, 202);
      await waitForRun(target.id, ['planned']);
      assert.equal((await action(target.id, 'discard')).status, 202);
    });
  });

  // ------------------------------------------------------------ after a run: workspace and apply

  describe('after an apply', function () {
    it('keeps the run as the workspace’s current run, counts its runs, and the apply names the state it wrote', async () => {
      const ws = await workspaceWith(ONE_RESOURCE);
      const fresh = await getWorkspace(ws.id);
      assert.equal(fresh.relationships['current-run'].data, null);
      assert.equal(fresh.attributes['runs-count'], 0);

      const run = await createRun(api, ws.id, { 'auto-apply': true });
      const applied = await waitForRun(run.id, ['applied']);
      const shown = await getWorkspace(ws.id);
      assert.equal(shown.attributes.locked, false);
      assert.equal(shown.relationships['current-run'].data.id, run.id);
      assert.equal(shown.attributes['runs-count'], 1);
      const listed = await api.get(`/organizations/${org}/workspaces?search[name]=${ws.attributes.name}&include=current_run`);
      assert.equal(listed.status, 200, listed.text);
      const included = (listed.body.included as Json[]).find((r) => r.type === 'runs');
      assert.equal(included?.id, run.id);
      assert.ok(included.attributes.message);

      const apply = await api.get(`/applies/${applied.relationships.apply.data.id}`);
      assert.equal(apply.status, 200, apply.text);
      const current = await api.get(`/workspaces/${ws.id}/current-state-version`);
      assert.deepEqual(
        apply.body.data.relationships['state-versions'].data,
        [{ type: 'state-versions', id: current.body.data.id }],
      );
      assert.equal(apply.body.data.attributes['resource-additions'], 1);
      const plan = await api.get(`/plans/${applied.relationships.plan.data.id}`);
      assert.deepEqual(plan.body.data.relationships.exports.data, []);

      // a plan-only run later is counted, but does not become current
      const speculative = await createRun(api, ws.id, { 'plan-only': true });
      await waitForRun(speculative.id, ['planned_and_finished']);
      const after = await getWorkspace(ws.id);
      assert.equal(after.relationships['current-run'].data.id, run.id);
      assert.equal(after.attributes['runs-count'], 2);

      // somebody who may read runs but not state sees no state versions on the apply
      const team = await createTeam(api, org);
      await grant(api, team.id, ws.id, 'custom', { runs: 'read', 'state-versions': 'none' });
      const runReader = await createUser(api);
      await addToOrganization(api, org, runReader, [team.id]);
      const theirs = await runReader.client.get(`/applies/${applied.relationships.apply.data.id}`);
      assert.equal(theirs.status, 200, theirs.text);
      assert.deepEqual(theirs.body.data.relationships['state-versions'].data, []);
    });
  });
});
