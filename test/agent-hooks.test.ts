// Agent hooks (docs/timeouts-and-hooks.md) as an operator sets them up: executables named as
// Terraform Cloud's agent hooks in a directory given to otf-agent (--hooks-dir) or to otfd for
// its server agent (--server-agent-hooks-dir). Each runs at its point of the run, in the job's
// working directory with the job's environment; its output is in the run's log with sensitive
// values masked; one that fails, runs over its timeout or cannot be run fails its phase.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { killLeftoverAgents, startAgent, type AgentProcess } from './helpers/agent.js';
import type { Api, Json } from './helpers/api.js';
import { maskSecrets } from '../src/agent/hooks.js';
import { alive, assignToPool, createRun, finalLog, poolWithToken, setVariable, uploadConfig, waitForRun } from './helpers/phases.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';
import { suite } from './hooks.js';

const HOOKS = ['terraform-pre-plan', 'terraform-post-plan', 'terraform-pre-apply', 'terraform-post-apply'];

const MAIN_TF = `variable "greeting" {
  type = string
}

variable "secret" {
  type      = string
  sensitive = true
}

resource "terraform_data" "x" {
  input = var.greeting
}
`;

const SECRET = 'hunter2-very-secret-value';

/** A hooks directory whose four hooks write what they see to <dir>/seen/<hook>.env and say hello, secret and all. */
function recordingHooks(): { dir: string; seen: string } {
  const dir = fs.mkdtempSync(path.join(suite().tmp, 'hooks-'));
  const seen = path.join(dir, 'seen');
  fs.mkdirSync(seen);
  for (const name of HOOKS) {
    const script = `#!/bin/sh
{
  echo "cwd=$(pwd)"
  test -f main.tf && echo "config=here"
  env | grep -E '^(TF_VAR_|TFC_RUN_ID|FOO=)' | sort
} > ${seen}/${name}.env
echo ${name} >> ${seen}/order
echo "hello from ${name}; the secret is $TF_VAR_secret"
`;
    fs.writeFileSync(path.join(dir, name), script, { mode: 0o755 });
  }
  return { dir, seen };
}

/** A hooks directory with these scripts (name → body after the shebang; mode 0755 unless given). */
function hooksWith(scripts: Record<string, { body: string; mode?: number }>): string {
  const dir = fs.mkdtempSync(path.join(suite().tmp, 'hooks-'));
  for (const [name, { body, mode }] of Object.entries(scripts)) fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: mode ?? 0o755 });
  return dir;
}

