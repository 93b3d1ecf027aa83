// Variable sets in real runs: a set applied to a project feeds a run on a pool agent (a real
// otf-agent running the terraform on PATH), a workspace variable of the same key beats it, a
// priority set beats the workspace and the run's own variable; a sensitive set variable reaches
// terraform yet appears in no API answer, no run log and neither otfd's nor the agent's log. A
// global set feeds a run on otfd's own server agent too.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createLogger } from '../src/logger.js';
import { killLeftoverAgents, startAgent } from './helpers/agent.js';
import type { Api, Json } from './helpers/api.js';
import { assertStatus } from './helpers/assert.js';
import { fixture } from './helpers/fixtures.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { configTarball, rawRequest, uploadTarball } from './helpers/tarball.js';
import { sleep, until } from './helpers/wait.js';

const CONFIG = fixture('variable-set-precedence');
const FINAL = ['applied', 'planned_and_finished', 'discarded', 'errored', 'canceled', 'force_canceled'];
const PHASE_DONE = ['finished', 'errored', 'canceled', 'unreachable'];

/** otfd at debug level, every line it logs kept as text. */
async function serverWithLog(config: Record<string, unknown>): Promise<{ server: TestServer; log: () => string }> {
  let text = '';
  const logger = createLogger('debug', 'otfd', { write: (line: string) => void (text += line) });
  const server = await startServer({ ssl: true, config, logger });
  return { server, log: () => text };
}

