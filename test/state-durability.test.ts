// No state is ever thrown away, and no written-off job goes on: real otfd and otf-agent processes,
// real terraform, real PostgreSQL. otfd is killed (SIGKILL) during an agent's apply and started
// again on the same address and database; an agent is frozen (SIGSTOP) past the grace period
// while another applies a newer run, then thawed. The issue's "15 s into the apply, back 45 s
// later" is scaled down to seconds, in the same order of events.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { killLeftoverAgents, startAgent, type AgentProcess } from './helpers/agent.js';
import { Api, type Json } from './helpers/api.js';
import { fixture } from './helpers/fixtures.js';
import { answersPing, spawnOtfd } from './helpers/otfd.js';
import { createOrganization, createWorkspace, freePort, randomName, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { sleep, until, waitFor } from './helpers/wait.js';
import { freshDatabase, suite } from './hooks.js';
import { processAlive } from '../src/pids.js';

/** An apply whose provisioner writes its pid to `pidfile`, then sleeps `seconds`. */
function slowApply(pidfile: string, seconds: number): string {
  return fixture('slow-apply-pidfile-output', { input: crypto.randomBytes(4).toString('hex'), pidfile, seconds });
}


/** Entries (sidecars) in an agent's outbox. */
function outboxEntries(dataDir: string): string[] {
  const dir = path.join(dataDir, 'outbox');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
}

/** otfd as an operator runs it, with its own data dir, on a database and port that outlive it. */
class OtfdProcess {
  child: ChildProcess | null = null;
  readonly siteToken = `site-${crypto.randomBytes(16).toString('hex')}`;
  readonly secret = crypto.randomBytes(16).toString('hex');
  readonly dataDir = fs.mkdtempSync(path.join(suite().tmp, 'otfd-durable-'));

  constructor(
    readonly port: number,
    readonly databaseUrl: string,
    readonly graceSeconds: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get api(): Api {
    return new Api(this.url, this.siteToken);
  }

  async start(): Promise<void> {
    const args = [
      '--address', `127.0.0.1:${this.port}`,
      '--hostname', `127.0.0.1:${this.port}`,
      '--database', this.databaseUrl,
      '--data-dir', this.dataDir,
      '--site-token', this.siteToken,
      '--secret', this.secret,
      '--concurrency', '0',
      '--agent-heartbeat-interval', '1',
      '--agent-grace-period', String(this.graceSeconds),
    ];
    const started = spawnOtfd(args);
    this.child = started.child;
    await answersPing(started, this.api);
  }

  async kill(): Promise<void> {
    const child = this.child!;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.child = null;
  }

  async stop(): Promise<void> {
    if (!this.child) return;
    const child = this.child;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000).then(() => child.kill('SIGKILL'))]);
    this.child = null;
  }
}

