// Pool agents as an operator runs them: real otf-agent processes against otfd over TLS (trusting
// its certificate through NODE_EXTRA_CA_CERTS), executing runs with the terraform on PATH. otfd's
// own server agent is off (concurrency 0), so every job runs on a pool agent. Heartbeats are 1 s
// and the grace period 4 s, so that a lost agent is noticed quickly.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { killLeftoverAgents, startAgent, type AgentProcess } from './helpers/agent.js';
import type { Api, Json } from './helpers/api.js';
import { fixture } from './helpers/fixtures.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { expectCode, terraform, workdir } from './helpers/terraform.js';
import { sleep, until } from './helpers/wait.js';
import { suite } from './hooks.js';

const GRACE_SECONDS = 4;

const FINAL = ['applied', 'planned_and_finished', 'discarded', 'errored', 'canceled', 'force_canceled'];

const ONE_RESOURCE = fixture('one-resource');

/**
 * Creating the resource runs a local-exec that writes its pid to var.pidfile (when given) and
 * sleeps var.pause seconds: a slow apply whose sleeper a test can find.
 */
const SLOW_APPLY = fixture('slow-apply-pidfile-variables');

describe('pool agents (real otf-agent processes over TLS)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let api: Api;
  let org: string;

  before(async () => {
    server = await startServer({ ssl: true, config: { concurrency: 0, agentHeartbeatSeconds: 1, agentGracePeriodSeconds: GRACE_SECONDS } });
    api = server.api;
    org = await createOrganization(api);
  });
  after(() => server.stop());
  afterEach(() => killLeftoverAgents());

  // ------------------------------------------------------------ helpers bound to the server

  async function createPool(attributes: Record<string, unknown> = {}, allowed: string[] = []): Promise<Json> {
    const res = await api.post(`/organizations/${org}/agent-pools`, {
      data: {
        type: 'agent-pools',
        attributes: { name: randomName('pool'), ...attributes },
        relationships: { 'allowed-workspaces': { data: allowed.map((id) => ({ type: 'workspaces', id })) } },
      },
    });
    assert.equal(res.status, 201, res.text);
    return res.body.data;
  }

  async function createToken(poolId: string): Promise<{ id: string; secret: string }> {
    const res = await api.post(`/agent-pools/${poolId}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'ci' } } });
    assert.equal(res.status, 201, res.text);
    return { id: res.body.data.id, secret: res.body.data.attributes.token };
  }

  async function assignToPool(wsId: string, poolId: string): Promise<Json> {
    const res = await api.patch(`/workspaces/${wsId}`, { data: { type: 'workspaces', attributes: { 'execution-mode': 'agent', 'agent-pool-id': poolId } } });
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  async function uploadConfig(wsId: string, mainTf: string): Promise<void> {
    const res = await api.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assert.equal(res.status, 201, res.text);
    const put = await uploadTarball(api, res.body.data, configTarball({ 'main.tf': mainTf }));
    assert.equal(put.status, 200, put.text);
  }

  /** An organization-scoped pool, its agent token, and `count` workspaces on it holding `mainTf`. */
  async function fleet(count: number, mainTf: string): Promise<{ pool: Json; token: string; workspaces: Json[] }> {
    const pool = await createPool();
    const { secret } = await createToken(pool.id);
    const workspaces: Json[] = [];
    for (let i = 0; i < count; i++) {
      const ws = await createWorkspace(api, org);
      await assignToPool(ws.id, pool.id);
      await uploadConfig(ws.id, mainTf);
      workspaces.push(ws);
    }
    return { pool, token: secret, workspaces };
  }

  async function createRun(wsId: string, attributes: Record<string, unknown> = {}): Promise<Json> {
    const res = await api.post('/runs', { data: { type: 'runs', attributes, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } });
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

  async function getAgent(id: string): Promise<Json> {
    const res = await api.get(`/agents/${id}`);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  async function agentsOf(poolId: string): Promise<Json[]> {
    const res = await api.get(`/agent-pools/${poolId}/agents`);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  /** Waits until the run's status is one of `wanted`; fails at once when it ends in another. */
  async function waitForRun(id: string, wanted: string[], agents: AgentProcess[] = [], timeoutMs = 60_000): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = await getRun(id);
      const status: string = run.attributes.status;
      if (wanted.includes(status)) return run;
      const context = () => `${run.attributes['error-message'] ?? ''}\n${agents.map((a) => a.describe()).join('\n')}`;
      if (FINAL.includes(status)) assert.fail(`expected run ${id} to reach ${wanted.join(' or ')}, but it ended ${status}: ${context()}`);
      if (Date.now() > deadline) assert.fail(`run ${id} is still ${status} after ${timeoutMs} ms, waiting for ${wanted.join(' or ')}: ${context()}`);
      if (agents.length && agents.every((a) => !a.running())) assert.fail(`run ${id} is ${status}, waiting for ${wanted.join(' or ')}, but its agents have exited: ${context()}`);
      await sleep(100);
    }
  }

  /** Starts an agent with the token and waits until it has registered; returns it and its id. */
  async function runningAgent(token: string, args: string[] = []): Promise<{ proc: AgentProcess; id: string; name: string }> {
    const proc = startAgent(server, ['--token', token, ...args]);
    const registered = await proc.waitForLog('registered; waiting for jobs');
    return { proc, id: registered.agent, name: registered.name };
  }

  /** The jobs an agent's log says it finished: run, phase and status of each. */
  function finishedJobs(proc: AgentProcess): Array<{ job: string; run: string; phase: string; status: string }> {
    return proc.logs().filter((l) => l.msg === 'job finished').map((l) => ({ job: l.job, run: l.run, phase: l.phase, status: l.status }));
  }
  /**
   * The jobs of `runId` in an agent's log, once it shows `count` of them: a run reads applied as
   * soon as otfd has the outcome, and the agent logs the job a moment later.
   */
  function loggedJobs(proc: AgentProcess, runId: string, count = 2): Promise<Array<{ job: string; run: string; phase: string; status: string }>> {
    return until(`${count} jobs of ${runId} in the agent's log`, async () => finishedJobs(proc).filter((j) => j.run === runId), (j) => j.length >= count, 10_000);
  }


  async function currentState(wsId: string): Promise<Json> {
    const current = await api.get(`/workspaces/${wsId}/current-state-version`);
    assert.equal(current.status, 200, current.text);
    const download = await api.get(current.body.data.attributes['hosted-state-download-url']);
    assert.equal(download.status, 200, download.text);
    return JSON.parse(download.text);
  }

  // ------------------------------------------------------------ the walkthrough

  describe('the walkthrough: a private pool serving one workspace', () => {
    const wsName = randomName('ws');
    let ws: Json;
    let pool: Json;
    let token: { id: string; secret: string };

    it('create a pool, grant it a workspace, assign the workspace, create a token; the agent started with it shows idle; terraform apply runs on it and the state is saved', async () => {
      ws = await createWorkspace(api, org, wsName);
      pool = await createPool({ 'organization-scoped': false }, [ws.id]);
      assert.deepEqual(pool.relationships['allowed-workspaces'].data.map((w: Json) => w.id), [ws.id]);
      const assigned = await assignToPool(ws.id, pool.id);
      assert.equal(assigned.attributes['execution-mode'], 'agent');
      assert.equal(assigned.relationships['agent-pool'].data.id, pool.id);
      token = await createToken(pool.id);
      assert.match(token.secret, /^at-/);

      const agent = await runningAgent(token.secret);
      const shown = await getAgent(agent.id);
      assert.equal(shown.attributes.status, 'idle');
      assert.equal(shown.attributes.name, agent.name);
      assert.equal(shown.relationships['agent-pool'].data.id, pool.id);

      const dir = workdir({
        'main.tf': `terraform {
  cloud {
    hostname     = "${server.hostname}"
    organization = "${org}"
    workspaces {
      name = "${wsName}"
    }
  }
}
${ONE_RESOURCE}`,
      });
      expectCode(await terraform(server, dir, ['init', '-input=false']), 0);
      const apply = await terraform(server, dir, ['apply', '-auto-approve', '-input=false']);
      expectCode(apply, 0);
      assert.match(apply.output, /Running apply in HCP Terraform/);
      assert.match(apply.output, /Apply complete! Resources: 1 added, 0 changed, 0 destroyed/);
      assert.match(apply.output, /x = "hello"/);

      const runs = (await api.get(`/workspaces/${ws.id}/runs`)).body.data;
      assert.equal(runs.length, 1);
      assert.equal(runs[0].attributes.status, 'applied');
      // The agent's log shows it ran both jobs of the run.
      const jobs = await loggedJobs(agent.proc, runs[0].id);
      assert.deepEqual(jobs.map((j) => `${j.phase} ${j.status}`).sort(), ['apply finished', 'plan finished'], agent.proc.describe());
      const state = await currentState(ws.id);
      assert.deepEqual(state.resources.map((r: Json) => `${r.type}.${r.name}`), ['terraform_data.x']);
      assert.equal((await getWorkspace(ws.id)).attributes.locked, false);
      await until('the agent to be idle again', () => getAgent(agent.id), (a) => a.attributes.status === 'idle');

      agent.proc.child.kill('SIGTERM');
      assert.deepEqual(await agent.proc.exited, { code: 0, signal: null }, agent.proc.describe());
    });

    it('with no agent running, a run waits in plan_queued until an agent starts', async () => {
      assert.deepEqual((await agentsOf(pool.id)).map((a) => a.attributes.status), ['exited']);
      await uploadConfig(ws.id, ONE_RESOURCE.replace('hello', 'again'));
      const run = await createRun(ws.id, { 'auto-apply': true });
      await waitForRun(run.id, ['plan_queued']);
      // Nobody takes it: two heartbeats later it is still queued.
      await sleep(2000);
      assert.equal((await getRun(run.id)).attributes.status, 'plan_queued');

      const agent = await runningAgent(token.secret);
      await waitForRun(run.id, ['applied'], [agent.proc]);
      assert.deepEqual((await loggedJobs(agent.proc, run.id)).map((j) => `${j.run} ${j.phase} ${j.status}`).sort(), [`${run.id} apply finished`, `${run.id} plan finished`]);
      const outputs = await api.get(`/workspaces/${ws.id}/current-state-version-outputs`);
      assert.deepEqual(outputs.body.data.map((o: Json) => [o.attributes.name, o.attributes.value]), [['x', 'again']]);
    });
  });

  // ------------------------------------------------------------ several agents

  it('two agents serve six runs on six workspaces of one pool: every run is applied, every job ran exactly once, both agents did work', async () => {
    const { pool, token, workspaces } = await fleet(6, ONE_RESOURCE);
    const a = await runningAgent(token);
    const b = await runningAgent(token);
    assert.equal((await agentsOf(pool.id)).filter((x) => x.attributes.status === 'idle').length, 2);

    const runs = await Promise.all(workspaces.map((ws) => createRun(ws.id, { 'auto-apply': true })));
    for (const run of runs) await waitForRun(run.id, ['applied'], [a.proc, b.proc], 90_000);
    await until('both agents to log all twelve jobs', async () => finishedJobs(a.proc).length + finishedJobs(b.proc).length, (n) => n >= 12, 10_000);

    const jobsA = finishedJobs(a.proc);
    const jobsB = finishedJobs(b.proc);
    const all = [...jobsA, ...jobsB];
    const explain = `${a.proc.describe()}\n${b.proc.describe()}`;
    assert.equal(new Set(all.map((j) => j.job)).size, all.length, `a job ran twice:\n${explain}`);
    for (const run of runs) {
      const phases = all.filter((j) => j.run === run.id).map((j) => `${j.phase} ${j.status}`).sort();
      assert.deepEqual(phases, ['apply finished', 'plan finished'], `jobs of ${run.id}:\n${explain}`);
    }
    assert.equal(all.length, 12);
    assert.ok(jobsA.length > 0 && jobsB.length > 0, `both agents ran jobs (${jobsA.length} and ${jobsB.length}):\n${explain}`);
    // Each agent's log counts its jobs as started once.
    const started = [...a.proc.logs(), ...b.proc.logs()].filter((l) => l.msg === 'running job').map((l) => l.job);
    assert.deepEqual([...started].sort(), all.map((j) => j.job).sort());
  });

  // ------------------------------------------------------------ losing an agent

  it('an agent killed with SIGKILL during a slow apply: the run ends errored naming the agent, the workspace unlocks within the grace period, and a second agent serves the next run', async () => {
    const { pool, token, workspaces } = await fleet(1, SLOW_APPLY);
    const ws = workspaces[0];
    const pidfile = path.join(suite().tmp, `${randomName('sleeper')}.pid`);
    const first = await runningAgent(token);
    const run = await createRun(ws.id, {
      'auto-apply': true,
      variables: [
        { key: 'pause', value: '60' },
        { key: 'pidfile', value: JSON.stringify(pidfile) },
      ],
    });
    await waitForRun(run.id, ['applying'], [first.proc]);
    await until('the apply to be in its slow provisioner', async () => fs.existsSync(pidfile) && fs.readFileSync(pidfile, 'utf8').trim() !== '', (v) => v);
    const sleeper = Number(fs.readFileSync(pidfile, 'utf8').trim());
    try {
      first.proc.child.kill('SIGKILL');
      await first.proc.exited;

      const errored = await until(
        'the run of the lost agent to end',
        () => getRun(run.id),
        (r) => FINAL.includes(r.attributes.status),
        (GRACE_SECONDS + 10) * 1000,
      );
      assert.equal(errored.attributes.status, 'errored');
      assert.match(errored.attributes['error-message'], new RegExp(`agent "${first.name}"`));
      assert.match(errored.attributes['error-message'], new RegExp(first.id));
      assert.equal((await getWorkspace(ws.id)).attributes.locked, false, 'the workspace is free again');
      assert.equal((await getAgent(first.id)).attributes.status, 'errored');
    } finally {
      // The orphaned engine of the killed agent ends once its sleeper is gone.
      try {
        process.kill(sleeper, 'SIGKILL');
      } catch {
        // gone already
      }
    }

    const second = await runningAgent(token);
    const next = await createRun(ws.id, { 'auto-apply': true });
    await waitForRun(next.id, ['applied'], [second.proc]);
    const jobs = await loggedJobs(second.proc, next.id);
    assert.deepEqual(jobs.map((j) => `${j.run} ${j.phase}`).sort(), [`${next.id} apply`, `${next.id} plan`]);
    assert.equal((await getWorkspace(ws.id)).attributes.locked, false);
    assert.equal((await agentsOf(pool.id)).length, 2);
  });

  it('an agent paused past the grace period (SIGSTOP) registers again in its own name when it resumes (SIGCONT) and serves the next run', async () => {
    const { pool, token, workspaces } = await fleet(1, ONE_RESOURCE);
    const agent = await runningAgent(token, ['--name', 'sleepy-runner-01']);
    agent.proc.child.kill('SIGSTOP');
    try {
      await until('the paused agent to be marked errored', () => getAgent(agent.id), (a) => a.attributes.status === 'errored', (GRACE_SECONDS + 10) * 1000);
    } finally {
      agent.proc.child.kill('SIGCONT');
    }
    const again = await agent.proc.waitForLog((l) => l.msg === 'registered; waiting for jobs' && l.agent !== agent.id);
    assert.equal(again.name, 'sleepy-runner-01');
    const run = await createRun(workspaces[0].id, { 'auto-apply': true });
    await waitForRun(run.id, ['applied'], [agent.proc]);
    assert.ok(agent.proc.running(), agent.proc.describe());
    assert.deepEqual((await loggedJobs(agent.proc, run.id)).map((j) => `${j.run} ${j.phase}`).sort(), [`${run.id} apply`, `${run.id} plan`]);
    // The agent reports itself idle at its next contact after the apply, which may come just after the run shows applied.
    const statuses = async () => (await agentsOf(pool.id)).map((a) => `${a.attributes.name} ${a.attributes.status}`).sort();
    const settled = await until('the agent to be idle again', statuses, (s) => !s.some((x) => x.endsWith(' busy')), 5_000);
    assert.deepEqual(settled, ['sleepy-runner-01 exited', 'sleepy-runner-01 idle']);
  });

  // ------------------------------------------------------------ leaving as promised

  it('SIGTERM during a job lets the job finish, then the agent deregisters, exits 0 and shows exited', async () => {
    const { token, workspaces } = await fleet(1, SLOW_APPLY);
    const agent = await runningAgent(token);
    const run = await createRun(workspaces[0].id, { 'auto-apply': true, variables: [{ key: 'pause', value: '3' }] });
    await waitForRun(run.id, ['applying'], [agent.proc]);
    agent.proc.child.kill('SIGTERM');
    await agent.proc.waitForLog('stopping: no more jobs; waiting for running ones to finish');
    const exit = await agent.proc.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, agent.proc.describe());
    // The job was done before the agent left.
    assert.equal((await getRun(run.id)).attributes.status, 'applied');
    assert.deepEqual(finishedJobs(agent.proc).map((j) => `${j.phase} ${j.status}`).sort(), ['apply finished', 'plan finished']);
    assert.equal((await getAgent(agent.id)).attributes.status, 'exited');
  });

  it('a second SIGTERM cancels the running job: the run ends canceled and the agent exits 0', async () => {
    const { token, workspaces } = await fleet(1, SLOW_APPLY);
    const pidfile = path.join(suite().tmp, `${randomName('sleeper')}.pid`);
    const agent = await runningAgent(token);
    const run = await createRun(workspaces[0].id, {
      'auto-apply': true,
      variables: [
        { key: 'pause', value: '60' },
        { key: 'pidfile', value: JSON.stringify(pidfile) },
      ],
    });
    await until('the apply to be in its slow provisioner', async () => fs.existsSync(pidfile) && fs.readFileSync(pidfile, 'utf8').trim() !== '', (v) => v);
    agent.proc.child.kill('SIGTERM');
    await agent.proc.waitForLog('stopping: no more jobs; waiting for running ones to finish');
    agent.proc.child.kill('SIGTERM');
    const exit = await agent.proc.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, agent.proc.describe());
    assert.equal((await getRun(run.id)).attributes.status, 'canceled');
    assert.deepEqual(finishedJobs(agent.proc).map((j) => `${j.phase} ${j.status}`).sort(), ['apply canceled', 'plan finished']);
    assert.equal((await getAgent(agent.id)).attributes.status, 'exited');
    assert.equal((await getWorkspace(workspaces[0].id)).attributes.locked, false);
  });

  it('--disconnect-after-job runs one job, then exits 0 and shows exited; the next job waits for another agent', async () => {
    const { token, workspaces } = await fleet(2, ONE_RESOURCE);
    const agent = await runningAgent(token, ['--disconnect-after-job']);
    const runs = await Promise.all(workspaces.map((ws) => createRun(ws.id, { 'plan-only': true })));
    const exit = await agent.proc.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, agent.proc.describe());
    const done = finishedJobs(agent.proc);
    assert.equal(done.length, 1, agent.proc.describe());
    const served = runs.find((r) => r.id === done[0].run)!;
    const other = runs.find((r) => r.id !== done[0].run)!;
    assert.equal((await getRun(served.id)).attributes.status, 'planned_and_finished');
    assert.equal((await getRun(other.id)).attributes.status, 'plan_queued');
    assert.equal((await getAgent(agent.id)).attributes.status, 'exited');
  });

  it("a workspace that follows its organization's default execution mode runs on the default pool, and off it once the default is remote", async () => {
    const own = await createOrganization(api);
    const created = await api.post(`/organizations/${own}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } });
    assert.equal(created.status, 201, created.text);
    const pool = created.body.data.id;
    const defaults = (mode: string, poolId: string | null) => ({
      data: { type: 'organizations', attributes: { 'default-execution-mode': mode }, relationships: { 'default-agent-pool': { data: poolId && { type: 'agent-pools', id: poolId } } } },
    });
    assert.equal((await api.patch(`/organizations/${own}`, defaults('agent', pool))).status, 200);
    const ws = await createWorkspace(api, own);
    assert.deepEqual(ws.attributes['setting-overwrites'], { 'execution-mode': false, 'agent-pool': false });
    assert.equal(ws.relationships['agent-pool'].data.id, pool);
    await uploadConfig(ws.id, ONE_RESOURCE);
    const agent = await runningAgent((await createToken(pool)).secret);

    const onPool = await createRun(ws.id, { 'plan-only': true });
    await waitForRun(onPool.id, ['planned_and_finished'], [agent.proc]);
    assert.deepEqual((await loggedJobs(agent.proc, onPool.id, 1)).map((j) => j.phase), ['plan']);

    // The default changes: the workspace follows, and its next run is the server agent's (off in
    // this file), so it waits in plan_queued while the pool's agent stays idle.
    assert.equal((await api.patch(`/organizations/${own}`, defaults('remote', null))).status, 200);
    const shown = await getWorkspace(ws.id);
    assert.equal(shown.attributes['execution-mode'], 'remote');
    assert.equal(shown.relationships['agent-pool'].data, null);
    const offPool = await createRun(ws.id, { 'plan-only': true });
    await waitForRun(offPool.id, ['plan_queued']);
    await sleep(2000);
    assert.equal((await getRun(offPool.id)).attributes.status, 'plan_queued');
    assert.deepEqual(finishedJobs(agent.proc).filter((j) => j.run === offPool.id), []);
    assert.equal((await getAgent(agent.id)).attributes.status, 'idle');
    const cancel = await api.post(`/runs/${offPool.id}/actions/cancel`);
    assert.equal(cancel.status, 202, cancel.text);
  });

  it('--idle-timeout (here OTF_AGENT_IDLE_TIMEOUT) exits 0 after that many seconds without a job and shows exited', async () => {
    const { token } = await fleet(0, ONE_RESOURCE);
    // Set through OTF_AGENT_ variables this time, as a service manager might.
    const proc = startAgent(server, [], { OTF_AGENT_TOKEN: token, OTF_AGENT_IDLE_TIMEOUT: '1' });
    const registered = await proc.waitForLog('registered; waiting for jobs');
    const exit = await proc.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, proc.describe());
    assert.ok(proc.logs().some((l) => l.msg === 'idle timeout reached'), proc.describe());
    assert.equal((await getAgent(registered.agent)).attributes.status, 'exited');
  });

  it('deleting its agent token stops a running agent with exit code 1 and a message saying the token was refused; it is listed exited, and stays so past the grace period', async () => {
    const { pool } = await fleet(0, ONE_RESOURCE);
    const token = await createToken(pool.id);
    const agent = await runningAgent(token.secret);
    assert.equal((await api.delete(`/authentication-tokens/${token.id}`)).status, 204);
    const exit = await agent.proc.exited;
    assert.deepEqual(exit, { code: 1, signal: null }, agent.proc.describe());
    const stderr = agent.proc.stderr().trimEnd().split('\n');
    assert.equal(stderr.length, 1, agent.proc.describe());
    assert.match(stderr[0], /^otf-agent: the server refused the agent's credentials: .*agent token .* has been deleted/);
    assert.equal((await getAgent(agent.id)).attributes.status, 'exited');
    await sleep((GRACE_SECONDS + 2) * 1000);
    assert.equal((await getAgent(agent.id)).attributes.status, 'exited', 'not written off as errored');
  });

  it('deleting its agent token during a slow apply: the run ends errored saying so, the workspace unlocks, the agent is listed exited, and the stopped apply\'s state is kept on its disk', async () => {
    const { pool, workspaces } = await fleet(1, SLOW_APPLY);
    const token = await createToken(pool.id);
    const dataDir = fs.mkdtempSync(path.join(suite().tmp, 'agent-data-'));
    const agent = await runningAgent(token.secret, ['--data-dir', dataDir]);
    const pidfile = path.join(dataDir, 'sleeper.pid');
    const run = await createRun(workspaces[0].id, { 'auto-apply': true, variables: [{ key: 'pause', value: '30' }, { key: 'pidfile', value: JSON.stringify(pidfile) }] });
    await waitForRun(run.id, ['applying'], [agent.proc]);
    // The apply is under way: its provisioner runs, so stopping it now leaves a (tainted) resource in the state.
    await until('the provisioner to run', async () => fs.existsSync(pidfile) && fs.readFileSync(pidfile, 'utf8').trim() !== '', (v) => v, 30_000);
    assert.equal((await api.delete(`/authentication-tokens/${token.id}`)).status, 204);
    assert.deepEqual(await agent.proc.exited, { code: 1, signal: null }, agent.proc.describe());
    const ended = await until('the run to end', () => getRun(run.id), (r) => FINAL.includes(r.attributes.status), 10_000);
    assert.equal(ended.attributes.status, 'errored');
    assert.match(ended.attributes['error-message'], /agent token .* was deleted/);
    assert.equal((await getWorkspace(workspaces[0].id)).attributes.locked, false);
    assert.equal((await getAgent(agent.id)).attributes.status, 'exited');
    // The engine was interrupted, not killed outright, and what it left went to the outbox before
    // the job folder went: nobody can deliver it with a deleted token, but it is not lost.
    const kept = fs.readdirSync(path.join(dataDir, 'outbox')).filter((f) => f.endsWith('.tfstate'));
    assert.equal(kept.length, 1, `${fs.readdirSync(path.join(dataDir, 'outbox')).join(', ')}\n${agent.proc.describe()}`);
  });

  // ------------------------------------------------------------ bad input

  describe('bad input to otf-agent is refused with one line and registers nothing', () => {
    let pool: Json;
    let token: string;

    before(async () => {
      pool = await createPool();
      token = (await createToken(pool.id)).secret;
    });

    async function refused(args: string[], pattern: RegExp): Promise<void> {
      const proc = startAgent(server, args);
      const exit = await proc.exited;
      assert.deepEqual(exit, { code: 1, signal: null }, proc.describe());
      const stderr = proc.stderr().trimEnd().split('\n');
      assert.equal(stderr.length, 1, proc.describe());
      assert.match(stderr[0], /^otf-agent: /);
      assert.match(stderr[0], pattern);
      assert.doesNotMatch(proc.stderr(), /\n\s+at /, 'no stack trace');
    }

    it('a name of 5 characters', async () => {
      await refused(['--token', token, '--name', 'abcde'], /--name: "abcde" must be 8 to 80 letters, digits, "-", "_" or "\."/);
      assert.deepEqual(await agentsOf(pool.id), []);
    });

    it('an unknown agent token', async () => {
      await refused(['--token', `${token.split('.')[0]}.not-the-secret`], /the server refused the agent token/);
      assert.deepEqual(await agentsOf(pool.id), []);
    });

    it('the name of a live agent of the pool', async () => {
      const live = await runningAgent(token, ['--name', 'build-runner-01']);
      await refused(['--token', token, '--name', 'build-runner-01'], /registration refused: .*agent name "build-runner-01" is in use by live agent/);
      const agents = await agentsOf(pool.id);
      assert.deepEqual(agents.map((a) => a.id), [live.id]);
      assert.equal(agents[0].attributes.status, 'idle');
      assert.ok(live.proc.running(), 'the live agent carries on');
    });
  });
});
