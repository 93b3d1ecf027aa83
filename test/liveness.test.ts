// Liveness judged fairly: a runner is written off only for silence otfd could have heard. While
// otfd cannot reach PostgreSQL no ping can be recorded, so an outage longer than the grace period
// must not cost healthy runners (pool agents, or otfd's own server agent) their runs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.js';
import { createLogger } from '../src/logger.js';
import { silentBefore } from '../src/pools/index.js';
import { killLeftoverAgents, startAgent, type AgentProcess } from './helpers/agent.js';
import type { Api, Json } from './helpers/api.js';
import { fixture } from './helpers/fixtures.js';
import { createOrganization, createWorkspace, freePort, randomName, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { sleep, until } from './helpers/wait.js';
import { suite } from './hooks.js';

describe('judging a runner silent', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  const ago = (s: number) => new Date(now.getTime() - s * 1000);

  it('counts silence from the last contact when otfd has heard for longer than the period', () => {
    assert.deepEqual(silentBefore(now, ago(3600), 10), ago(10));
  });

  it('judges nobody while otfd has been able to hear for less than the period (just started, or the database just came back)', () => {
    assert.equal(silentBefore(now, ago(9), 10), null);
    assert.equal(silentBefore(now, now, 10), null);
  });

  it('judges nobody while the database is known unreachable', () => {
    assert.equal(silentBefore(now, null, 10), null);
  });

  it('judges again once otfd has heard for exactly the period', () => {
    assert.deepEqual(silentBefore(now, ago(10), 10), ago(10));
  });
});

const GRACE_SECONDS = 2;

/** A slow apply: its provisioner writes its pid to var.pidfile and sleeps var.pause seconds. */
const SLOW_APPLY = fixture('slow-apply-pidfile-variables');

