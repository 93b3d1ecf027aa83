// Benchmark of large states (P4): `terraform state push` and `terraform state pull` of a 50 MiB
// state (BENCH_STATE_MIB) through otfd, with the real terraform CLI and with the bare API, timing
// each transfer and sampling otfd's resident memory while it runs.
//
// The scenario has an otfd child of its own (--concurrency 0), so nothing else runs in it, and it is
// restarted on the same data dir before each transfer, so that no transfer starts with the garbage
// of the one before (V8 returns memory late). Its RSS is read from /proc/<pid>/status every 100 ms,
// and its peak RSS (VmHWM) is reset through /proc/<pid>/clear_refs before each transfer, so a peak
// between two samples is not missed. The target is that otfd's RSS grows by less than twice the
// size of the state while it moves it (peak minus the RSS just before). The embedded PostgreSQL's
// processes are not counted.
//
// The CLI reaches otfd over plain HTTP through a `host` block in its CLI configuration, as in
// bench/runs.ts; the workspace has execution-mode "local", so `state push` is all the CLI does.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Sampler, cliConfig, createOrganization, memoryKiB, startOtfd, terraform, terraformEnv, type Doc, type OtfdOptions, type OtfdProcess } from './lib.js';

const MiB = 2 ** 20;
/** The size of the generated state file: BENCH_STATE_MIB, default 50. */
const STATE_MIB = stateMiB();
const STATE_TARGET_BYTES = STATE_MIB * MiB;

export const STATE_SCENARIO = `terraform state push and state pull of a ${STATE_MIB} MiB state`;

const ORG = 'bench';
const WORKSPACE = 'big-state';
/** otfd's RSS may grow by less than this many times the state size while it moves the state. */
const TARGET_GROWTH_FACTOR = 2;
const SAMPLE_INTERVAL_MS = 100;
/** Idle time before each transfer, for otfd's memory to settle after the one before. */
const SETTLE_MS = 2_000;
const INSTANCES_PER_RESOURCE = 3;
const LINEAGE = '6a0c4f2e-5b1d-4e3a-9c7f-b2d8e1a4c953';
const TERRAFORM_VERSION = '1.11.4';

export interface StateBenchOptions {
  logLevel: NonNullable<OtfdOptions['logLevel']>;
  /** Node flags for the otfd child. */
  nodeArgs: string[];
}

/** otfd's memory around one transfer, in MiB. */
export interface MemoryWindow {
  /** RSS just before the transfer. */
  baselineMiB: number;
  /** The higher of the sampled peak and VmHWM (reset before the transfer). */
  peakMiB: number;
  peakSampledMiB: number;
  /** null when /proc/<pid>/clear_refs could not reset it. */
  peakHwmMiB: number | null;
  /** RSS two seconds after the transfer: what otfd kept. */
  afterMiB: number;
  growthMiB: number;
  /** growth divided by the size of the state. */
  growthPerStateSize: number;
  /** [milliseconds since the transfer started, RSS MiB], every 100 ms. */
  timeline: Array<[number, number]>;
}

export interface StateTransferResult {
  name: string;
  via: 'cli' | 'api';
  direction: 'push' | 'pull';
  /** Bytes of the state moved (as stored by otfd). */
  bytes: number;
  seconds: number;
  mibPerSec: number;
  /** API push: the PUT alone (seconds includes the POST); API pull: the download alone. */
  transferSeconds: number;
  memory: MemoryWindow;
  target: string;
  met: boolean;
}

export interface StateBenchResult {
  name: string;
  generated: { bytes: number; resources: number; instances: number; outputs: number; seconds: number };
  /** Whether VmHWM could be reset, so that peaks between samples count. */
  hwmReset: boolean;
  /** Bytes of the state the CLI uploaded (terraform writes the file anew, with serial + 1). */
  cliPushedBytes: number;
  /** The serial and lineage of the state the CLI uploaded (the file has serial 1 and a lineage of its own). */
  cliPushedSerial: number;
  cliPushedLineage: string;
  /** Bytes of the JSON state (terraform show -json) the CLI uploaded alongside, if any. */
  cliJsonStateBytes: number | null;
  /** How `terraform state pull` compares with GET hosted-state-download-url of the same version. */
  cliPullComparison: string;
  cliPullMatches: boolean;
  /** Whether the API download returned exactly the bytes the API push sent. */
  apiRoundTripIdentical: boolean;
  transfers: StateTransferResult[];
  targetGrowthFactor: number;
  met: boolean;
}