describe('agent hooks', function () {
  this.timeout(120_000);
  let server: TestServer;
  let api: Api;
  let org: string;
  let serverHooks: { dir: string; seen: string };

  before(async () => {
    serverHooks = recordingHooks();
    server = await startServer({ ssl: true, config: { concurrency: 1, serverAgentHooksDir: serverHooks.dir, hookTimeoutMs: 60_000 } });
    api = server.api;
    org = await createOrganization(api);
  });
  after(() => server.stop());
  afterEach(() => killLeftoverAgents());

  /** A workspace with the variables the hooks look for; on the pool when given. */
  async function workspace(poolId?: string): Promise<Json> {
    const ws = await createWorkspace(api, org);
    if (poolId) await assignToPool(api, ws.id, poolId);
    await uploadConfig(api, ws.id, { 'main.tf': MAIN_TF });
    await setVariable(api, ws.id, 'greeting', 'hi there');
    await setVariable(api, ws.id, 'secret', SECRET, { sensitive: true });
    await setVariable(api, ws.id, 'FOO', 'bar', { category: 'env' });
    return ws;
  }

  async function agentWith(args: string[]): Promise<AgentProcess> {
    const { pool, token } = await poolWithToken(api, org);
    const agent = startAgent(server, ['--token', token, ...args]);
    await agent.waitForLog('registered; waiting for jobs');
    (agent as AgentProcess & { poolId?: string }).poolId = pool.id;
    return agent;
  }
  const poolOf = (agent: AgentProcess) => (agent as AgentProcess & { poolId?: string }).poolId!;

  async function expectAllFourRan(seen: string, run: Json, ended: Json): Promise<void> {
    assert.deepEqual(fs.readFileSync(path.join(seen, 'order'), 'utf8').trim().split('\n'), HOOKS);
    for (const name of HOOKS) {
      const env = fs.readFileSync(path.join(seen, `${name}.env`), 'utf8');
      assert.match(env, /^config=here$/m, `${name} ran in the configuration's directory:\n${env}`);
      assert.match(env, /^TF_VAR_greeting=hi there$/m, env);
      assert.match(env, new RegExp(`^TF_VAR_secret=${SECRET}$`, 'm'), env);
      assert.match(env, /^FOO=bar$/m, env);
      assert.match(env, new RegExp(`^TFC_RUN_ID=${run.id}$`, 'm'), env);
    }
    const plan = await finalLog(api, ended, 'plan');
    const apply = await finalLog(api, ended, 'apply');
    for (const [log, names] of [
      [plan, ['terraform-pre-plan', 'terraform-post-plan']],
      [apply, ['terraform-pre-apply', 'terraform-post-apply']],
    ] as const) {
      for (const name of names) assert.match(log, new RegExp(`hello from ${name}; the secret is \\(sensitive value\\)`), log);
      assert.ok(!log.includes(SECRET), `the log shows the secret:\n${log}`);
    }
    // pre-plan comes before the plan's output, post-plan after it.
    assert.ok(plan.indexOf('hello from terraform-pre-plan') < plan.indexOf('Terraform used the selected providers'), plan);
    assert.ok(plan.indexOf('hello from terraform-post-plan') > plan.indexOf('Plan: 1 to add'), plan);
  }

  it("runs each of the four at its point on otfd's server agent, with the job's variables and its secrets masked in the log", async () => {
    const ws = await workspace();
    const run = await createRun(api, ws.id, { 'auto-apply': true });
    const ended = await waitForRun(api, run.id, ['applied']);
    await expectAllFourRan(serverHooks.seen, run, ended);
  });

  it('runs each of the four on a pool agent with --hooks-dir', async () => {
    const hooks = recordingHooks();
    const agent = await agentWith(['--hooks-dir', hooks.dir]);
    const ws = await workspace(poolOf(agent));
    const run = await createRun(api, ws.id, { 'auto-apply': true });
    const ended = await waitForRun(api, run.id, ['applied'], () => agent.describe());
    await expectAllFourRan(hooks.seen, run, ended);
  });

  it('fails the apply when the pre-apply hook fails, with its output in the log, and unlocks the workspace', async () => {
    const dir = hooksWith({ 'terraform-pre-apply': { body: 'echo "refusing: change freeze until Monday"\nexit 3' } });
    const agent = await agentWith(['--hooks-dir', dir]);
    const ws = await workspace(poolOf(agent));
    const run = await createRun(api, ws.id, { 'auto-apply': true });
    const ended = await waitForRun(api, run.id, ['errored'], () => agent.describe());
    assert.match(ended.attributes['error-message'], /the terraform-pre-apply hook failed \(exit code 3\)/);
    const apply = await finalLog(api, ended, 'apply');
    assert.match(apply, /refusing: change freeze until Monday/);
    assert.match(apply, /Error: the terraform-pre-apply hook failed \(exit code 3\)/);
    // It failed before init: nothing was applied.
    assert.doesNotMatch(apply, /Apply complete/);
    assert.equal((await api.get(`/workspaces/${ws.id}`)).body.data.attributes.locked, false);
  });

  it('kills a hook over its timeout, and what it started, and fails the phase', async () => {
    const dir = fs.mkdtempSync(path.join(suite().tmp, 'hooks-'));
    const pids = path.join(dir, 'pids');
    // The hook starts a child of its own and then hangs; both must go.
    fs.writeFileSync(path.join(dir, 'terraform-pre-plan'), `#!/bin/sh\nsleep 600 &\necho $! > ${pids}.child\necho $$ > ${pids}.hook\necho "waiting forever"\nwait\n`, { mode: 0o755 });
    const agent = await agentWith(['--hooks-dir', dir, '--hook-timeout', '2s']);
    const ws = await workspace(poolOf(agent));
    const run = await createRun(api, ws.id);
    const ended = await waitForRun(api, run.id, ['errored'], () => agent.describe());
    assert.match(ended.attributes['error-message'], /the terraform-pre-plan hook ran over its timeout of 2s and was killed/);
    assert.match(await finalLog(api, ended, 'plan'), /waiting forever/);
    for (const which of ['hook', 'child']) {
      const pid = Number(fs.readFileSync(`${pids}.${which}`, 'utf8').trim());
      await until(`the ${which} to be gone`, async () => alive(pid), (a) => !a, 10_000);
    }
    assert.ok(agent.running(), agent.describe());
  });

  it('fails the phase naming a hook that is not executable, and skips hooks that are not there', async () => {
    const dir = hooksWith({ 'terraform-post-plan': { body: 'echo never', mode: 0o644 } });
    const agent = await agentWith(['--hooks-dir', dir]);
    const ws = await workspace(poolOf(agent));
    const run = await createRun(api, ws.id);
    const ended = await waitForRun(api, run.id, ['errored'], () => agent.describe());
    assert.match(ended.attributes['error-message'], new RegExp(`the hook ${path.join(dir, 'terraform-post-plan').replace(/[/.]/g, '\\$&')} is not executable`));
    const plan = await finalLog(api, ended, 'plan');
    // The pre-plan hook is missing: the plan ran all the same, and the post-plan hook stopped it after.
    assert.match(plan, /Plan: 1 to add/);
    assert.doesNotMatch(plan, /never/);
  });
});

describe("masking secrets in a hook's output", () => {
  it('replaces every occurrence, the longest secret first, and leaves values too short to be secrets alone', () => {
    const out = maskSecrets('token abc.def-secret, again abc.def-secret; db pass hunter22; id 7', ['abc.def', 'abc.def-secret', 'hunter22', '7']);
    assert.equal(out, 'token (sensitive value), again (sensitive value); db pass (sensitive value); id 7');
  });
});
