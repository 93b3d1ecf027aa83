// PostgreSQL blinks: while it is away otfd says so (503, Retry-After, a JSON:API error) on the user API
// and the agent protocol alike, instead of 500s; it answers again within a second of PostgreSQL's
// return, and its notifications (which wake agents' long-polls) come back by themselves. Every query
// runs under a statement timeout, and a reader that hangs up has its SQL cancelled.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.js';
import { databaseTrouble } from '../src/db/index.js';
import { createLogger } from '../src/logger.js';
import type { Api, Response } from './helpers/api.js';
import { fixtureFiles } from './helpers/fixtures.js';
import { createOrganization, freePort, startServer, type TestServer } from './helpers/server.js';
import { configTarball } from './helpers/tarball.js';
import { sleep, until } from './helpers/wait.js';
import { suite } from './hooks.js';

function assertUnavailable(res: Response, what: string): void {
  assert.equal(res.status, 503, `${what}: ${res.status} ${res.text}`);
  assert.equal(res.headers['retry-after'], '5', what);
  assert.match(String(res.headers['content-type']), /application\/vnd\.api\+json/, what);
  assert.equal(res.body.errors[0].status, '503', what);
  assert.match(res.body.errors[0].detail, /the database is unreachable/, what);
}

describe('otfd while PostgreSQL is unreachable', function () {
  this.timeout(120_000);
  let dataDir: string;
  let port: number;
  let postgres: EmbeddedPostgres;
  let server: TestServer;
  const startPostgres = () =>
    startEmbeddedPostgres({ dataDir, port, logger: createLogger('silent'), settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });

  before(async () => {
    // A cluster of its own, on a fixed port, so that it can be stopped and started under otfd.
    dataDir = fs.mkdtempSync(path.join(suite().tmp, 'outage-pg-'));
    fs.chmodSync(dataDir, 0o755);
    port = await freePort();
    postgres = await startPostgres();
    server = await startServer({ databaseUrl: postgres.url, config: { concurrency: 0 } });
  });

  after(async () => {
    await server?.stop();
    await postgres?.stop();
  });

  it('answers 503 with Retry-After meanwhile, on /api/v2 and /api/agent, and 2xx within 1 s of its return', async () => {
    const { api } = server;
    const org = await createOrganization(api);
    const pool = (await api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: 'p' } } })).body.data;
    const agentToken = (await api.post(`/agent-pools/${pool.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 't' } } })).body.data.attributes.token;
    const registered = await api.withToken(agentToken).post('/api/agent/register', { name: 'outage-agent', concurrency: 1 }, { headers: { 'Content-Type': 'application/json' } });
    assert.equal(registered.status, 201, registered.text);
    const agent: Api = api.withToken(registered.body.token);
    const ws = (await api.post(`/organizations/${org}/workspaces`, { data: { type: 'workspaces', attributes: { name: 'app', 'execution-mode': 'agent', 'agent-pool-id': pool.id } } })).body.data;
    const cv = (await api.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } })).body.data;
    const upload = await api.request('PUT', cv.attributes['upload-url'], { raw: configTarball(fixtureFiles('one-output')), token: null, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(upload.status, 200);

    await postgres.stop();
    // Twice, a second apart: a pool full of dead connections must not wedge into something else.
    for (let round = 0; round < 2; round++) {
      assertUnavailable(await api.get(`/organizations/${org}`), 'GET an organization');
      assertUnavailable(await api.get('/organizations'), 'list organizations');
      assertUnavailable(await api.post('/organizations', { data: { type: 'organizations', attributes: { name: 'later', email: 'l@example.com' } } }), 'create an organization');
      assertUnavailable(await agent.post('/api/agent/sync', { jobs: [] }, { headers: { 'Content-Type': 'application/json' } }), 'agent heartbeat');
      assertUnavailable(await agent.get('/api/agent/jobs?wait=0'), 'agent long-poll');
      const health = await api.get('/healthz');
      assert.equal(health.status, 503);
      assert.equal(health.headers['retry-after'], '5');
      await sleep(1000);
    }

    postgres = await startPostgres();
    const back = Date.now();
    await until('the API to answer', async () => (await api.get(`/organizations/${org}`)).status, (s) => s === 200, 5_000, 25);
    const ms = Date.now() - back;
    assert.ok(ms < 1000, `the API answered ${ms} ms after PostgreSQL's return`);
    assert.equal((await agent.post('/api/agent/sync', { jobs: [] }, { headers: { 'Content-Type': 'application/json' } })).status, 200);
    assert.equal((await api.post('/organizations', { data: { type: 'organizations', attributes: { name: 'later', email: 'l@example.com' } } })).status, 201);

    // Notifications are back too: a run queued now wakes the agent's long-poll at once, not at its 30 s end.
    await sleep(2000); // the notification connection retries every second
    const started = Date.now();
    const poll = agent.get('/api/agent/jobs?wait=30');
    await sleep(300);
    const run = await api.post('/runs', { data: { type: 'runs', attributes: {}, relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } } } });
    assert.equal(run.status, 201, run.text);
    const answer = await poll;
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.body.jobs.length, 1, JSON.stringify(answer.body));
    assert.ok(Date.now() - started < 10_000, 'the long-poll was woken by the new job');
  });

  it('runs every query under the statement timeout', async () => {
    const timeout = await server.otfd.db.raw('SHOW statement_timeout');
    assert.equal(timeout.rows[0].statement_timeout, '30s');
  });

  it('cancels the SQL of a reader that hangs up', async () => {
    const { api } = server;
    await createOrganization(api);
    // Hold a lock that the organization list has to wait for: its query sits in PostgreSQL.
    const locker = new pg.Client({ connectionString: postgres.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE');
      const waiting = async () =>
        Number((await locker.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()`)).rows[0].n);
      const url = new URL(`${server.url}/api/v2/organizations`);
      const req = http.request(url, { headers: { Authorization: `Bearer ${server.siteToken}` } });
      req.on('error', () => undefined);
      req.end();
      await until('the list query to wait on the lock', waiting, (n) => n >= 1, 10_000, 50);
      req.destroy();
      // The lock is still held: only a cancel ends the wait.
      await until('the waiting query to be cancelled', waiting, (n) => n === 0, 5_000, 50);
      await locker.query('ROLLBACK');
    } finally {
      await locker.end();
    }
    assert.equal((await api.get('/organizations')).status, 200);
  });
});

describe('the statement timeout', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    server = await startServer({ config: { concurrency: 0, statementTimeoutMs: 500 } });
  });
  after(() => server?.stop());

  it('ends a query stuck behind a lock with a 503, and leaves long-polls (which wait in otfd) alone', async () => {
    const { api } = server;
    const org = await createOrganization(api);
    const locker = new pg.Client({ connectionString: server.databaseUrl });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE');
      const stuck = await api.get('/organizations');
      assert.equal(stuck.status, 503, stuck.text);
      assert.equal(stuck.headers['retry-after'], '5');
      assert.match(stuck.body.errors[0].detail, /did not answer in time/);
      await locker.query('ROLLBACK');
    } finally {
      await locker.end();
    }
    assert.equal((await api.get('/organizations')).status, 200);

    const pool = (await api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: 'p' } } })).body.data;
    const agentToken = (await api.post(`/agent-pools/${pool.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 't' } } })).body.data.attributes.token;
    const registered = await api.withToken(agentToken).post('/api/agent/register', { name: 'patient-agent', concurrency: 1 }, { headers: { 'Content-Type': 'application/json' } });
    assert.equal(registered.status, 201, registered.text);
    const t0 = Date.now();
    const poll = await api.withToken(registered.body.token).get('/api/agent/jobs?wait=2');
    assert.equal(poll.status, 200, poll.text);
    assert.deepEqual(poll.body, { jobs: [], signals: [] });
    assert.ok(Date.now() - t0 >= 1900, 'the long-poll waited its full 2 s, four statement timeouts');
  });
});