function stateMiB(): number {
  const raw = process.env.BENCH_STATE_MIB;
  if (raw === undefined || raw === '') return 50;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 400) throw new Error(`BENCH_STATE_MIB must be a number of MiB above 0 and at most 400, got "${raw}"`);
  return n;
}

// ---------------------------------------------------------------- the state file

/** A small deterministic pseudo-random generator (mulberry32), so every run pushes the same state. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu'.split(' ');

interface Generated {
  bytes: Buffer;
  resources: number;
  instances: number;
  outputs: number;
}

/**
 * A terraform v4 state of about STATE_TARGET_BYTES: thousands of terraform_data resources (the
 * builtin provider, so the CLI has their schema) whose input and output are objects with a long
 * description, labels and CIDR lists, written the way terraform writes them (2-space indent,
 * dynamic values as {"value", "type"}, object keys sorted).
 */
export function generateState(serial: number, lineage: string): Generated {
  const rand = random(4);
  const hex = (n: number) => {
    let s = '';
    while (s.length < n) s += Math.floor(rand() * 2 ** 32).toString(16).padStart(8, '0');
    return s.slice(0, n);
  };
  const uuid = () => {
    const h = hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
  const sentence = (chars: number) => {
    const words: string[] = [];
    let n = 0;
    while (n < chars) {
      const w = WORDS[Math.floor(rand() * WORDS.length)];
      words.push(w);
      n += w.length + 1;
    }
    return words.join(' ');
  };
  const valueType = ['object', { cidrs: ['list', 'string'], description: 'string', labels: ['map', 'string'], name: 'string', port: 'number' }];

  const resources: unknown[] = [];
  let size = 0;
  let instances = 0;
  for (let r = 0; size < STATE_TARGET_BYTES; r++) {
    const name = `app_${String(r).padStart(5, '0')}`;
    const list: unknown[] = [];
    for (let i = 0; i < INSTANCES_PER_RESOURCE; i++) {
      const labels: Record<string, string> = {};
      for (let l = 0; l < 12; l++) labels[`label-${String(l).padStart(2, '0')}`] = hex(64);
      const value = {
        cidrs: Array.from({ length: 8 }, () => `10.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.0/24`),
        description: sentence(1_200),
        labels,
        name: `${name}-${i}`,
        port: 1024 + Math.floor(rand() * 60_000),
      };
      list.push({
        index_key: i,
        schema_version: 0,
        attributes: { id: uuid(), input: { value, type: valueType }, output: { value, type: valueType }, triggers_replace: null },
        sensitive_attributes: [],
      });
      instances++;
    }
    const resource = { mode: 'managed', type: 'terraform_data', name, provider: 'provider["terraform.io/builtin/terraform"]', instances: list };
    // its size at its depth in the file: every line indented by 4 more, and ",\n" after it
    const text = JSON.stringify(resource, null, 2);
    size += text.length + 4 * (text.split('\n').length) + 2;
    resources.push(resource);
  }
  const outputs = {
    instance_count: { value: instances, type: 'number' },
    resource_names: { value: resources.slice(0, 50).map((_, r) => `app_${String(r).padStart(5, '0')}`), type: ['list', 'string'] },
    token: { value: hex(40), type: 'string', sensitive: true },
  };
  const state = { version: 4, terraform_version: TERRAFORM_VERSION, serial, lineage, outputs, resources, check_results: null };
  const bytes = Buffer.from(JSON.stringify(state, null, 2) + '\n', 'utf8');
  return { bytes, resources: resources.length, instances, outputs: Object.keys(outputs).length };
}

// ---------------------------------------------------------------- otfd's memory (/proc)

/** Samples a process's RSS every 100 ms while it runs. */
export class RssSampler extends Sampler<{ t: number; rssKiB: number }> {
  constructor(readonly pid: number) {
    super(() => ({ t: performance.now(), rssKiB: memoryKiB(pid).rssKiB }), SAMPLE_INTERVAL_MS);
  }

  /** Resets VmHWM to the current RSS (clear_refs 5, Linux 4.0 and later); false when not allowed. */
  resetPeak(): boolean {
    try {
      fs.writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      return true;
    } catch {
      return false;
    }
  }
}

const toMiB = (kib: number) => kib / 1024;

export interface Measured<T> {
  value: T;
  seconds: number;
  memory: MemoryWindow;
}

/** Runs one transfer, after otfd has been idle for a while, timing it and watching otfd's RSS. */
export async function measure<T>(sampler: RssSampler, stateBytes: number, op: () => Promise<T>): Promise<Measured<T> & { hwmReset: boolean }> {
  await delay(SETTLE_MS);
  const baselineKiB = sampler.sample().rssKiB;
  const hwmReset = sampler.resetPeak();
  const t0 = performance.now();
  const value = await op();
  const t1 = performance.now();
  sampler.sample();
  const hwmKiB = hwmReset ? memoryKiB(sampler.pid).hwmKiB : null;
  await delay(2_000);
  const afterKiB = sampler.sample().rssKiB;
  const inside = sampler.samples.filter((s) => s.t >= t0 && s.t <= t1 + SAMPLE_INTERVAL_MS);
  const sampledKiB = Math.max(baselineKiB, ...inside.map((s) => s.rssKiB));
  const peakKiB = Math.max(sampledKiB, hwmKiB ?? 0);
  const growthMiB = toMiB(peakKiB - baselineKiB);
  return {
    value,
    seconds: (t1 - t0) / 1000,
    hwmReset,
    memory: {
      baselineMiB: toMiB(baselineKiB),
      peakMiB: toMiB(peakKiB),
      peakSampledMiB: toMiB(sampledKiB),
      peakHwmMiB: hwmKiB === null ? null : toMiB(hwmKiB),
      afterMiB: toMiB(afterKiB),
      growthMiB,
      growthPerStateSize: growthMiB / (stateBytes / MiB),
      timeline: inside.map((s) => [Math.round(s.t - t0), Math.round(toMiB(s.rssKiB) * 10) / 10]),
    },
  };
}

// ---------------------------------------------------------------- HTTP and the CLI

type VersionAttributes = {
  serial: number;
  lineage: string;
  md5: string;
  size: number | null;
  status: string;
  'hosted-state-download-url': string | null;
  'hosted-json-state-download-url': string | null;
  'hosted-state-upload-url': string | null;
};

/** PUTs the bytes with node:http (no token: the URL is signed); resolves with the status. */
export function put(url: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Download {
  status: number;
  bytes: number;
  md5: string;
}

/** GETs a download URL with the token, hashing the body as it arrives; writes it to `file` when given. */
function download(url: string, token: string, file?: string): Promise<Download> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } }, (res) => {
      const hash = crypto.createHash('md5');
      const out = file ? fs.createWriteStream(file) : null;
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
        out?.write(chunk);
      });
      res.on('error', reject);
      res.on('end', () => {
        const done = () => resolve({ status: res.statusCode ?? 0, bytes, md5: hash.digest('hex') });
        if (out) out.end(done);
        else done();
      });
    });
    req.on('error', reject);
  });
}