/** Helpers bound to one server's site-admin client. */
function client(api: Api) {
  async function post(path: string, doc: Json, status = 201): Promise<Json> {
    const res = await api.post(path, doc);
    assertStatus(res, status);
    return res.body?.data;
  }
  return {
    post,
    async createSet(org: string, attributes: Record<string, unknown>): Promise<Json> {
      return post(`/organizations/${org}/varsets`, { data: { type: 'varsets', attributes: { name: randomName('set'), global: false, ...attributes } } });
    },
    async setVar(setId: string, key: string, value: string, extra: Record<string, unknown> = {}): Promise<Json> {
      return post(`/varsets/${setId}/relationships/vars`, { data: { type: 'vars', attributes: { key, value, category: 'terraform', ...extra } } });
    },
    async workspaceVar(wsId: string, key: string, value: string): Promise<Json> {
      return post(`/workspaces/${wsId}/vars`, { data: { type: 'vars', attributes: { key, value, category: 'terraform' } } });
    },
    async uploadConfig(wsId: string): Promise<void> {
      const cv = await post(`/workspaces/${wsId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
      const put = await uploadTarball(api, cv, configTarball({ 'main.tf': CONFIG }));
      assertStatus(put, 200);
    },
    async createRun(wsId: string, attributes: Record<string, unknown>): Promise<Json> {
      return post('/runs', { data: { type: 'runs', attributes, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } });
    },
    /** Waits until the run is applied; fails at once when it ends otherwise. */
    async applied(runId: string, context: () => string = () => ''): Promise<Json> {
      const deadline = Date.now() + 90_000;
      for (;;) {
        const run = (await api.get(`/runs/${runId}`)).body.data;
        const status: string = run.attributes.status;
        if (status === 'applied') return run;
        if (FINAL.includes(status)) assert.fail(`run ${runId} ended ${status}: ${await this.logs(run)}\n${context()}`);
        if (Date.now() > deadline) assert.fail(`run ${runId} is still ${status}\n${context()}`);
        await sleep(200);
      }
    },
    /** The plan and apply logs of a run, as the CLI reads them. */
    async logs(run: Json): Promise<string> {
      let out = '';
      for (const [kind, id] of [
        ['plans', run.relationships.plan.data.id],
        ['applies', run.relationships.apply.data.id],
      ]) {
        const phase = await until(`${kind}/${id} to end`, async () => (await api.get(`/${kind}/${id}`)).body.data, (d) => PHASE_DONE.includes(d.attributes.status) || d.attributes.status === 'pending', 30_000);
        if (phase.attributes.status === 'pending') continue;
        const res = await rawRequest(api, 'GET', phase.attributes['log-read-url']);
        assertStatus(res, 200);
        out += res.text;
      }
      return out;
    },
    async outputs(wsId: string): Promise<Record<string, unknown>> {
      const res = await api.get(`/workspaces/${wsId}/current-state-version-outputs`);
      assertStatus(res, 200);
      return Object.fromEntries(res.body.data.map((o: Json) => [o.attributes.name, o.attributes.value]));
    },
  };
}

describe('variable sets in runs', function () {
  this.timeout(180_000);
  afterEach(() => killLeftoverAgents());

  describe('on a pool agent', () => {
    let server: TestServer;
    let otfdLog: () => string;
    before(async () => {
      ({ server, log: otfdLog } = await serverWithLog({ concurrency: 0, agentHeartbeatSeconds: 1 }));
    });
    after(() => server?.stop());

    it('a set applied to the project feeds the run; the workspace variable of the same key wins over it; a priority set beats the workspace and the run; the sensitive value is in no answer or log', async () => {
      const api = server.api;
      const c = client(api);
      const org = await createOrganization(api);
      const project = await c.post(`/organizations/${org}/projects`, { data: { type: 'projects', attributes: { name: randomName('prj') } } });
      const pool = await c.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } });
      const token = await c.post(`/agent-pools/${pool.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'varsets' } } });
      const ws = await createWorkspace(api, org, randomName('ws'), { 'execution-mode': 'agent', 'agent-pool-id': pool.id });
      assertStatus(await api.patch(`/workspaces/${ws.id}`, { data: { type: 'workspaces', relationships: { project: { data: { type: 'projects', id: project.id } } } } }), 200);

      const secret = `s3cr3t-${crypto.randomBytes(12).toString('hex')}`;
      const projectSet = await c.createSet(org, { name: 'b-project-set' });
      await c.setVar(projectSet.id, 'from_project_set', 'project-set');
      await c.setVar(projectSet.id, 'workspace_beats_set', 'project-set');
      await c.setVar(projectSet.id, 'priority_beats_all', 'project-set');
      await c.setVar(projectSet.id, 'TF_VAR_from_env_set', 'env-of-project-set', { category: 'env' });
      const sensitive = await c.setVar(projectSet.id, 'secret', secret, { sensitive: true });
      assertStatus(await api.post(`/varsets/${projectSet.id}/relationships/projects`, { data: [{ type: 'projects', id: project.id }] }), 204);

      await c.workspaceVar(ws.id, 'workspace_beats_set', 'workspace');
      await c.workspaceVar(ws.id, 'priority_beats_all', 'workspace');

      const prioritySet = await c.createSet(org, { name: 'a-priority-set', global: true, priority: true });
      await c.setVar(prioritySet.id, 'priority_beats_all', 'priority-set');

      await c.uploadConfig(ws.id);
      const run = await c.createRun(ws.id, { 'auto-apply': true, variables: [{ key: 'priority_beats_all', value: '"run"' }] });
      const agent = startAgent(server, ['--token', token.attributes.token]);
      await c.applied(run.id, () => agent.describe());

      assert.deepEqual(await c.outputs(ws.id), {
        from_project_set: 'project-set',
        workspace_beats_set: 'workspace',
        priority_beats_all: 'priority-set',
        from_env_set: 'env-of-project-set',
        secret_length: secret.length,
      });
      await until('the agent to log both jobs', async () => agent.logs().filter((l) => l.msg === 'job finished' && l.run === run.id).length, (n) => n === 2, 10_000);

      // The sensitive value: in no API answer, no run log, neither log.
      const answers = [
        await api.get(`/varsets/${projectSet.id}?include=vars,workspaces,projects`),
        await api.get(`/varsets/${projectSet.id}/relationships/vars`),
        await api.get(`/varsets/${projectSet.id}/relationships/vars/${sensitive.id}`),
        await api.get(`/organizations/${org}/varsets?include=vars`),
        await api.get(`/workspaces/${ws.id}/varsets?include=vars`),
        await api.get(`/projects/${project.id}/varsets?include=vars`),
        await api.get(`/runs/${run.id}`),
        await api.get(`/workspaces/${ws.id}/current-state-version-outputs`),
        await api.get(`/workspaces/${ws.id}/vars`),
      ];
      for (const res of answers) {
        assertStatus(res, 200);
        assert.ok(!res.text.includes(secret), `the secret is in an API answer: ${res.text}`);
      }
      const current = await api.get(`/workspaces/${ws.id}/current-state-version`);
      const state = await api.get(current.body.data.attributes['hosted-state-download-url']);
      assertStatus(state, 200);
      assert.ok(!state.text.includes(secret), 'the secret is not in the state');
      const logs = await c.logs((await api.get(`/runs/${run.id}`)).body.data);
      assert.match(logs, /Apply complete!/);
      assert.ok(!logs.includes(secret), 'the secret is not in the run logs');
      assert.match(otfdLog(), /"msg"/, 'otfd logged at debug level');
      assert.ok(!otfdLog().includes(secret), "the secret is not in otfd's log");
      assert.ok(agent.lines().length > 0, 'the agent logged');
      assert.ok(!agent.lines().join('\n').includes(secret), "the secret is not in the agent's log");

      agent.child.kill('SIGTERM');
      await agent.exited;
    });
  });

  describe("on otfd's server agent", () => {
    let server: TestServer;
    let otfdLog: () => string;
    before(async () => {
      ({ server, log: otfdLog } = await serverWithLog({ concurrency: 1 }));
    });
    after(() => server?.stop());

    it('a global set feeds the run; a workspace-scoped set beats it; deleting the set takes its variables out of the next run', async () => {
      const api = server.api;
      const c = client(api);
      const org = await createOrganization(api);
      const ws = await createWorkspace(api, org);
      const secret = `s3cr3t-${crypto.randomBytes(12).toString('hex')}`;
      const global = await c.createSet(org, { name: 'a-global', global: true });
      for (const key of ['from_project_set', 'workspace_beats_set', 'priority_beats_all']) await c.setVar(global.id, key, 'global');
      await c.setVar(global.id, 'TF_VAR_from_env_set', 'env-global', { category: 'env' });
      await c.setVar(global.id, 'secret', secret, { sensitive: true });
      const onWorkspace = await c.createSet(org, { name: 'z-on-workspace' });
      await c.setVar(onWorkspace.id, 'workspace_beats_set', 'workspace-set');
      assertStatus(await api.post(`/varsets/${onWorkspace.id}/relationships/workspaces`, { data: [{ type: 'workspaces', id: ws.id }] }), 204);

      await c.uploadConfig(ws.id);
      const run = await c.createRun(ws.id, { 'auto-apply': true });
      await c.applied(run.id);
      assert.deepEqual(await c.outputs(ws.id), {
        from_project_set: 'global',
        workspace_beats_set: 'workspace-set',
        priority_beats_all: 'global',
        from_env_set: 'env-global',
        secret_length: secret.length,
      });
      assert.ok(!otfdLog().includes(secret), "the secret is not in otfd's log");

      // Without the global set the configuration's variables have no value: the next plan fails.
      assertStatus(await api.delete(`/varsets/${global.id}`), 204);
      const next = await c.createRun(ws.id, { 'auto-apply': true });
      const ended = await until('the run to end', async () => (await api.get(`/runs/${next.id}`)).body.data, (r) => FINAL.includes(r.attributes.status), 60_000);
      assert.equal(ended.attributes.status, 'errored');
      assert.match(await c.logs(ended), /No value for required variable/);
    });
  });
});
