// PostgreSQL stopped for three grace periods while two applies run, one on otfd's server agent and
// one on a real otf-agent: neither runner is written off for otfd's own blindness, both applies
// deliver their state once the database is back, and both runs end applied.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.js';
import { createLogger } from '../src/logger.js';
import { killLeftoverAgents, startAgent } from './helpers/agent.js';
import type { Api, Json } from './helpers/api.js';
import { createOrganization, freePort, startServer, type TestServer } from './helpers/server.js';
import { configTarball } from './helpers/tarball.js';
import { sleep, until } from './helpers/wait.js';
import { suite } from './hooks.js';

const HEARTBEAT_SECONDS = 1;
const GRACE_SECONDS = 3;
const OUTAGE_MS = 3 * GRACE_SECONDS * 1000;

/** An apply that outlasts the moment PostgreSQL goes away, and ends while it is still away. */
const CONFIG = 'resource "terraform_data" "slow" {\n  provisioner "local-exec" { command = "sleep 4" }\n}\noutput "done" { value = "yes" }\n';

async function queueApply(api: Api, workspaceId: string): Promise<string> {
  const cv = (await api.post(`/workspaces/${workspaceId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } })).body.data;
  const upload = await api.request('PUT', cv.attributes['upload-url'], { raw: configTarball({ 'main.tf': CONFIG }), token: null, headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(upload.status, 200, upload.text);
  const run = await api.post('/runs', { data: { type: 'runs', attributes: { 'auto-apply': true }, relationships: { workspace: { data: { type: 'workspaces', id: workspaceId } } } } });
  assert.equal(run.status, 201, run.text);
  return run.body.data.id;
}

const statusOf = async (api: Api, runId: string): Promise<string> => {
  const res = await api.get(`/runs/${runId}`);
  return res.status === 200 ? res.body.data.attributes.status : `http ${res.status}`;
};

describe('a PostgreSQL outage of three grace periods during applies', function () {
  this.timeout(180_000);
  let dataDir: string;
  let port: number;
  let postgres: EmbeddedPostgres;
  let server: TestServer;
  const startPostgres = () =>
    startEmbeddedPostgres({ dataDir, port, logger: createLogger('silent'), settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(suite().tmp, 'outage-runs-pg-'));
    fs.chmodSync(dataDir, 0o755);
    port = await freePort();
    postgres = await startPostgres();
    server = await startServer({
      ssl: true,
      databaseUrl: postgres.url,
      config: { concurrency: 1, agentHeartbeatSeconds: HEARTBEAT_SECONDS, agentGracePeriodSeconds: GRACE_SECONDS },
    });
  });

  after(async () => {
    await killLeftoverAgents();
    await server?.stop();
    await postgres?.stop();
  });

  it('ends both the server-agent run and the pool-agent run applied, with their state', async () => {
    const { api } = server;
    const org = await createOrganization(api);
    const pool = (await api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: 'p' } } })).body.data;
    const agentToken = (await api.post(`/agent-pools/${pool.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 't' } } })).body.data.attributes.token;
    const remote = (await api.post(`/organizations/${org}/workspaces`, { data: { type: 'workspaces', attributes: { name: 'on-server' } } })).body.data;
    const pooled = (await api.post(`/organizations/${org}/workspaces`, { data: { type: 'workspaces', attributes: { name: 'on-agent', 'execution-mode': 'agent', 'agent-pool-id': pool.id } } })).body.data;
    const agent = startAgent(server, ['--token', agentToken, '--name', 'outage-runner', '--log-level', 'debug']);
    await until('the agent to be idle', async () => (await api.get(`/agent-pools/${pool.id}/agents`)).body.data as Json[], (list) => list.some((a) => a.attributes.status === 'idle'), 60_000);

    const runs = [await queueApply(api, remote.id), await queueApply(api, pooled.id)];
    for (const id of runs) await until(`run ${id} to be applying`, () => statusOf(api, id), (s) => s === 'applying', 90_000, 100);

    await postgres.stop();
    await sleep(OUTAGE_MS);
    postgres = await startPostgres();

    const ended: string[] = [];
    for (const id of runs) {
      ended.push(await until(`run ${id} to end`, () => statusOf(api, id), (s) => !['applying', 'planning', 'planned', 'queued', 'plan_queued', 'apply_queued'].includes(s) && !s.startsWith('http'), 90_000, 200));
    }
    assert.deepEqual(ended, ['applied', 'applied'], agent.describe());
    for (const ws of [remote, pooled]) {
      const outputs = await api.get(`/workspaces/${ws.id}/current-state-version-outputs`);
      assert.equal(outputs.status, 200, outputs.text);
      assert.deepEqual(outputs.body.data.map((o: Json) => [o.attributes.name, o.attributes.value]), [['done', 'yes']], `workspace ${ws.attributes.name}`);
      assert.equal((await api.get(`/workspaces/${ws.id}`)).body.data.attributes.locked, false);
    }
    // The pool agent was never written off: it is still live and answers.
    const agents: Json[] = (await api.get(`/agent-pools/${pool.id}/agents`)).body.data;
    assert.ok(agents.some((a) => ['idle', 'busy'].includes(a.attributes.status)), JSON.stringify(agents.map((a) => a.attributes.status)));
    assert.ok(agent.running(), agent.describe());
  });
});