/** How the CLI's `state pull` output compares with the downloaded state file. */
function comparePull(pulled: string, downloaded: string): { matches: boolean; description: string } {
  const a = fs.readFileSync(pulled);
  const b = fs.readFileSync(downloaded);
  if (a.equals(b)) return { matches: true, description: `identical (${b.length} bytes)` };
  const trim = (buf: Buffer) => {
    let end = buf.length;
    while (end > 0 && (buf[end - 1] === 0x0a || buf[end - 1] === 0x0d || buf[end - 1] === 0x20)) end--;
    return buf.subarray(0, end);
  };
  if (trim(a).equals(trim(b))) {
    return { matches: true, description: `identical but for trailing whitespace (pull ${a.length} bytes, download ${b.length} bytes)` };
  }
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return { matches: false, description: `differs from byte ${i} (pull ${a.length} bytes, download ${b.length} bytes)` };
}

// ---------------------------------------------------------------- the scenario

function transfer(
  name: string,
  via: 'cli' | 'api',
  direction: 'push' | 'pull',
  bytes: number,
  m: Measured<unknown>,
  transferSeconds: number,
): StateTransferResult {
  return {
    name,
    via,
    direction,
    bytes,
    seconds: m.seconds,
    mibPerSec: bytes / MiB / m.seconds,
    transferSeconds,
    memory: m.memory,
    target: `RSS growth < ${TARGET_GROWTH_FACTOR} x state size`,
    met: m.memory.growthPerStateSize < TARGET_GROWTH_FACTOR,
  };
}

