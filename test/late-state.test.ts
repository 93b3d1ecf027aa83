// POST /api/agent/jobs/:id/late-state (docs/agent-protocol.md, "Late states"), black-box against an
// in-process otfd: a real otf-agent applies one run, so that there is a real apply job and state;
// a hand-driven agent holds a running plan (for a live job token) and leaves an apply job that
// never ran. Every refused delivery must leave the workspace's current state version alone.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import pg from 'pg';
import { killLeftoverAgents, startAgent } from './helpers/agent.js';
import type { Api, Json, Response } from './helpers/api.js';
import { fixture } from './helpers/fixtures.js';
import { createUser } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { until, waitFor } from './helpers/wait.js';

const CONFIG = fixture('one-resource');


const md5 = (b: Buffer) => crypto.createHash('md5').update(b).digest('hex');

describe('late states (POST /api/agent/jobs/:id/late-state)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let api: Api;
  let wsId: string;
  let applied: Buffer; // the state the real agent's apply left
  let applyJob: string; // that apply, which ran and ended
  let planJob: string; // the plan of the same run
  let idleApplyJob: string; // an apply job of the pool that never ran
  let heldPlanJob: string; // a plan job that runs (held by the hand-driven agent)
  let poolToken: string;
  let accessToken: string; // the hand-driven agent's access token
  let jobToken: string; // the held plan job's token
  let otherPoolToken: string; // a pool of another organization
  let otherJob: string; // a job of that other pool (its plan, never ran)
  let userToken: string;
  let orgToken: string;

  async function pool(org: string): Promise<{ id: string; token: string }> {
    const res = await api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } });
    assert.equal(res.status, 201, res.text);
    const tok = await api.post(`/agent-pools/${res.body.data.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'late' } } });
    assert.equal(tok.status, 201, tok.text);
    return { id: res.body.data.id, token: tok.body.data.attributes.token };
  }

  async function agentWorkspace(org: string, poolId: string): Promise<string> {
    const ws = await createWorkspace(api, org);
    const res = await api.patch(`/workspaces/${ws.id}`, { data: { type: 'workspaces', attributes: { 'execution-mode': 'agent', 'agent-pool-id': poolId } } });
    assert.equal(res.status, 200, res.text);
    const cv = await api.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assert.equal(cv.status, 201, cv.text);
    const put = await uploadTarball(api, cv.body.data, configTarball({ 'main.tf': CONFIG }));
    assert.equal(put.status, 200, put.text);
    return ws.id;
  }

  async function createRun(workspace: string): Promise<string> {
    const res = await api.post('/runs', { data: { type: 'runs', attributes: { 'auto-apply': true }, relationships: { workspace: { data: { type: 'workspaces', id: workspace } } } } });
    assert.equal(res.status, 201, res.text);
    return res.body.data.id;
  }

  async function jobsOf(runId: string): Promise<{ id: string; phase: string }[]> {
    const db = new pg.Client({ connectionString: server.databaseUrl });
    await db.connect();
    try {
      return (await db.query<{ id: string; phase: string }>('SELECT id, phase FROM jobs WHERE run_id = $1 ORDER BY created_at', [runId])).rows;
    } finally {
      await db.end();
    }
  }

  async function current(): Promise<Json> {
    const res = await api.get(`/workspaces/${wsId}/current-state-version`);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  async function download(sv: Json): Promise<Buffer> {
    const res = await api.request('GET', sv.attributes['hosted-state-download-url'], { headers: { Accept: '*/*' } });
    assert.equal(res.status, 200, res.text);
    return Buffer.from(res.text, 'utf8');
  }

  function late(job: string, body: Buffer, token: string | null, opts: { query?: string; contentType?: string } = {}): Promise<Response> {
    const query = opts.query ?? `?md5=${md5(body)}`;
    return api.request('POST', `/api/agent/jobs/${job}/late-state${query}`, { token, raw: body, headers: { 'Content-Type': opts.contentType ?? 'application/octet-stream' } });
  }

  /** A refusal: the status, a JSON:API error with a detail, and the current state version unchanged. */
  async function refused(send: () => Promise<Response>, status: number, detail: RegExp): Promise<Response> {
    const before = (await current()).id;
    const res = await send();
    assert.equal(res.status, status, res.text);
    assert.ok(Array.isArray(res.body?.errors) && res.body.errors.length > 0, `a JSON:API error document: ${res.text}`);
    assert.equal(typeof res.body.errors[0].detail, 'string', res.text);
    assert.match(res.body.errors[0].detail, detail);
    assert.equal((await current()).id, before, 'the current state version did not change');
    return res;
  }

  before(async () => {
    server = await startServer({ config: { concurrency: 0, agentHeartbeatSeconds: 1, agentGracePeriodSeconds: 600 } });
    api = server.api;
    const org = await createOrganization(api);
    const p = await pool(org);
    poolToken = p.token;
    wsId = await agentWorkspace(org, p.id);

    // A real agent applies one run.
    const agent = startAgent(server, ['--token', poolToken]);
    await agent.waitForLog('registered; waiting for jobs', 30_000);
    const run = await createRun(wsId);
    await until('the run to be applied', async () => (await api.get(`/runs/${run}`)).body.data.attributes.status, (s) => ['applied', 'errored', 'canceled'].includes(s), 60_000);
    assert.equal((await api.get(`/runs/${run}`)).body.data.attributes.status, 'applied', agent.describe());
    agent.child.kill('SIGTERM');
    await agent.exited;
    const jobs = await jobsOf(run);
    applyJob = jobs.find((j) => j.phase === 'apply')!.id;
    planJob = jobs.find((j) => j.phase === 'plan')!.id;
    applied = await download(await current());

    // A hand-driven agent of the same pool takes two plans: one it holds running, one it finishes,
    // so that its run's apply job is queued and never claimed.
    const reg = await api.request('POST', '/api/agent/register', { token: poolToken, body: { concurrency: 2 } });
    assert.equal(reg.status, 201, reg.text);
    accessToken = reg.body.token;
    const ws2 = await agentWorkspace(org, p.id);
    const heldRun = await createRun(wsId);
    const finishedRun = await createRun(ws2);
    const claimed: Json[] = [];
    while (claimed.length < 2) {
      const res = await api.request('GET', '/api/agent/jobs?wait=5', { token: accessToken });
      assert.equal(res.status, 200, res.text);
      claimed.push(...res.body.jobs);
    }
    const held = claimed.find((j) => j.run === heldRun)!;
    const fin = claimed.find((j) => j.run === finishedRun)!;
    heldPlanJob = held.id;
    jobToken = held.token;
    for (const j of [held, fin]) {
      const res = await api.request('POST', `/api/agent/jobs/${j.id}/start`, { token: j.token, body: {} });
      assert.equal(res.status, 200, res.text);
    }
    const done = await api.request('POST', `/api/agent/jobs/${fin.id}/finish`, { token: fin.token, body: { status: 'finished', hasChanges: true } });
    assert.equal(done.status, 200, done.text);
    idleApplyJob = await waitFor('the apply job to be queued', async () => (await jobsOf(finishedRun)).find((j) => j.phase === 'apply')?.id, 10_000);

    // Another organization, with its own pool and a queued apply.
    const org2 = await createOrganization(api);
    const p2 = await pool(org2);
    otherPoolToken = p2.token;
    const ws3 = await agentWorkspace(org2, p2.id);
    const otherRun = await createRun(ws3);
    // Its plan never runs (no agent in that pool), so only its plan job exists: take that.
    otherJob = await waitFor('the other pool\'s job', async () => (await jobsOf(otherRun))[0]?.id, 10_000);

    userToken = (await createUser(api)).token;
    const ot = await api.post(`/organizations/${org}/authentication-token`, { data: { type: 'authentication-token', attributes: { description: 'late' } } });
    assert.equal(ot.status, 201, ot.text);
    orgToken = ot.body.data.attributes.token;
  });

  after(async () => {
    await killLeftoverAgents();
    await server?.stop();
  });

  it('acknowledges the applied state again as a duplicate (agent token)', async () => {
    const sv = await current();
    const res = await late(applyJob, applied, poolToken);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { stateVersion: sv.id, current: true, duplicate: true });
    assert.equal((await current()).id, sv.id);
  });

  it('acknowledges it as a duplicate with an agent access token too', async () => {
    const sv = await current();
    const res = await late(applyJob, await download(sv), accessToken);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.duplicate, true, res.text);
    assert.equal(res.body.stateVersion, sv.id);
  });

  it('makes a state with serial+1 and the same lineage current', async () => {
    const before = await current();
    const doc = JSON.parse((await download(before)).toString('utf8')) as { serial: number; lineage: string };
    doc.serial += 1;
    const next = Buffer.from(JSON.stringify(doc));
    const res = await late(applyJob, next, poolToken);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.current, true, res.text);
    assert.equal(res.body.duplicate, false, res.text);
    const now = await current();
    assert.equal(now.id, res.body.stateVersion);
    assert.notEqual(now.id, before.id);
    assert.equal(now.attributes.serial, doc.serial);
    assert.equal(now.attributes.lineage, doc.lineage);
  });

  it('answers 404 for a job that does not exist', async () => {
    await refused(() => late('job-doesnotexist0000', applied, poolToken), 404, /not found/);
  });

  it('answers 404 for a job of another organization\'s pool, with either token', async () => {
    await refused(() => late(applyJob, applied, otherPoolToken), 404, /not found in this agent pool/);
    await refused(() => late(otherJob, applied, poolToken), 404, /not found in this agent pool/);
  });

  it('answers 409 for a plan job', async () => {
    await refused(() => late(planJob, applied, poolToken), 409, /is a plan/);
  });

  it('answers 409 for an apply job that never ran', async () => {
    await refused(() => late(idleApplyJob, applied, poolToken), 409, /never ran/);
  });

  it('answers 422 when the md5 does not match', async () => {
    await refused(() => late(applyJob, applied, poolToken, { query: `?md5=${md5(Buffer.from('something else'))}` }), 422, /MD5/);
  });

  it('answers 422 for a body that is not a state', async () => {
    await refused(() => late(applyJob, Buffer.from('this is not a state file'), poolToken), 422, /state/i);
    await refused(() => late(applyJob, Buffer.from('{"version":4}'), poolToken), 422, /state|serial|lineage/i);
  });

  it('answers 403 to the site token, a user token, an organization token and a job token', async () => {
    for (const token of [server.siteToken, userToken, orgToken, jobToken]) {
      await refused(() => late(applyJob, applied, token), 403, /agent token/);
    }
    // The job token's own job, which still runs, is no exception.
    await refused(() => late(heldPlanJob, applied, jobToken), 403, /agent token/);
  });

  it('answers 400 to a NUL byte in the path or the query', async () => {
    await refused(() => late(`${applyJob}%00`, applied, poolToken), 400, /NUL/);
    await refused(() => late(applyJob, applied, poolToken, { query: `?md5=${md5(applied)}%00` }), 400, /NUL/);
  });

  it('answers 415 to a body of another content type, JSON included (it would reach the route parsed, not as the state)', async () => {
    await refused(() => late(applyJob, applied, poolToken, { contentType: 'text/plain' }), 415, /content type|must be/);
    await refused(() => late(applyJob, applied, poolToken, { contentType: 'application/json' }), 415, /application\/octet-stream/);
  });

  it('answers 422 without an md5, or with one that is not a hex MD5', async () => {
    await refused(() => late(applyJob, applied, poolToken, { query: '' }), 422, /md5/);
    await refused(() => late(applyJob, applied, poolToken, { query: '?md5=not-hex' }), 422, /md5/);
  });

  // Oversize (413) is not tested: Api.request always sets Content-Length to the real body length,
  // overriding a header a test passes, so a small body cannot declare a huge length through it,
  // and sending MAX_STATE_BYTES (512 MiB) for real is out of the question.
});