describe('telling a database outage from a bug', () => {
  const withCode = (message: string, props: Record<string, unknown>) => Object.assign(new Error(message), props);

  it('calls refused, dropped and unobtainable connections and shutdowns unreachable', () => {
    assert.equal(databaseTrouble(withCode('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED', syscall: 'connect' })), 'unreachable');
    assert.equal(databaseTrouble(withCode('connect ENOENT /tmp/.s.PGSQL.5432', { code: 'ENOENT', syscall: 'connect' })), 'unreachable');
    assert.equal(databaseTrouble(withCode('terminating connection due to administrator command', { code: '57P01' })), 'unreachable');
    assert.equal(databaseTrouble(withCode('the database system is starting up', { code: '57P03' })), 'unreachable');
    assert.equal(databaseTrouble(withCode('Knex: Timeout acquiring a connection.', { name: 'KnexTimeoutError' })), 'unreachable');
    assert.equal(databaseTrouble(new Error('Connection terminated unexpectedly')), 'unreachable');
    assert.equal(databaseTrouble(new AggregateError([withCode('x', { code: 'ECONNREFUSED' })], 'connect failed')), 'unreachable');
    assert.equal(databaseTrouble(new Error('query failed', { cause: withCode('y', { code: '08006' }) })), 'unreachable');
  });

  it('calls a cancelled statement a timeout', () => {
    assert.equal(databaseTrouble(withCode('canceling statement due to statement timeout', { code: '57014' })), 'timeout');
  });

  it('leaves everything else to be a bug (500)', () => {
    assert.equal(databaseTrouble(withCode('syntax error at or near "SELEC"', { code: '42601' })), null);
    assert.equal(databaseTrouble(withCode('duplicate key value', { code: '23505' })), null);
    assert.equal(databaseTrouble(withCode("ENOENT: no such file or directory, open 'x'", { code: 'ENOENT', syscall: 'open' })), null);
    assert.equal(databaseTrouble(new TypeError('Cannot read properties of undefined')), null);
    assert.equal(databaseTrouble(null), null);
  });
});