async function currentVersion(client: Client, workspaceId: string): Promise<Doc<VersionAttributes>> {
  return (await client.expect(200, 'GET', `/workspaces/${workspaceId}/current-state-version`)) as Doc<VersionAttributes>;
}

/** One transfer's run of otfd: started on the scenario's data, watched, stopped. */
interface Phase {
  otfd: OtfdProcess;
  client: Client;
  sampler: RssSampler;
}

export async function runStateBenchmark(opts: StateBenchOptions): Promise<StateBenchResult> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'otf-bench-state-'));
  /** The first otfd: its temp dir, site token and port are reused by every restart. */
  const server: { first: OtfdProcess | null } = { first: null };
  /** Starts otfd (the first time on a new data dir, then restarted on it), runs fn, stops otfd. */
  const withOtfd = async <T>(fn: (p: Phase) => Promise<T>): Promise<T> => {
    const otfd = await startOtfd({
      logLevel: opts.logLevel,
      nodeArgs: opts.nodeArgs,
      concurrency: 0,
      keepTmpDir: true,
      restart: server.first ? { tmpDir: server.first.tmpDir, siteToken: server.first.siteToken, url: server.first.url } : undefined,
    });
    server.first ??= otfd;
    const sampler = new RssSampler(otfd.pid);
    try {
      sampler.start();
      return await fn({ otfd, client: new Client(otfd.url, otfd.siteToken), sampler });
    } finally {
      sampler.stop();
      await otfd.stop();
    }
  };
  try {
    const g0 = performance.now();
    const generated = generateState(1, LINEAGE);
    const generatedSeconds = (performance.now() - g0) / 1000;
    const stateFile = path.join(root, 'big.tfstate');
    fs.writeFileSync(stateFile, generated.bytes);
    const stateSize = generated.bytes.length;
    console.log(
      `  generated ${(stateSize / MiB).toFixed(1)} MiB: ${generated.resources.toLocaleString('en-US')} terraform_data resources, ` +
        `${generated.instances.toLocaleString('en-US')} instances (${generatedSeconds.toFixed(1)} s)`,
    );

    // set-up: the organization, a workspace with local execution, and `terraform init` of a cloud
    // block at it; the CLI reaches otfd over plain HTTP through a host block
    const host = 'otf.bench';
    const dir = path.join(root, 'cfg');
    const cliConfigFile = path.join(root, 'cli.tfrc');
    const env = terraformEnv(root, cliConfigFile);
    const workspaceId = await withOtfd(async ({ otfd, client }) => {
      await createOrganization(client, ORG);
      const ws = (await client.expect(201, 'POST', `/organizations/${ORG}/workspaces`, {
        data: { type: 'workspaces', attributes: { name: WORKSPACE, 'execution-mode': 'local' } },
      })) as Doc;
      fs.writeFileSync(cliConfigFile, cliConfig(host, otfd));
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'main.tf'), `terraform {\n  cloud {\n    hostname     = "${host}"\n    organization = "${ORG}"\n    workspaces { name = "${WORKSPACE}" }\n  }\n}\n`);
      await terraform(dir, ['init', '-input=false'], env);
      return ws.data.id;
    });

    /**
     * A freshly restarted otfd, warmed by two small requests, measured around op; then `after`,
     * unmeasured, on the same otfd.
     */
    const measured = <T, A = null>(op: (p: Phase) => Promise<T>, after?: (p: Phase) => Promise<A>) =>
      withOtfd(async (p) => {
        await p.client.expect(200, 'GET', `/workspaces/${workspaceId}`);
        await p.client.request('GET', `/workspaces/${workspaceId}/current-state-version`);
        const m = await measure(p.sampler, stateSize, () => op(p));
        return { ...m, after: after ? await after(p) : null };
      });
    const results: StateTransferResult[] = [];
    let hwmReset = true;

    // 1. terraform state push
    console.log('  terraform state push...');
    const cliPush = await measured(() => terraform(dir, ['state', 'push', stateFile], env));
    hwmReset &&= cliPush.hwmReset;
    const pushed = await withOtfd(async ({ otfd, client }) => {
      const version = await currentVersion(client, workspaceId);
      const jsonUrl = version.data.attributes['hosted-json-state-download-url'];
      return { version, jsonStateBytes: jsonUrl ? (await download(jsonUrl, otfd.siteToken)).bytes : null };
    });
    const pushedAttrs = pushed.version.data.attributes;
    const cliPushedBytes = pushedAttrs.size ?? 0;
    results.push(transfer('terraform state push', 'cli', 'push', cliPushedBytes, cliPush, cliPush.seconds));

    // 2. terraform state pull, then checked against the API's download of the same version
    console.log('  terraform state pull...');
    const pulledFile = path.join(root, 'pulled.tfstate');
    const downloadedFile = path.join(root, 'downloaded.tfstate');
    const cliPull = await measured(
      () => terraform(dir, ['state', 'pull'], env, pulledFile),
      async ({ otfd, client }) =>
        download((await currentVersion(client, workspaceId)).data.attributes['hosted-state-download-url']!, otfd.siteToken, downloadedFile),
    );
    hwmReset &&= cliPull.hwmReset;
    const check = cliPull.after!;
    if (check.md5 !== pushedAttrs.md5) throw new Error(`the download's md5 ${check.md5} is not the version's ${pushedAttrs.md5}`);
    const pull = comparePull(pulledFile, downloadedFile);
    results.push(transfer('terraform state pull', 'cli', 'pull', fs.statSync(pulledFile).size, cliPull, cliPull.seconds));

    // 3. the API: lock, POST a state version, PUT the state file to its upload URL, unlock. The same
    // content under the next serial and the lineage the CLI pushed.
    console.log('  API push: POST state-versions, PUT hosted-state-upload-url...');
    const next = generateState(pushedAttrs.serial + 1, pushedAttrs.lineage);
    const md5 = crypto.createHash('md5').update(next.bytes).digest('hex');
    let putSeconds = 0;
    const apiPush = await measured(async ({ client }) => {
      await client.expect(200, 'POST', `/workspaces/${workspaceId}/actions/lock`, {});
      const t0 = performance.now();
      const created = (await client.expect(201, 'POST', `/workspaces/${workspaceId}/state-versions`, {
        data: { type: 'state-versions', attributes: { serial: pushedAttrs.serial + 1, md5, lineage: pushedAttrs.lineage } },
      })) as Doc<VersionAttributes>;
      const p0 = performance.now();
      const status = await put(created.data.attributes['hosted-state-upload-url']!, next.bytes);
      const t1 = performance.now();
      putSeconds = (t1 - p0) / 1000;
      if (status !== 200) throw new Error(`PUT hosted-state-upload-url answered ${status}`);
      await client.expect(200, 'POST', `/workspaces/${workspaceId}/actions/unlock`);
      return (t1 - t0) / 1000;
    });
    hwmReset &&= apiPush.hwmReset;
    results.push(transfer('API: POST state-versions + PUT state', 'api', 'push', next.bytes.length, { ...apiPush, seconds: apiPush.value }, putSeconds));

    // 4. the API: GET current-state-version, GET its download URL
    console.log('  API pull: GET current-state-version, GET hosted-state-download-url...');
    let downloadSeconds = 0;
    const apiPull = await measured(async ({ otfd, client }) => {
      const current = await currentVersion(client, workspaceId);
      const d0 = performance.now();
      const d = await download(current.data.attributes['hosted-state-download-url']!, otfd.siteToken);
      downloadSeconds = (performance.now() - d0) / 1000;
      if (d.status !== 200) throw new Error(`GET hosted-state-download-url answered ${d.status}`);
      return d;
    });
    hwmReset &&= apiPull.hwmReset;
    results.push(transfer('API: GET current-state-version + download', 'api', 'pull', apiPull.value.bytes, apiPull, downloadSeconds));

    return {
      name: STATE_SCENARIO,
      generated: { bytes: stateSize, resources: generated.resources, instances: generated.instances, outputs: generated.outputs, seconds: generatedSeconds },
      hwmReset,
      cliPushedBytes,
      cliPushedSerial: pushedAttrs.serial,
      cliPushedLineage: pushedAttrs.lineage,
      cliJsonStateBytes: pushed.jsonStateBytes,
      cliPullComparison: pull.description,
      cliPullMatches: pull.matches,
      apiRoundTripIdentical: apiPull.value.md5 === md5 && apiPull.value.bytes === next.bytes.length,
      transfers: results,
      targetGrowthFactor: TARGET_GROWTH_FACTOR,
      met: results.every((r) => r.met),
    };
  } finally {
    if (server.first) fs.rmSync(server.first.tmpDir, { recursive: true, force: true });
    fs.rmSync(root, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- reporting

export function formatStateTable(r: StateBenchResult): string {
  const mib = (v: number) => v.toFixed(1);
  const header = ['state transfer', 'MiB', 's', 'MiB/s', 'RSS base', 'RSS peak', 'growth', 'growth/size', 'target', 'met'];
  const rows = r.transfers.map((t) => [
    t.name,
    mib(t.bytes / MiB),
    t.seconds.toFixed(2),
    mib(t.mibPerSec),
    mib(t.memory.baselineMiB),
    mib(t.memory.peakMiB),
    mib(t.memory.growthMiB),
    `${t.memory.growthPerStateSize.toFixed(2)} x`,
    `< ${r.targetGrowthFactor} x`,
    t.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i >= 8 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  const notes = [
    `state: ${mib(r.generated.bytes / MiB)} MiB generated (${r.generated.resources.toLocaleString('en-US')} resources, ${r.generated.instances.toLocaleString('en-US')} instances); ` +
      `the CLI pushed ${mib(r.cliPushedBytes / MiB)} MiB` +
      (r.cliJsonStateBytes === null ? ' and no JSON state' : ` and a ${mib(r.cliJsonStateBytes / MiB)} MiB JSON state alongside`),
    `each transfer on a freshly restarted otfd; RSS in MiB, base just before it, peak = max of 100 ms samples and VmHWM${r.hwmReset ? '' : ' (which could not be reset)'}`,
    `state pull vs download: ${r.cliPullComparison}; API push then download identical: ${r.apiRoundTripIdentical ? 'yes' : 'NO'}`,
    ...r.transfers
      .filter((t) => t.via === 'api')
      .map((t) => `${t.name}: ${t.direction === 'push' ? 'the PUT alone' : 'the download alone'} ${t.transferSeconds.toFixed(2)} s, ${mib(t.bytes / MiB / t.transferSeconds)} MiB/s`),
  ];
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), '', ...notes].join('\n');
}
