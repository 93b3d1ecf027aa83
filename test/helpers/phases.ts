// Small steps shared by the tests of timeouts, force-end and agent hooks: a pool with an agent
// token, a workspace with a configuration, a run, waiting for its status, and reading its logs.
import assert from 'node:assert/strict';
import type { Api, Json } from './api.js';
import { randomName } from './server.js';
import { configTarball, rawRequest, uploadTarball } from './tarball.js';
import { sleep, until } from './wait.js';

export const FINAL_STATUSES = ['applied', 'planned_and_finished', 'discarded', 'errored', 'canceled', 'force_canceled'];

/** A pool of the organization and an agent token of it. */
export async function poolWithToken(api: Api, org: string): Promise<{ pool: Json; token: string }> {
  const pool = await api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } });
  assert.equal(pool.status, 201, pool.text);
  const token = await api.post(`/agent-pools/${pool.body.data.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'test' } } });
  assert.equal(token.status, 201, token.text);
  return { pool: pool.body.data, token: token.body.data.attributes.token };
}

export async function assignToPool(api: Api, wsId: string, poolId: string): Promise<void> {
  const res = await api.patch(`/workspaces/${wsId}`, { data: { type: 'workspaces', attributes: { 'execution-mode': 'agent', 'agent-pool-id': poolId } } });
  assert.equal(res.status, 200, res.text);
}

export async function uploadConfig(api: Api, wsId: string, files: Record<string, string>): Promise<void> {
  const res = await api.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
  assert.equal(res.status, 201, res.text);
  const put = await uploadTarball(api, res.body.data, configTarball(files));
  assert.equal(put.status, 200, put.text);
}

export async function setVariable(api: Api, wsId: string, key: string, value: string, extra: Record<string, unknown> = {}): Promise<void> {
  const res = await api.post(`/workspaces/${wsId}/vars`, { data: { type: 'vars', attributes: { key, value, category: 'terraform', ...extra } } });
  assert.equal(res.status, 201, res.text);
}

export async function createRun(api: Api, wsId: string, attributes: Record<string, unknown> = {}): Promise<Json> {
  const res = await api.post('/runs', { data: { type: 'runs', attributes, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } });
  assert.equal(res.status, 201, res.text);
  return res.body.data;
}

export async function getRun(api: Api, id: string): Promise<Json> {
  const res = await api.get(`/runs/${id}`);
  assert.equal(res.status, 200, res.text);
  return res.body.data;
}

/** Waits until the run's status is one of `wanted`; fails at once when it ends in another. */
export async function waitForRun(api: Api, id: string, wanted: string[], describe: () => string = () => '', timeoutMs = 60_000): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await getRun(api, id);
    const status: string = run.attributes.status;
    if (wanted.includes(status)) return run;
    const context = async () => `${run.attributes['error-message'] ?? ''}\n--- plan log\n${await phaseLog(api, run, 'plan')}\n--- apply log\n${await phaseLog(api, run, 'apply')}\n${describe()}`;
    if (FINAL_STATUSES.includes(status)) assert.fail(`expected run ${id} to reach ${wanted.join(' or ')}, but it ended ${status}: ${await context()}`);
    if (Date.now() > deadline) assert.fail(`run ${id} is still ${status} after ${timeoutMs} ms, waiting for ${wanted.join(' or ')}: ${await context()}`);
    await sleep(100);
  }
}

/** The text of the run's plan or apply log as it stands (without STX and ETX). */
export async function phaseLog(api: Api, run: Json, phase: 'plan' | 'apply'): Promise<string> {
  const id = run.relationships[phase].data.id;
  const res = await api.get(`/${phase === 'plan' ? 'plans' : 'applies'}/${id}`);
  assert.equal(res.status, 200, res.text);
  const url = new URL(res.body.data.attributes['log-read-url']);
  url.search = '?limit=10000000&offset=0';
  const log = await rawRequest(api, 'GET', url.toString());
  if (log.status !== 200) return `(log not readable: ${log.status})`;
  return withoutMarks(log.bytes);
}

/** Waits until the phase's log has ended (its ETX is there) and returns its text. */
export async function finalLog(api: Api, run: Json, phase: 'plan' | 'apply'): Promise<string> {
  const id = run.relationships[phase].data.id;
  const kind = phase === 'plan' ? 'plans' : 'applies';
  const done = await until(`the ${phase} of ${run.id} to end`, async () => (await api.get(`/${kind}/${id}`)).body.data, (d: Json) => ['finished', 'errored', 'canceled', 'unreachable'].includes(d.attributes.status));
  const url = new URL(done.attributes['log-read-url']);
  url.search = '?limit=10000000&offset=0';
  const log = await until(`the ${phase} log of ${run.id} to be complete`, () => rawRequest(api, 'GET', url.toString()), (r) => r.status === 200 && r.bytes[r.bytes.length - 1] === 0x03);
  return withoutMarks(log.bytes);
}

/** Whether a process of this pid is still there. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A log stream's text without its STX and ETX. */
function withoutMarks(bytes: Buffer): string {
  let b = bytes;
  if (b[0] === 0x02) b = b.subarray(1);
  if (b[b.length - 1] === 0x03) b = b.subarray(0, -1);
  return b.toString('utf8');
}
