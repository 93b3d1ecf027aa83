// Benchmarks of run execution: how fast the server dispatches a new run to its agent, and what
// running `terraform apply` through otfd costs against the same apply on the local backend.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { cliConfig, terraform, terraformEnv, type Client, type OtfdProcess } from './lib.js';

export interface LatencyResult {
  name: string;
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  target: string;
  met: boolean;
}

export interface ComparisonResult {
  name: string;
  resources: number;
  localSeconds: number;
  otfdSeconds: number;
  ratio: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The nearest-rank percentile of ascending numbers. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export interface RunDoc {
  data: { id: string; attributes: { status: string; 'status-timestamps': Record<string, string>; 'upload-url': string } };
}

export async function waitForStatus(client: Client, runId: string, done: (status: string) => boolean): Promise<RunDoc> {
  for (;;) {
    const doc = (await client.expect(200, 'GET', `/runs/${runId}`)) as RunDoc;
    if (done(doc.data.attributes.status)) return doc;
    await sleep(20);
  }
}

async function tarball(files: Record<string, string>): Promise<Buffer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'otf-bench-cfg-'));
  try {
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
    const chunks: Buffer[] = [];
    for await (const chunk of tar.c({ gzip: true, cwd: dir }, Object.keys(files)) as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Uploads a configuration of `files` to the workspace (no run is queued by the upload). */
export async function uploadConfiguration(client: Client, workspaceId: string, files: Record<string, string>): Promise<void> {
  const cv = (await client.expect(201, 'POST', `/workspaces/${workspaceId}/configuration-versions`, {
    data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } },
  })) as RunDoc;
  const upload = await fetch(cv.data.attributes['upload-url'], { method: 'PUT', body: await tarball(files) });
  if (!upload.ok) throw new Error(`configuration upload failed: ${upload.status}`);
}

/** The configuration every dispatch benchmark plans. */
export const DISPATCH_CONFIGURATION = { 'main.tf': 'output "x" { value = 1 }\n' };

export interface DispatchSample {
  runId: string;
  /** planning-at minus plan-queueable-at, both stamped by otfd. */
  ms: number;
  /** plan-queueable-at, epoch milliseconds. */
  queuedAt: number;
}

/** Creates one speculative run on the workspace, waits for it to finish, and times its dispatch. */
export async function timeDispatch(client: Client, workspaceId: string): Promise<DispatchSample> {
  const run = (await client.expect(201, 'POST', '/runs', {
    data: { type: 'runs', attributes: { 'plan-only': true }, relationships: { workspace: { data: { type: 'workspaces', id: workspaceId } } } },
  })) as RunDoc;
  const done = await waitForStatus(client, run.data.id, (s) => s === 'planned_and_finished' || s === 'errored');
  if (done.data.attributes.status === 'errored') throw new Error(`dispatch run ${run.data.id} errored`);
  const t = done.data.attributes['status-timestamps'];
  const queuedAt = Date.parse(t['plan-queueable-at']);
  return { runId: run.data.id, ms: Date.parse(t['planning-at']) - queuedAt, queuedAt };
}

/**
 * Time from a run being created to its plan job being started by the server agent, over `count`
 * speculative runs one after another (the run's plan-queueable-at to its planning-at, both
 * stamped by otfd).
 */
export async function measureDispatch(client: Client, org: string, count: number): Promise<LatencyResult> {
  const ws = (await client.expect(201, 'POST', `/organizations/${org}/workspaces`, { data: { type: 'workspaces', attributes: { name: 'dispatch' } } })) as RunDoc;
  await uploadConfiguration(client, ws.data.id, DISPATCH_CONFIGURATION);
  const latencies: number[] = [];
  for (let i = 0; i < count + 2; i++) {
    const { ms } = await timeDispatch(client, ws.data.id);
    // the first two warm up the agent (engine version lookup, connections)
    if (i >= 2) latencies.push(ms);
  }
  latencies.sort((a, b) => a - b);
  const p50 = percentile(latencies, 50);
  return {
    name: 'run created to plan job started (server agent)',
    samples: latencies.length,
    p50Ms: p50,
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1],
    target: 'p50 < 25 ms',
    met: p50 < 25,
  };
}

/**
 * `terraform apply -auto-approve` of the same configuration of `resources` resources, once on the
 * local backend and once through otfd (a cloud block; the server agent runs it). The CLI reaches
 * otfd over plain HTTP through a `host` block in its CLI configuration, so no certificate is needed.
 */
export async function compareApply(otfd: OtfdProcess, org: string, resources: number): Promise<ComparisonResult> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'otf-bench-apply-'));
  try {
    const body = `resource "terraform_data" "r" {\n  count = ${resources}\n  input = count.index\n}\n\noutput "n" { value = length(terraform_data.r) }\n`;
    const host = 'otf.bench';
    const cliConfigFile = path.join(root, 'cli.tfrc');
    fs.writeFileSync(cliConfigFile, cliConfig(host, otfd));
    const env = terraformEnv(root, cliConfigFile);

    const local = path.join(root, 'local');
    fs.mkdirSync(local);
    fs.writeFileSync(path.join(local, 'main.tf'), body);
    await terraform(local, ['init', '-input=false'], env);
    const localSeconds = await terraform(local, ['apply', '-auto-approve', '-input=false'], env);

    const remote = path.join(root, 'remote');
    fs.mkdirSync(remote);
    fs.writeFileSync(
      path.join(remote, 'main.tf'),
      `terraform {\n  cloud {\n    hostname     = "${host}"\n    organization = "${org}"\n    workspaces { name = "apply-${resources}" }\n  }\n}\n\n${body}`,
    );
    await terraform(remote, ['init', '-input=false'], env);
    const otfdSeconds = await terraform(remote, ['apply', '-auto-approve', '-input=false'], env);
    return { name: `terraform apply -auto-approve, ${resources} resources`, resources, localSeconds, otfdSeconds, ratio: otfdSeconds / localSeconds };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