/** The organization, pool, agent token and workspace (execution mode agent) a test works in. */
async function setUp(api: Api, mainTf: string): Promise<{ poolId: string; token: string; wsId: string }> {
  const org = await createOrganization(api);
  const pool = await api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } });
  assert.equal(pool.status, 201, pool.text);
  const token = await api.post(`/agent-pools/${pool.body.data.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'ci' } } });
  assert.equal(token.status, 201, token.text);
  const ws = await createWorkspace(api, org);
  const patched = await api.patch(`/workspaces/${ws.id}`, { data: { type: 'workspaces', attributes: { 'execution-mode': 'agent', 'agent-pool-id': pool.body.data.id } } });
  assert.equal(patched.status, 200, patched.text);
  await uploadConfig(api, ws.id, mainTf);
  return { poolId: pool.body.data.id, token: token.body.data.attributes.token, wsId: ws.id };
}

async function uploadConfig(api: Api, wsId: string, mainTf: string): Promise<void> {
  const cv = await api.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
  assert.equal(cv.status, 201, cv.text);
  const put = await uploadTarball(api, cv.body.data, configTarball({ 'main.tf': mainTf }));
  assert.equal(put.status, 200, put.text);
}

async function createRun(api: Api, wsId: string): Promise<Json> {
  const res = await api.post('/runs', { data: { type: 'runs', attributes: { 'auto-apply': true }, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } });
  assert.equal(res.status, 201, res.text);
  return res.body.data;
}

async function getRun(api: Api, id: string): Promise<Json> {
  const res = await api.get(`/runs/${id}`);
  assert.equal(res.status, 200, res.text);
  return res.body.data;
}

/** The workspace's current state version, or null. */
async function currentState(api: Api, wsId: string): Promise<Json | null> {
  const res = await api.get(`/workspaces/${wsId}/current-state-version`);
  if (res.status === 404) return null;
  assert.equal(res.status, 200, res.text);
  return res.body.data;
}

function runOf(sv: Json): string | undefined {
  return sv.relationships?.run?.data?.id;
}

async function stateVersions(api: Api, wsId: string): Promise<Json[]> {
  const res = await api.get(`/workspaces/${wsId}/state-versions`);
  assert.equal(res.status, 200, res.text);
  return res.body.data;
}

/** Resource names in a state version's file. */
async function resourcesIn(api: Api, sv: Json): Promise<string[]> {
  const res = await api.get(sv.attributes['hosted-state-download-url']);
  assert.equal(res.status, 200, res.text);
  const state = JSON.parse(res.text) as { resources: Array<{ name: string }> };
  return state.resources.map((r) => r.name);
}

describe('state durability (otfd and otf-agent processes killed, frozen and restarted)', function () {
  this.timeout(180_000);
  afterEach(() => killLeftoverAgents());

  describe('otfd SIGKILLed during an apply and started again later on the same address', () => {
    let otfd: OtfdProcess;

    beforeEach(async () => {
      // A grace period longer than the outage: the agent is not written off meanwhile.
      otfd = new OtfdProcess(await freePort(), await freshDatabase(), 60);
      await otfd.start();
    });
    afterEach(() => otfd.stop());

    /** Starts an apply that sleeps `seconds`, kills otfd as it runs, and waits for the apply to end with otfd down. */
    async function applyWhileOtfdIsDown(seconds: number): Promise<{ wsId: string; runId: string; agent: AgentProcess; dataDir: string; token: string }> {
      const pidfile = path.join(suite().tmp, `pid-${crypto.randomBytes(4).toString('hex')}`);
      const { wsId, token } = await setUp(otfd.api, slowApply(pidfile, seconds));
      const dataDir = fs.mkdtempSync(path.join(suite().tmp, 'agent-data-'));
      const agent = startAgent({ url: otfd.url } as TestServer, ['--token', token, '--data-dir', dataDir]);
      await agent.waitForLog('registered; waiting for jobs');
      const run = await createRun(otfd.api, wsId);
      const pid = await waitFor('the apply to start its provisioner', async () => fs.existsSync(pidfile) && Number(fs.readFileSync(pidfile, 'utf8')), 60_000);
      await otfd.kill();
      await waitFor('the apply to end', async () => !processAlive(pid), 30_000);
      // The state the apply left is on the agent's disk, not only in its job folder.
      await waitFor('the state to be kept in the outbox', async () => outboxEntries(dataDir).length === 1, 10_000);
      return { wsId, runId: run.id, agent, dataDir, token };
    }

    it('keeps the state until otfd is back, and the apply becomes the current state version', async () => {
      const { wsId, runId, dataDir } = await applyWhileOtfdIsDown(4);
      // otfd stays away longer than the 15 s an agent used to retry before it deleted the state.
      await sleep(16_000);
      await otfd.start();
      const sv = await waitFor('the current state version to be the apply\'s', async () => {
        const cur = await currentState(otfd.api, wsId);
        return cur && runOf(cur) === runId ? cur : null;
      }, 60_000);
      assert.deepEqual(await resourcesIn(otfd.api, sv), ['slow']);
      await until('the run to end', () => getRun(otfd.api, runId), (r) => r.attributes.status === 'applied', 60_000);
      await waitFor('the outbox to be empty', async () => outboxEntries(dataDir).length === 0, 10_000);
    });

    it('delivers the state through a new agent process when the agent was restarted before otfd returned', async () => {
      const { wsId, runId, agent, dataDir, token } = await applyWhileOtfdIsDown(3);
      agent.child.kill('SIGKILL');
      await agent.exited;
      assert.equal(outboxEntries(dataDir).length, 1, 'the state outlives the agent process');
      const sidecar = JSON.parse(fs.readFileSync(path.join(dataDir, 'outbox', outboxEntries(dataDir)[0]), 'utf8')) as { jobId: string; runId: string; md5: string };
      assert.equal(sidecar.runId, runId);
      const kept = fs.readFileSync(path.join(dataDir, 'outbox', `${sidecar.jobId}.tfstate`));
      assert.equal(fs.statSync(path.join(dataDir, 'outbox', `${sidecar.jobId}.tfstate`)).mode & 0o777, 0o600);
      // A new agent on the same data dir, while otfd is still down.
      const second = startAgent({ url: otfd.url } as TestServer, ['--token', token, '--data-dir', dataDir]);
      await sleep(3_000);
      assert.ok(second.running(), second.describe());
      await otfd.start();
      const sv = await waitFor('the current state version to be the apply\'s', async () => {
        const cur = await currentState(otfd.api, wsId);
        return cur && runOf(cur) === runId ? cur : null;
      }, 90_000);
      assert.deepEqual(await resourcesIn(otfd.api, sv), ['slow']);
      await waitFor('the outbox to be empty', async () => outboxEntries(dataDir).length === 0, 10_000);
      await second.waitForLog('state delivered from the outbox');
      const run = await getRun(otfd.api, runId);
      assert.ok(run.attributes['state-saved-late-at'], 'the run records that its state was saved late');

      // The late path, by hand: the same bytes again change nothing; a state that does not follow
      // the current one is kept in the history but not made current; only agent credentials count.
      const late = (body: Buffer, tok: string | null) =>
        otfd.api.request('POST', `/api/agent/jobs/${sidecar.jobId}/late-state?md5=${crypto.createHash('md5').update(body).digest('hex')}`, { token: tok, raw: body, headers: { 'Content-Type': 'application/octet-stream' } });
      const again = await late(kept, token);
      assert.equal(again.status, 200, again.text);
      assert.deepEqual(again.body, { stateVersion: sv.id, current: true, duplicate: true });
      const doc = JSON.parse(kept.toString('utf8')) as { outputs: Record<string, { value: unknown }> };
      doc.outputs.slow.value = 'not what was applied';
      const sideways = await late(Buffer.from(JSON.stringify(doc)), token);
      assert.equal(sideways.status, 200, sideways.text);
      assert.equal(sideways.body.current, false, 'same serial, other content: not current');
      assert.equal((await currentState(otfd.api, wsId))!.id, sv.id);
      assert.ok((await stateVersions(otfd.api, wsId)).some((v) => v.id === sideways.body.stateVersion), 'kept in the history');
      assert.equal((await late(kept, otfd.siteToken)).status, 403);
    });
  });

  describe('an agent cut off from otfd for longer than the grace period', () => {
    it('stops its running plan', async () => {
      const otfd = new OtfdProcess(await freePort(), await freshDatabase(), 3);
      await otfd.start();
      // The plan reads two remote states over HTTP, the second after the first: the first answers
      // after 12 s; a plan that goes on asks for the second, a stopped one never does.
      const asked: string[] = [];
      const slow = http.createServer((req, res) => {
        asked.push(req.url ?? '');
        const state = JSON.stringify({ version: 4, terraform_version: '1.11.4', serial: 1, lineage: 'slow', outputs: {}, resources: [] });
        const answer = () => {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(state);
        };
        if (req.url === '/first') setTimeout(answer, 12_000);
        else answer();
      });
      await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
      const port = (slow.address() as AddressInfo).port;
      try {
        const { wsId, token } = await setUp(otfd.api, fixture('http-remote-state-pair', { port }));
        const agent = startAgent({ url: otfd.url } as TestServer, ['--token', token]);
        await agent.waitForLog('registered; waiting for jobs');
        await createRun(otfd.api, wsId);
        await waitFor('the plan to read the first remote state', async () => asked.includes('/first'), 60_000);
        await otfd.kill();
        const cutOff = await agent.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('out of touch with otfd'), 15_000);
        assert.equal((cutOff.stoppingPlans as string[]).length, 1, agent.describe());
        await sleep(14_000); // past the first answer: a plan still running would ask for the second now
        assert.deepEqual(asked, ['/first'], 'the stopped plan went no further');
      } finally {
        slow.close();
        slow.closeAllConnections();
        await otfd.stop();
      }
    });
  });

  describe("the server agent's outbox", () => {
    it('is empty after a normal apply, and a state left in it is delivered when otfd starts again', async () => {
      const first = await startServer({ config: { concurrency: 1 } });
      let second: TestServer | null = null;
      try {
        const api = first.api;
        const org = await createOrganization(api);
        const ws = await createWorkspace(api, org);
        await uploadConfig(api, ws.id, fixture('named-resource-with-output', { name: 'x', input: 'one' }));
        const run = await createRun(api, ws.id);
        await until('the run to apply', () => getRun(api, run.id), (r) => r.attributes.status === 'applied', 90_000);
        const outbox = path.join(first.dataDir, 'outbox');
        assert.deepEqual(fs.readdirSync(outbox), [], 'an acknowledged state leaves the outbox');
        const applied = (await currentState(api, ws.id))!;
        const job = (await first.otfd.db('jobs').where({ run_id: run.id, phase: 'apply' }).first()) as { id: string };
        const download = await api.get(applied.attributes['hosted-state-download-url']);
        assert.equal(download.status, 200, download.text);
        await first.stop();

        // The state of a later write by the same apply, left in the outbox by an otfd that died
        // before delivering it (written as the runner writes it).
        const doc = JSON.parse(download.text) as { serial: number; lineage: string; outputs: Record<string, { value: unknown }> };
        doc.serial += 1;
        doc.outputs.x.value = 'written after the first upload';
        const bytes = Buffer.from(JSON.stringify(doc));
        const md5 = crypto.createHash('md5').update(bytes).digest('hex');
        fs.writeFileSync(path.join(outbox, `${job.id}.tfstate`), bytes, { mode: 0o600 });
        fs.writeFileSync(
          path.join(outbox, `${job.id}.json`),
          JSON.stringify({ jobId: job.id, runId: run.id, workspaceId: ws.id, serial: doc.serial, lineage: doc.lineage, md5, createdAt: new Date().toISOString() }),
          { mode: 0o600 },
        );

        second = await startServer({ databaseUrl: first.databaseUrl, config: { concurrency: 1, dataDir: first.dataDir } });
        const sv = await waitFor('the outbox state to become current', async () => {
          const cur = await currentState(second!.api, ws.id);
          return cur && cur.attributes.serial === doc.serial ? cur : null;
        }, 30_000);
        assert.equal(runOf(sv), run.id);
        await waitFor('the outbox to be empty', async () => fs.readdirSync(outbox).length === 0, 10_000);
        assert.ok((await getRun(second.api, run.id)).attributes['state-saved-late-at']);
      } finally {
        await first.stop().catch(() => undefined);
        await second?.stop();
      }
    });
  });

  describe('an agent frozen past the grace period while a newer run applies elsewhere', () => {
    const GRACE_SECONDS = 3;
    let server: TestServer;

    before(async () => {
      server = await startServer({ ssl: true, config: { concurrency: 0, agentHeartbeatSeconds: 1, agentGracePeriodSeconds: GRACE_SECONDS } });
    });
    after(() => server.stop());

    it('stops its engine within a heartbeat of thawing and puts no stale state over the newer run', async () => {
      const api = server.api;
      const marker = path.join(suite().tmp, `marker-${crypto.randomBytes(4).toString('hex')}`);
      // An apply that writes a line every 250 ms for a minute: while it grows, the engine runs.
      const looping = fixture('looping-apply', { marker });
      const { wsId, token } = await setUp(api, looping);
      const frozen = startAgent(server, ['--token', token]);
      await frozen.waitForLog('registered; waiting for jobs');
      const stale = await createRun(api, wsId);
      await waitFor('the apply to run', async () => fs.existsSync(marker), 60_000);
      frozen.child.kill('SIGSTOP');
      try {
        await until('otfd to write the frozen agent\'s run off', () => getRun(api, stale.id), (r) => r.attributes.status === 'errored', 30_000);
        // The newer run applies on another agent meanwhile.
        await uploadConfig(api, wsId, fixture('named-resource', { name: 'newer', input: 'newer' }));
        const other = startAgent(server, ['--token', token]);
        await other.waitForLog('registered; waiting for jobs');
        const newer = await createRun(api, wsId);
        await until('the newer run to apply', () => getRun(api, newer.id), (r) => r.attributes.status === 'applied', 90_000);
        await other.child.kill('SIGTERM');
        const newerState = (await currentState(api, wsId))!;
        assert.equal(runOf(newerState), newer.id);
        assert.ok(fs.statSync(marker).size > 0);
      } finally {
        frozen.child.kill('SIGCONT');
      }
      const thawed = Date.now();
      // Stopped: the marker, which grows every 250 ms while the engine runs, stays the same for a
      // second (SIGINT stops it at once; SIGKILL would 10 s later at worst).
      let size = fs.statSync(marker).size;
      for (;;) {
        await sleep(1_000);
        const now = fs.statSync(marker).size;
        if (now === size) break;
        size = now;
        assert.ok(Date.now() - thawed < 20_000, `the engine still runs ${Date.now() - thawed} ms after the agent thawed\n${frozen.describe()}`);
      }
      const lines = fs.readFileSync(marker, 'utf8').trim().split('\n');
      assert.ok(lines.length < 240, 'the apply did not run to its end');
      // Its state reaches otfd by the late path and is kept in the history, not made current.
      await frozen.waitForLog('state delivered from the outbox', 60_000);
      const versions = await stateVersions(api, wsId);
      const late = versions.find((v) => runOf(v) === stale.id);
      assert.ok(late, `the stale run's state is kept in the history: ${JSON.stringify(versions.map((v) => runOf(v)))}`);
      const current = (await currentState(api, wsId))!;
      assert.notEqual(runOf(current), stale.id, 'the newer run\'s state stays current');
      assert.deepEqual(await resourcesIn(api, current), ['newer']);
      assert.ok((await getRun(api, stale.id)).attributes['state-saved-late-at']);
    });
  });
});
