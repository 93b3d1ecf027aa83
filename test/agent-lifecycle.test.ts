// otf-agent as an operator stops and starts it: SIGTERM and SIGINT end an agent that runs no job
// at once, in every phase (registration retries, a registration nobody answers, the jobs
// long-poll); an untrusted or wrong certificate stops it at once with a message naming the
// certificate and the remedy, instead of three minutes of retries.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { selfSignedCertificate } from './helpers/certificates.js';
import { killLeftoverAgents, startAgent, type AgentExit, type AgentProcess } from './helpers/agent.js';
import { freePort, randomName, startServer, createOrganization, type TestServer } from './helpers/server.js';
import { suite } from './hooks.js';

/** Sends `signal` and returns how the agent exited and how long after the signal. */
async function signalAndTime(agent: AgentProcess, signal: NodeJS.Signals): Promise<{ exit: AgentExit; ms: number }> {
  const sent = Date.now();
  agent.child.kill(signal);
  const exit = await agent.exited;
  return { exit, ms: Date.now() - sent };
}

describe('otf-agent stops at once when it runs no job', function () {
  this.timeout(60_000);
  afterEach(() => killLeftoverAgents());

  it('SIGTERM while it retries to register with an address where nothing listens: exit 0 within 2 s', async () => {
    const port = await freePort();
    const agent = startAgent({ url: `http://127.0.0.1:${port}` }, ['--token', 'at-abc.def']);
    await agent.waitForLog('cannot reach otfd; retrying');
    // Let it get into the backoff between attempts.
    await new Promise((r) => setTimeout(r, 300));
    const { exit, ms } = await signalAndTime(agent, 'SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, agent.describe());
    assert.ok(ms < 2000, `exited ${ms} ms after SIGTERM\n${agent.describe()}`);
  });

  it('SIGINT while its registration request waits on a server that never answers: exit 0 within 2 s', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const connected = new Promise<void>((r) => silent.once('connection', () => r()));
    try {
      const agent = startAgent({ url: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}` }, ['--token', 'at-abc.def']);
      await connected;
      await new Promise((r) => setTimeout(r, 300));
      const { exit, ms } = await signalAndTime(agent, 'SIGINT');
      assert.deepEqual(exit, { code: 0, signal: null }, agent.describe());
      assert.ok(ms < 2000, `exited ${ms} ms after SIGINT\n${agent.describe()}`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  describe('against a real otfd', () => {
    let server: TestServer;
    let token: string;

    before(async () => {
      server = await startServer({ ssl: true, config: { concurrency: 0, agentHeartbeatSeconds: 1, agentGracePeriodSeconds: 4 } });
      const org = await createOrganization(server.api);
      const pool = await server.api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } });
      assert.equal(pool.status, 201, pool.text);
      const created = await server.api.post(`/agent-pools/${pool.body.data.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'ci' } } });
      assert.equal(created.status, 201, created.text);
      token = created.body.data.attributes.token;
    });
    after(() => server?.stop());

    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      it(`${signal} while it long-polls for jobs: exit 0 within 2 s, and it is listed exited`, async () => {
        const agent = startAgent(server, ['--token', token]);
        const registered = await agent.waitForLog('registered; waiting for jobs');
        await new Promise((r) => setTimeout(r, 500));
        const { exit, ms } = await signalAndTime(agent, signal);
        assert.deepEqual(exit, { code: 0, signal: null }, agent.describe());
        assert.ok(ms < 2000, `exited ${ms} ms after ${signal}\n${agent.describe()}`);
        const listed = await server.api.get(`/agents/${registered.agent}`);
        assert.equal(listed.body.data.attributes.status, 'exited');
      });
    }

    it('an otfd whose self-signed certificate it does not trust: exit 1 at once, naming the server, the certificate and NODE_EXTRA_CA_CERTS', async () => {
      const started = Date.now();
      const agent = startAgent(server, ['--token', token], { NODE_EXTRA_CA_CERTS: '' });
      const exit = await agent.exited;
      assert.deepEqual(exit, { code: 1, signal: null }, agent.describe());
      assert.ok(Date.now() - started < 5000, `exited ${Date.now() - started} ms after it started\n${agent.describe()}`);
      const stderr = agent.stderr().trimEnd().split('\n');
      assert.equal(stderr.length, 1, agent.describe());
      const line = stderr[0];
      assert.ok(line.startsWith(`otf-agent: the TLS certificate of ${server.url} was refused (DEPTH_ZERO_SELF_SIGNED_CERT`), line);
      assert.match(line, /subject "CN=localhost", issuer "CN=localhost"/);
      assert.match(line, /start otf-agent with NODE_EXTRA_CA_CERTS=<file>/);
      assert.ok(!agent.logs().some((l) => l.msg === 'cannot reach otfd; retrying'), `it retried:\n${agent.describe()}`);
    });

    it('NODE_EXTRA_CA_CERTS naming a file without the server\'s certificate: the message says so', async () => {
      const other = path.join(suite().tmp, `${randomName('other')}.pem`);
      selfSignedCertificate(other, `${other}.key`, ['someone-else']);
      const agent = startAgent(server, ['--token', token], { NODE_EXTRA_CA_CERTS: other });
      assert.deepEqual(await agent.exited, { code: 1, signal: null }, agent.describe());
      assert.match(agent.stderr(), new RegExp(`NODE_EXTRA_CA_CERTS=${other.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is set but does not hold it`));
    });
  });

  it('SIGTERM while it backs off after otfd went away: exit 0 within 2 s', async () => {
    const server = await startServer({ config: { concurrency: 0, agentHeartbeatSeconds: 1, agentGracePeriodSeconds: 4 } });
    let stopped = false;
    try {
      const org = await createOrganization(server.api);
      const pool = await server.api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } });
      const created = await server.api.post(`/agent-pools/${pool.body.data.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'ci' } } });
      const agent = startAgent(server, ['--token', created.body.data.attributes.token]);
      await agent.waitForLog('registered; waiting for jobs');
      await server.stop();
      stopped = true;
      await agent.waitForLog('waiting for jobs failed; retrying');
      const { exit, ms } = await signalAndTime(agent, 'SIGTERM');
      assert.deepEqual(exit, { code: 0, signal: null }, agent.describe());
      assert.ok(ms < 2000, `exited ${ms} ms after SIGTERM\n${agent.describe()}`);
    } finally {
      if (!stopped) await server.stop();
    }
  });

  it('a trusted certificate issued for another host name: exit 1 at once, naming the names it lists', async () => {
    const dir = fs.mkdtempSync(path.join(suite().tmp, 'othername-'));
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    selfSignedCertificate(cert, key, ['otf.example.com']);
    const tlsServer = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (_req, res) => res.end());
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    try {
      const url = `https://127.0.0.1:${(tlsServer.address() as net.AddressInfo).port}`;
      const agent = startAgent({ url }, ['--token', 'at-abc.def'], { NODE_EXTRA_CA_CERTS: cert });
      assert.deepEqual(await agent.exited, { code: 1, signal: null }, agent.describe());
      const line = agent.stderr().trimEnd();
      assert.ok(line.startsWith(`otf-agent: the TLS certificate of ${url} was refused (ERR_TLS_CERT_ALTNAME_INVALID`), line);
      assert.match(line, /subject "CN=otf\.example\.com"/);
      assert.match(line, /names DNS:otf\.example\.com/);
      assert.match(line, /is not valid for the host "127\.0\.0\.1"/);
    } finally {
      tlsServer.closeAllConnections();
      await new Promise((r) => tlsServer.close(r));
    }
  });
});
