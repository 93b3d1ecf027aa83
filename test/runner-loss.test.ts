// An otfd that dies in the middle of a run (kill -9) must not leave the run executing forever and
// its workspace locked: another otfd of the same database notices the silent server agent within
// the grace period and ends the run errored, saying why.
import assert from 'node:assert/strict';
import type { Json } from './helpers/api.js';
import { fixtureFiles } from './helpers/fixtures.js';
import { answersPing, otfdPlace, spawnOtfd } from './helpers/otfd.js';
import { startServer, type TestServer } from './helpers/server.js';
import { configTarball } from './helpers/tarball.js';
import { until } from './helpers/wait.js';

describe('an otfd that dies mid-run', function () {
  this.timeout(60_000);
  let survivor: TestServer;

  after(() => survivor?.stop());

  it('has its run errored by another otfd within the grace period, and the workspace unlocked', async () => {
    const { database, siteToken, api, args } = await otfdPlace('doomed-');
    const otfd = spawnOtfd([...args, '--concurrency', '1', '--agent-heartbeat-interval', '1', '--agent-grace-period', '3', '--log-level', 'warn']);
    const doomed = otfd.child;
    try {
      await answersPing(otfd, api);
      // The survivor shares the database and executes nothing itself.
      survivor = await startServer({ config: { database, siteToken, concurrency: 0, agentHeartbeatSeconds: 1, agentGracePeriodSeconds: 3 } });
      const watcher = survivor.api.withToken(siteToken);
      assert.equal((await api.post('/organizations', { data: { type: 'organizations', attributes: { name: 'acme', email: 'a@example.com' } } })).status, 201);
      const ws = (await api.post('/organizations/acme/workspaces', { data: { type: 'workspaces', attributes: { name: 'app' } } })).body.data;
      const cv = (await api.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } })).body.data;
      const tarball = configTarball(fixtureFiles('slow-apply', { command: 'sleep 8' }));
      assert.equal((await api.request('PUT', cv.attributes['upload-url'], { raw: tarball, token: null, headers: { 'Content-Type': 'application/octet-stream' } })).status, 200);
      const run = (await api.post('/runs', { data: { type: 'runs', attributes: { 'auto-apply': true }, relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } } } })).body.data;
      await until('the apply', async () => ((await watcher.get(`/runs/${run.id}`)).body.data.attributes.status === 'applying' ? true : null), (v) => v !== null);

      doomed.kill('SIGKILL');
      await otfd.exited;
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