describe('a PostgreSQL outage of 3 x the grace period during applies', function () {
  this.timeout(120_000);
  let pgDir: string;
  let pgPort: number;
  let pg: EmbeddedPostgres;
  let server: TestServer;
  let api: Api;

  const startPostgres = () =>
    startEmbeddedPostgres({
      dataDir: pgDir,
      logger: createLogger('silent'),
      database: 'otf_liveness',
      port: pgPort,
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    });

  before(async () => {
    // A cluster of its own, on a fixed port, so that it can be stopped and started again under
    // the same address without disturbing the suite's.
    pgDir = fs.mkdtempSync(path.join(suite().tmp, 'outage-pg-'));
    pgPort = await freePort();
    pg = await startPostgres();
    server = await startServer({
      databaseUrl: pg.url,
      config: { concurrency: 1, agentHeartbeatSeconds: 1, agentGracePeriodSeconds: GRACE_SECONDS },
    });
    api = server.api;
  });

  after(async () => {
    await killLeftoverAgents();
    await server?.stop();
    await pg?.stop();
  });

  async function createRun(wsId: string, pidfile: string): Promise<Json> {
    const res = await api.post('/runs', {
      data: {
        type: 'runs',
        attributes: { 'auto-apply': true, variables: [{ key: 'pause', value: '12' }, { key: 'pidfile', value: JSON.stringify(pidfile) }] },
        relationships: { workspace: { data: { type: 'workspaces', id: wsId } } },
      },
    });
    assert.equal(res.status, 201, res.text);
    return res.body.data;
  }

  async function uploadConfig(wsId: string): Promise<void> {
    const res = await api.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assert.equal(res.status, 201, res.text);
    assert.equal((await uploadTarball(api, res.body.data, configTarball({ 'main.tf': SLOW_APPLY }))).status, 200);
  }

  async function runStatus(id: string): Promise<Json> {
    const res = await api.get(`/runs/${id}`);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  it('ends the server agent\'s and the pool agent\'s runs applied, and writes off no runner', async () => {
    const org = await createOrganization(api);
    // One workspace runs on otfd's own server agent, the other on a pool agent.
    const remote = await createWorkspace(api, org);
    const pooled = await createWorkspace(api, org);
    const poolRes = await api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } });
    assert.equal(poolRes.status, 201, poolRes.text);
    const pool = poolRes.body.data;
    const tokenRes = await api.post(`/agent-pools/${pool.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'ci' } } });
    assert.equal(tokenRes.status, 201, tokenRes.text);
    const assign = await api.patch(`/workspaces/${pooled.id}`, { data: { type: 'workspaces', attributes: { 'execution-mode': 'agent', 'agent-pool-id': pool.id } } });
    assert.equal(assign.status, 200, assign.text);
    await uploadConfig(remote.id);
    await uploadConfig(pooled.id);

    const agent: AgentProcess = startAgent(server, ['--token', tokenRes.body.data.attributes.token]);
    const registered = await agent.waitForLog('registered; waiting for jobs');

    const pidfiles = [remote, pooled].map(() => path.join(suite().tmp, `${randomName('sleeper')}.pid`));
    const runs = [await createRun(remote.id, pidfiles[0]), await createRun(pooled.id, pidfiles[1])];
    for (const f of pidfiles) {
      await until('both applies to be in their slow provisioners', async () => fs.existsSync(f) && fs.readFileSync(f, 'utf8').trim() !== '', (v) => v, 60_000);
    }
    for (const run of runs) assert.equal((await runStatus(run.id)).attributes.status, 'applying');

    await pg.stop();
    // Meanwhile the API says the database is away, and when to come back.
    const during = await api.get(`/runs/${runs[0].id}`);
    assert.equal(during.status, 503, during.text);
    assert.ok(Number(during.headers['retry-after']) > 0, 'a 503 carries Retry-After');
    await sleep(3 * GRACE_SECONDS * 1000);
    pg = await startPostgres();

    for (const run of runs) {
      const ended = await until('the run to end', () => runStatus(run.id), (r) => !['applying', 'applied_queued'].includes(r.attributes.status), 60_000);
      assert.equal(ended.attributes.status, 'applied', `${ended.attributes['error-message'] ?? ''}\n${agent.describe()}`);
    }
    const listed = await api.get(`/agents/${registered.agent}`);
    assert.equal(listed.status, 200, listed.text);
    assert.ok(['idle', 'busy'].includes(listed.body.data.attributes.status), `agent is ${listed.body.data.attributes.status}`);
    assert.ok(!agent.logs().some((l) => l.msg === 'otfd marked this agent errored; registering again'), agent.describe());
    assert.ok(agent.running(), agent.describe());
    for (const ws of [remote, pooled]) assert.equal((await api.get(`/workspaces/${ws.id}`)).body.data.attributes.locked, false);
  });
});

describe('an otfd restarted after more than the grace period', function () {
  this.timeout(60_000);
  let server: TestServer | null = null;

  after(async () => {
    await killLeftoverAgents();
    await server?.stop();
  });

  it('does not write off the pool agent that waited for it: the same agent is idle again, without registering anew', async () => {
    const port = await freePort();
    const config = { listenPort: port, hostname: `localhost:${port}`, concurrency: 0, agentHeartbeatSeconds: 1, agentGracePeriodSeconds: GRACE_SECONDS };
    server = await startServer({ config });
    const { databaseUrl, siteToken } = server;
    const org = await createOrganization(server.api);
    const pool = await server.api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } });
    assert.equal(pool.status, 201, pool.text);
    const token = await server.api.post(`/agent-pools/${pool.body.data.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'ci' } } });
    assert.equal(token.status, 201, token.text);
    const agent = startAgent(server, ['--token', token.body.data.attributes.token]);
    const registered = await agent.waitForLog('registered; waiting for jobs');

    await server.stop();
    server = null;
    await sleep(3 * GRACE_SECONDS * 1000);
    server = await startServer({ databaseUrl, config: { ...config, siteToken } });

    // Long enough for the restarted otfd to have judged it: a grace period and a few sweeps.
    await sleep((GRACE_SECONDS + 3) * 1000);
    const listed = await server.api.withToken(siteToken).get(`/agents/${registered.agent}`);
    assert.equal(listed.status, 200, listed.text);
    assert.equal(listed.body.data.attributes.status, 'idle', agent.describe());
    assert.ok(!agent.logs().some((l) => l.msg === 'otfd marked this agent errored; registering again'), agent.describe());
    assert.ok(agent.running(), agent.describe());
  });
});
