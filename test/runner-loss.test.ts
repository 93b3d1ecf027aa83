// An otfd that dies in the middle of a run (kill -9) must not leave the run executing forever and
// its workspace locked: another otfd of the same database notices the silent server agent within
// the grace period and ends the run errored, saying why.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Api, type Json } from './helpers/api.js';
import { freePort, startServer, type TestServer } from './helpers/server.js';
import { configTarball } from './helpers/tarball.js';
import { until } from './helpers/wait.js';
import { freshDatabase, suite } from './hooks.js';

const OTFD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/otfd');

describe('an otfd that dies mid-run', function () {
  this.timeout(60_000);
  let survivor: TestServer;

  after(() => survivor?.stop());

  it('has its run errored by another otfd within the grace period, and the workspace unlocked', async () => {
    const database = await freshDatabase();
    const siteToken = crypto.randomBytes(16).toString('hex');
    const port = await freePort();
    const dataDir = fs.mkdtempSync(path.join(suite().tmp, 'doomed-'));
    const doomed = spawn(
      process.execPath,
      [OTFD, '--database', database, '--data-dir', dataDir, '--address', `127.0.0.1:${port}`, '--site-token', siteToken,
        '--concurrency', '1', '--agent-heartbeat-interval', '1', '--agent-grace-period', '3', '--log-level', 'warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise((r) => doomed.on('exit', r));
    try {
      const api = new Api(`http://127.0.0.1:${port}`, siteToken);
      await until('the doomed otfd', async () => ((await api.get('/ping').catch(() => null))?.status === 204 ? true : null), (v) => v !== null);
      // The survivor shares the database and executes nothing itself.
      survivor = await startServer({ config: { database, siteToken, concurrency: 0, agentHeartbeatSeconds: 1, agentGracePeriodSeconds: 3 } });
      const watcher = survivor.api.withToken(siteToken);
      assert.equal((await api.post('/organizations', { data: { type: 'organizations', attributes: { name: 'acme', email: 'a@example.com' } } })).status, 201);
      const ws = (await api.post('/organizations/acme/workspaces', { data: { type: 'workspaces', attributes: { name: 'app' } } })).body.data;
      const cv = (await api.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } })).body.data;
      const tarball = configTarball({ 'main.tf': 'resource "terraform_data" "slow" {\n  provisioner "local-exec" { command = "sleep 8" }\n}\n' });
      assert.equal((await api.request('PUT', cv.attributes['upload-url'], { raw: tarball, token: null, headers: { 'Content-Type': 'application/octet-stream' } })).status, 200);
      const run = (await api.post('/runs', { data: { type: 'runs', attributes: { 'auto-apply': true }, relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } } } })).body.data;
      await until('the apply', async () => ((await watcher.get(`/runs/${run.id}`)).body.data.attributes.status === 'applying' ? true : null), (v) => v !== null);

      doomed.kill('SIGKILL');
      await exited;
      const killedAt = Date.now();
      const ended: Json = await until('the run to end', async () => {
        const r = (await watcher.get(`/runs/${run.id}`)).body.data;
        return r.attributes.status === 'applying' ? null : r;
      }, (v) => v !== null);
      assert.equal(ended.attributes.status, 'errored');
      assert.match(ended.attributes['error-message'], /the otfd instance whose server agent \(server-[^)]+\) was running it stopped while running the apply/);
      // grace period 3 s, checked every heartbeat (1 s): well inside 10 s
      assert.ok(Date.now() - killedAt < 10_000, `ended ${Date.now() - killedAt} ms after the kill`);
      const after = (await watcher.get(`/workspaces/${ws.id}`)).body.data;
      assert.equal(after.attributes.locked, false);
    } finally {
      if (doomed.exitCode === null && doomed.signalCode === null) doomed.kill('SIGKILL');
    }
  });
});
