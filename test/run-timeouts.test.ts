// Plan and apply timeouts as an operator sees them (docs/timeouts-and-hooks.md): organizations
// and workspaces set them (bad values refused with a 422 that says why), the runner interrupts an
// engine that runs over and the run ends errored saying it timed out, with its workspace unlocked,
// on otfd's server agent and on a real otf-agent alike; and when the runner itself hangs, otfd's
// backstop ends the run. One otfd over TLS (pool agents trust its certificate), its server agent on.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { killLeftoverAgents, startAgent } from './helpers/agent.js';
import type { Api, Json } from './helpers/api.js';
import { fixture, fixtureFiles } from './helpers/fixtures.js';
import { alive, assignToPool, createRun, finalLog, getRun, poolWithToken, setVariable, uploadConfig, waitForRun } from './helpers/phases.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { sleep, until } from './helpers/wait.js';
import { suite } from './hooks.js';

describe('plan and apply timeouts', function () {
  this.timeout(120_000);
  let server: TestServer;
  let api: Api;
  let org: string;

  before(async () => {
    // The backstop's margin is short here, and the agents' grace period long, so that a hung agent
    // is ended by the backstop (a timeout) rather than written off as lost.
    server = await startServer({ ssl: true, config: { concurrency: 2, agentHeartbeatSeconds: 1, agentGracePeriodSeconds: 120, timeoutBackstopMarginMs: 2000 } });
    api = server.api;
    org = await createOrganization(api);
  });
  after(() => server.stop());
  afterEach(() => killLeftoverAgents());

  const orgAttributes = async (attributes: Record<string, unknown>) =>
    api.patch(`/organizations/${org}`, { data: { type: 'organizations', attributes } });

  describe('setting them', () => {
    it('takes seconds or a duration on organizations and workspaces, and null to follow the level above', async () => {
      let res = await orgAttributes({ 'plan-timeout': '30m', 'apply-timeout': 5400 });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.data.attributes['plan-timeout'], 1800);
      assert.equal(res.body.data.attributes['apply-timeout'], 5400);
      const ws = await createWorkspace(api, org, undefined, { 'apply-timeout': '90s' });
      assert.equal(ws.attributes['apply-timeout'], 90);
      assert.equal(ws.attributes['plan-timeout'], null);
      res = await api.patch(`/workspaces/${ws.id}`, { data: { type: 'workspaces', attributes: { 'apply-timeout': null, 'plan-timeout': '2h' } } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.data.attributes['apply-timeout'], null);
      assert.equal(res.body.data.attributes['plan-timeout'], 7200);
      res = await orgAttributes({ 'plan-timeout': null, 'apply-timeout': null });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.data.attributes['plan-timeout'], null);
    });

    it('refuses 0, negative, absurdly large and non-numeric timeouts with a 422 naming the attribute, changing nothing', async () => {
      const ws = await createWorkspace(api, org, undefined, { 'plan-timeout': 600 });
      const bad: unknown[] = [0, -5, 10 ** 9, 1.5, 'soon', '', '-3m', '5 fortnights', true, [60], { seconds: 60 }, '60\u0000'];
      for (const value of bad) {
        for (const [url, type] of [
          [`/organizations/${org}`, 'organizations'],
          [`/workspaces/${ws.id}`, 'workspaces'],
        ]) {
          const res = await api.patch(url, { data: { type, attributes: { 'plan-timeout': value, description: 'changed' } } });
          assert.equal(res.status, 422, `${JSON.stringify(value)} on ${type}: ${res.status} ${res.text}`);
          const error = res.body.errors[0];
          assert.equal(error.source.pointer, '/data/attributes/plan-timeout', res.text);
          assert.match(error.detail, typeof value === 'string' && value.includes('\u0000') ? /must not contain NUL/ : /timeout is a whole number of seconds from 1 to 604800/, res.text);
        }
      }
      const after = (await api.get(`/workspaces/${ws.id}`)).body.data.attributes;
      assert.equal(after['plan-timeout'], 600);
      assert.equal(after.description, '');
      // A workspace is not created with a bad one either.
      const refused = await api.post(`/organizations/${org}/workspaces`, { data: { type: 'workspaces', attributes: { name: 'never-made', 'apply-timeout': -1 } } });
      assert.equal(refused.status, 422, refused.text);
      assert.equal((await api.get(`/organizations/${org}/workspaces/never-made`)).status, 404);
    });
  });

  describe('running out of time', () => {
    /** A workspace whose apply runs `sleep 600` (its pid in a file), on the server agent or a pool. */
    async function sleepyWorkspace(attributes: Record<string, unknown>, poolId?: string): Promise<{ ws: Json; pidfile: string }> {
      const ws = await createWorkspace(api, org, undefined, attributes);
      if (poolId) await assignToPool(api, ws.id, poolId);
      await uploadConfig(api, ws.id, { 'main.tf': fixture('slow-apply-pidfile-variables') });
      const pidfile = path.join(fs.mkdtempSync(path.join(suite().tmp, 'sleeper-')), 'pid');
      await setVariable(api, ws.id, 'pause', '600');
      await setVariable(api, ws.id, 'pidfile', pidfile);
      return { ws, pidfile };
    }

    async function expectTimedOutApply(ws: Json, pidfile: string, seconds: number, describe: () => string = () => ''): Promise<void> {
      const run = await createRun(api, ws.id, { 'auto-apply': true });
      await waitForRun(api, run.id, ['applying'], describe);
      const started = Date.now();
      const ended = await waitForRun(api, run.id, ['errored'], describe);
      const took = Date.now() - started;
      // The bound: errored within 15 s of a 5 s timeout (the engine gets SIGINT at once).
      assert.ok(took < 15_000, `the run ended ${took} ms after its apply started`);
      assert.match(ended.attributes['error-message'], new RegExp(`the apply timed out after ${seconds}s`));
      const log = await finalLog(api, ended, 'apply');
      assert.match(log, new RegExp(`the apply timed out after ${seconds}s: interrupting it`));
      assert.match(log, /Interrupt received/);
      const after = (await api.get(`/workspaces/${ws.id}`)).body.data.attributes;
      assert.equal(after.locked, false);
      // The provisioner's command went with the engine.
      const sleeper = Number(fs.readFileSync(pidfile, 'utf8').trim());
      await until('the sleeper to be gone', async () => alive(sleeper), (a) => !a, 10_000);
    }

    it("ends a server agent's apply that runs over the workspace's 5 s timeout errored, and unlocks the workspace", async () => {
      const { ws, pidfile } = await sleepyWorkspace({ 'apply-timeout': 5 });
      await expectTimedOutApply(ws, pidfile, 5);
    });

    it("ends a pool agent's apply that runs over its organization's default, and the agent takes the next job", async () => {
      const other = await createOrganization(api);
      assert.equal((await api.patch(`/organizations/${other}`, { data: { type: 'organizations', attributes: { 'apply-timeout': '5s' } } })).status, 200);
      const { pool, token } = await poolWithToken(api, other);
      const previous = org;
      org = other;
      try {
        const { ws, pidfile } = await sleepyWorkspace({}, pool.id);
        const agent = startAgent(server, ['--token', token]);
        await agent.waitForLog('registered; waiting for jobs');
        await expectTimedOutApply(ws, pidfile, 5, () => agent.describe());
        assert.ok(agent.running(), agent.describe());
        // The agent is free again: a quick run on the same workspace goes through.
        const vars = (await api.get(`/workspaces/${ws.id}/vars`)).body.data as Json[];
        const pause = vars.find((v: Json) => v.attributes.key === 'pause');
        await api.patch(`/workspaces/${ws.id}/vars/${pause.id}`, { data: { type: 'vars', id: pause.id, attributes: { value: '0' } } });
        const next = await createRun(api, ws.id, { 'auto-apply': true });
        await waitForRun(api, next.id, ['applied'], () => agent.describe());
      } finally {
        org = previous;
      }
    });

    it('has the backstop end a run whose runner hangs past the timeout', async () => {
      const { pool, token } = await poolWithToken(api, org);
      const { ws, pidfile } = await sleepyWorkspace({ 'apply-timeout': 8 }, pool.id);
      const agent = startAgent(server, ['--token', token]);
      await agent.waitForLog('registered; waiting for jobs');
      const run = await createRun(api, ws.id, { 'auto-apply': true });
      await waitForRun(api, run.id, ['applying'], () => agent.describe());
      await until('the sleeper to have written its pid', async () => fs.existsSync(pidfile) && fs.readFileSync(pidfile, 'utf8').trim() !== '', (e) => e, 8_000);
      const sleeper = Number(fs.readFileSync(pidfile, 'utf8').trim());
      // The agent hangs (stopped) before its timeout, so its own timer never fires and it reports nothing.
      process.kill(agent.child.pid!, 'SIGSTOP');
      try {
        const ended = await waitForRun(api, run.id, ['errored'], () => agent.describe(), 30_000);
        assert.match(ended.attributes['error-message'], /the apply timed out after 8s \(its runner did not stop it; otfd ended the run\)/);
        assert.equal((await api.get(`/workspaces/${ws.id}`)).body.data.attributes.locked, false);
      } finally {
        agent.child.kill('SIGKILL');
        // The stopped agent's engine and its sleeper are left behind: they go now.
        if (alive(sleeper)) process.kill(sleeper, 'SIGKILL');
        await sleep(200);
      }
      assert.equal((await getRun(api, run.id)).attributes.status, 'errored');
    });

    it("times out a plan (a pre-plan hook that hangs) with the plan's timeout", async () => {
      const hooks = fs.mkdtempSync(path.join(suite().tmp, 'hooks-'));
      const pidfile = path.join(hooks, 'hook.pid');
      fs.writeFileSync(path.join(hooks, 'terraform-pre-plan'), `#!/bin/sh\necho $$ > ${pidfile}\nexec sleep 600\n`, { mode: 0o755 });
      const { pool, token } = await poolWithToken(api, org);
      const ws = await createWorkspace(api, org, undefined, { 'plan-timeout': 3 });
      await assignToPool(api, ws.id, pool.id);
      await uploadConfig(api, ws.id, fixtureFiles('one-resource'));
      const agent = startAgent(server, ['--token', token, '--hooks-dir', hooks]);
      await agent.waitForLog('registered; waiting for jobs');
      const run = await createRun(api, ws.id);
      await waitForRun(api, run.id, ['planning'], () => agent.describe());
      const started = Date.now();
      const ended = await waitForRun(api, run.id, ['errored'], () => agent.describe());
      assert.ok(Date.now() - started < 15_000, `ended ${Date.now() - started} ms after the plan started`);
      assert.match(ended.attributes['error-message'], /the plan timed out after 3s/);
      const plan = (await api.get(`/plans/${ended.relationships.plan.data.id}`)).body.data;
      assert.equal(plan.attributes.status, 'errored');
      assert.match(await finalLog(api, ended, 'plan'), /the plan timed out after 3s/);
      const hookPid = Number(fs.readFileSync(pidfile, 'utf8').trim());
      await until('the hung hook to be gone', async () => alive(hookPid), (a) => !a, 10_000);
      assert.equal((await api.get(`/workspaces/${ws.id}`)).body.data.attributes.locked, false);
    });
  });
});
