// Building blocks of the benchmark suite: an otfd child process with its own embedded PostgreSQL,
// seeding through the JSON:API, and autocannon scenarios turned into result records.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

/** The repository root (this file runs as dist/bench/lib.js). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const MEDIA_TYPE = 'application/vnd.api+json';

// ---------------------------------------------------------------- small helpers

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Seconds from an environment variable, or the fallback when unset or empty. */
export function envSeconds(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number of seconds, got "${raw}"`);
  return n;
}

/** Maps items with at most `limit` calls in flight; results keep the order of the items. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

// ---------------------------------------------------------------- otfd

export interface OtfdOptions {
  /** --log-level of the child; default warn. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Extra arguments for node before bin/otfd, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof']. */
  nodeArgs?: string[];
  /** Give up waiting for /api/v2/ping after this long (initdb takes a few seconds). */
  startTimeoutMs?: number;
  /** --concurrency of the server agent; default 0 (no runs executed). */
  concurrency?: number;
  /** More otfd flags, after the ones above, e.g. ['--agent-heartbeat-interval', '10']. */
  extraArgs?: string[];
  /**
   * Start on the temp dir (data dir, PostgreSQL cluster) of an earlier otfd that was started with
   * keepTmpDir and has stopped, with its site token and port: the same server, restarted.
   */
  restart?: { tmpDir: string; siteToken: string; url: string };
  /** stop() leaves the temp dir in place, for a restart; the caller removes it. */
  keepTmpDir?: boolean;
}

export interface OtfdProcess {
  url: string;
  siteToken: string;
  pid: number;
  /** Temporary directory holding the data dir; removed by stop(). */
  tmpDir: string;
  /** The last lines otfd wrote, for diagnostics. */
  outputTail(): string;
  /** SIGTERM (otfd stops its embedded PostgreSQL), wait for exit, remove the temp dir. */
  stop(): Promise<void>;
  /** performance.now() when the otfd process exited. */
  exitedAt: Promise<number>;
}

/** Keeps the last `max` lines a child writes (stdout and stderr). */
export function tailOf(child: ChildProcess, max = 50): () => string {
  const lines: string[] = [];
  const take = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line);
      if (lines.length > max) lines.shift();
    }
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  return () => lines.join('\n');
}

/** Every otfd started and not yet stopped, for stopAllOtfds. */
const live = new Set<OtfdProcess>();

/** Stops every otfd this process started (on Ctrl-C), in parallel. */
export async function stopAllOtfds(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Starts `node bin/otfd` as a child process on a fresh embedded PostgreSQL in a temp dir and waits
 * until GET /api/v2/ping answers.
 */
export async function startOtfd(opts: OtfdOptions = {}): Promise<OtfdProcess> {
  const tmpDir = opts.restart?.tmpDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'otf-bench-'));
  // When we are root, the embedded PostgreSQL runs as the postgres user, which must be able to
  // traverse down to <data-dir>/postgres (see src/db/embedded.ts).
  fs.chmodSync(tmpDir, 0o755);
  const dataDir = path.join(tmpDir, 'data');
  const port = opts.restart ? Number(new URL(opts.restart.url).port) : await freePort();
  const siteToken = opts.restart?.siteToken ?? `bench-${crypto.randomBytes(16).toString('hex')}`;
  const args = [
    ...(opts.nodeArgs ?? []),
    path.join(REPO_ROOT, 'bin', 'otfd'),
    '--data-dir',
    dataDir,
    '--address',
    `127.0.0.1:${port}`,
    '--site-token',
    siteToken,
    '--log-level',
    opts.logLevel ?? 'warn',
    '--concurrency',
    String(opts.concurrency ?? 0),
    ...(opts.extraArgs ?? []),
  ];
  // Its own process group: a Ctrl-C in the terminal reaches only us, and we stop otfd once, in order.
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, OTF_ENGINE_BINS_DIR: path.join(tmpDir, 'engines') },
  });
  const outputTail = tailOf(child);
  const exitedAt = new Promise<number>((resolve) => child.once('exit', () => resolve(performance.now())));
  const gone = exitedAt.then(() => undefined);
  // Last resort when we exit without stop() (a crash): otfd still gets its SIGTERM.
  const onExit = () => {
    if (!exited(child)) child.kill('SIGTERM');
  };
  process.on('exit', onExit);
  const url = `http://127.0.0.1:${port}`;

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (!exited(child)) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        await gone;
        clearTimeout(timer);
      }
      process.off('exit', onExit);
      if (!opts.keepTmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
      live.delete(handle);
    })());

  const handle: OtfdProcess = { url, siteToken, pid: child.pid!, tmpDir, outputTail, stop, exitedAt };
  live.add(handle);
  try {
    const deadline = Date.now() + (opts.startTimeoutMs ?? 120_000);
    for (;;) {
      if (exited(child)) throw new Error(`otfd exited (code ${child.exitCode}, signal ${child.signalCode}) before it answered:\n${outputTail()}`);
      try {
        const res = await fetch(`${url}/api/v2/ping`);
        await res.arrayBuffer();
        if (res.status === 204 || res.status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`otfd did not answer /api/v2/ping within ${opts.startTimeoutMs ?? 120_000} ms:\n${outputTail()}`);
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return handle;
}

/**
 * The connection string of an otfd's embedded PostgreSQL, read from its data dir: the port and
 * socket directory from postmaster.pid, the password otfd generated. For the baseline server.
 */
export function otfdDatabaseUrl(otfd: OtfdProcess): string {
  const dataDir = path.join(otfd.tmpDir, 'data');
  const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
  if (!fs.existsSync(pidFile)) throw new Error(`no ${pidFile}: the embedded PostgreSQL cluster is not where the bench expects it`);
  // postmaster.pid: pid, data dir, start time, port, socket directory, listen address, ...
  const lines = fs.readFileSync(pidFile, 'utf8').split('\n');
  const port = lines[3].trim();
  const socketDir = lines[4].trim();
  const password = encodeURIComponent(fs.readFileSync(path.join(dataDir, 'postgres-password'), 'utf8').trim());
  return socketDir
    ? `postgres://otf:${password}@localhost:${port}/otf?host=${encodeURIComponent(socketDir)}`
    : `postgres://otf:${password}@127.0.0.1:${port}/otf`;
}

/** The postmaster of an otfd's embedded PostgreSQL and its children (the backends), by /proc. */
export function postgresPids(otfd: OtfdProcess): number[] {
  let postmaster: number;
  try {
    postmaster = Number(fs.readFileSync(path.join(otfd.tmpDir, 'data', 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return [];
  }
  const pids = [postmaster];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid ...: the comm may hold spaces, so read after its closing parenthesis.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** CPU time (user + system) the processes have used so far, in milliseconds; 0 for those gone. */
export function cpuMs(pids: readonly number[]): number {
  const tickMs = 10; // USER_HZ is 100 on Linux
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime are fields 14 and 15 of stat, 12 and 13 after the comm.
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return ticks * tickMs;
}

/** Whose CPU time a scenario measures: the HTTP server's process and the database's. */
export interface CpuSources {
  server: number;
  database: () => number[];
}

export interface BaselineProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts bench/baseline.ts as a child process on otfd's database and waits until it listens. */
export async function startBaseline(otfd: OtfdProcess, nodeArgs: string[] = []): Promise<BaselineProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, path.join(REPO_ROOT, 'dist', 'bench', 'baseline.js')], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BASELINE_DATABASE_URL: otfdDatabaseUrl(otfd), BASELINE_PORT: String(port) },
  });
  const outputTail = tailOf(child);
  const onExit = () => {
    if (!exited(child)) child.kill('SIGTERM');
  };
  process.on('exit', onExit);
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    process.off('exit', onExit);
    if (!exited(child)) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
  };
  const deadline = Date.now() + 30_000;
  while (!outputTail().includes('listening')) {
    if (exited(child) || Date.now() > deadline) {
      await stop();
      throw new Error(`the baseline server did not start:\n${outputTail()}`);
    }
    await sleep(50);
  }
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop };
}

// ---------------------------------------------------------------- seeding through the API

export interface ApiResult {
  status: number;
  body: unknown;
}

export class Client {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
  ) {}

  async request(method: string, apiPath: string, body?: unknown): Promise<ApiResult> {
    const res = await fetch(`${this.baseUrl}/api/v2${apiPath}`, {
      method,
      headers: {
        Accept: MEDIA_TYPE,
        Authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'Content-Type': MEDIA_TYPE }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? (JSON.parse(text) as unknown) : null;
    } catch {
      // keep the text
    }
    return { status: res.status, body: parsed };
  }

  /** Like request, but throws unless the status is the expected one. */
  async expect(status: number, method: string, apiPath: string, body?: unknown): Promise<unknown> {
    const res = await this.request(method, apiPath, body);
    if (res.status !== status) throw new Error(`${method} ${apiPath}: expected ${status}, got ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
    return res.body;
  }
}

/** A JSON:API document of one resource, as the benchmarks read them. */
export interface Doc<A = Record<string, unknown>> {
  data: { id: string; attributes: A };
}

/** The `data.id` of a JSON:API document. */
function dataId(doc: unknown): string {
  const id = (doc as { data?: { id?: unknown } } | null)?.data?.id;
  if (typeof id !== 'string') throw new Error(`response has no data.id: ${JSON.stringify(doc).slice(0, 300)}`);
  return id;
}

export async function createOrganization(client: Client, name: string): Promise<string> {
  const doc = await client.expect(201, 'POST', '/organizations', {
    data: { type: 'organizations', attributes: { name, email: `${name}@example.com` } },
  });
  return dataId(doc);
}

/** Creates `count` workspaces named `<prefix>-00001`... with at most `concurrency` requests in flight; returns their ids. */
export async function createWorkspaces(client: Client, org: string, count: number, opts: { concurrency?: number; prefix?: string } = {}): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `${opts.prefix ?? 'ws'}-${String(i + 1).padStart(5, '0')}`);
  return mapLimit(names, opts.concurrency ?? 16, async (name) =>
    dataId(await client.expect(201, 'POST', `/organizations/${encodeURIComponent(org)}/workspaces`, { data: { type: 'workspaces', attributes: { name } } })),
  );
}

// ---------------------------------------------------------------- scenarios

export interface Target {
  /** Mean requests per second at least this. */
  minRps?: number;
  /** Mean requests per second at least this share of the baseline server's (0.5 = half). */
  minBaselineRatio?: number;
  /** p99 latency below this many milliseconds. */
  maxP99Ms?: number;
}

export interface Scenario<C> {
  name: string;
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path (with query) relative to the server root, e.g. /api/v2/workspaces/ws-1. */
  path: (ctx: C) => string;
  body?: (ctx: C) => unknown;
  /** The bearer token of the requests; default the site token. */
  token?: (ctx: C) => string;
  /** Status every request should answer with; checked once before the run. Default 200. */
  expectStatus?: number;
  target?: Target;
  /** Which baseline it is compared with: a single read's (default) or a page of 100 rows'. */
  baseline?: BaselineKind;
}

export type BaselineKind = 'single' | 'list';

export interface RunSettings {
  connections: number;
  durationSec: number;
  warmupSec: number;
}

export interface ScenarioResult {
  name: string;
  method: string;
  path: string;
  connections: number;
  durationSec: number;
  requestsTotal: number;
  rpsMean: number;
  rpsStddev: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  throughputBytesPerSec: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  target: Target | null;
  /** null when the scenario has no target. */
  targetMet: boolean | null;
  /** This scenario against the baseline server of the same run; null when there was none. */
  baseline: { rpsRatio: number; p99Ratio: number } | null;
  /**
   * CPU milliseconds per request of the server process and of PostgreSQL (postmaster and
   * backends), from /proc: what a request costs whatever else the machine is doing.
   */
  cpuMsPerRequest: { server: number; database: number } | null;
}

function targetMet(target: Target | undefined, rps: number, p99: number, baselineRps: number | null): boolean | null {
  if (!target) return null;
  const ratioMet = target.minBaselineRatio === undefined || (baselineRps !== null && rps >= target.minBaselineRatio * baselineRps);
  return ratioMet && (target.minRps === undefined || rps >= target.minRps) && (target.maxP99Ms === undefined || p99 < target.maxP99Ms);
}

/** Sets each result's ratio to its baseline's and judges the targets that depend on it. */
export function compareToBaseline(results: ScenarioResult[], baselineOf: (r: ScenarioResult) => ScenarioResult | null): void {
  for (const r of results) {
    const baseline = baselineOf(r);
    r.baseline = baseline ? { rpsRatio: r.rpsMean / baseline.rpsMean, p99Ratio: r.latencyMs.p99 / baseline.latencyMs.p99 } : null;
    r.targetMet = targetMet(r.target ?? undefined, r.rpsMean, r.latencyMs.p99, baseline?.rpsMean ?? null);
  }
}

export function describeTarget(t: Target | null): string {
  if (!t) return '';
  const parts: string[] = [];
  if (t.minBaselineRatio !== undefined) parts.push(`>= ${Math.round(t.minBaselineRatio * 100)} % of baseline req/s`);
  if (t.minRps !== undefined) parts.push(`>= ${t.minRps.toLocaleString('en-US')} req/s`);
  if (t.maxP99Ms !== undefined) parts.push(`p99 < ${t.maxP99Ms} ms`);
  return parts.join(', ');
}

/** Runs one scenario: a sanity request, a warm-up, then the measured autocannon run. */
export async function runScenario<C>(
  server: Pick<OtfdProcess, 'url' | 'siteToken'>,
  scenario: Scenario<C>,
  ctx: C,
  settings: RunSettings,
  cpu?: CpuSources,
): Promise<ScenarioResult> {
  const method = scenario.method ?? 'GET';
  const urlPath = scenario.path(ctx);
  const payload = scenario.body ? JSON.stringify(scenario.body(ctx)) : undefined;
  const headers: Record<string, string> = { Authorization: `Bearer ${scenario.token?.(ctx) ?? server.siteToken}`, Accept: MEDIA_TYPE };
  if (payload !== undefined) headers['Content-Type'] = MEDIA_TYPE;

  const probe = await fetch(`${server.url}${urlPath}`, { method, headers, body: payload });
  const probeText = await probe.text();
  const expected = scenario.expectStatus ?? 200;
  if (probe.status !== expected) throw new Error(`${scenario.name}: ${method} ${urlPath} answered ${probe.status}, expected ${expected}: ${probeText.slice(0, 300)}`);

  const options = (duration: number): autocannon.Options => ({
    url: `${server.url}${urlPath}`,
    method,
    headers,
    body: payload,
    connections: settings.connections,
    duration,
  });
  if (settings.warmupSec > 0) await autocannon(options(settings.warmupSec));
  const dbPids = cpu?.database() ?? [];
  const before = cpu ? { server: cpuMs([cpu.server]), database: cpuMs(dbPids) } : null;
  const r = await autocannon({ ...options(settings.durationSec), title: scenario.name });
  const after = cpu ? { server: cpuMs([cpu.server]), database: cpuMs(dbPids) } : null;
  const perRequest = (a: number, b: number) => (r.requests.total > 0 ? (b - a) / r.requests.total : 0);

  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = stat.count ?? 0;
  return {
    name: scenario.name,
    method,
    path: urlPath,
    connections: settings.connections,
    durationSec: r.duration,
    requestsTotal: r.requests.total,
    rpsMean: r.requests.mean,
    rpsStddev: r.requests.stddev,
    latencyMs: { mean: r.latency.mean, p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    throughputBytesPerSec: r.throughput.mean,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    statusCodes,
    target: scenario.target ?? null,
    targetMet: targetMet(scenario.target, r.requests.mean, r.latency.p99, null),
    baseline: null,
    cpuMsPerRequest: before && after ? { server: perRequest(before.server, after.server), database: perRequest(before.database, after.database) } : null,
  };
}

// ---------------------------------------------------------------- the terraform CLI

/** A CLI configuration that has the terraform CLI reach otfd as `host` over plain HTTP, with the site token. */
export function cliConfig(host: string, otfd: OtfdProcess): string {
  return `host "${host}" {\n  services = {\n    "tfe.v2" = "${otfd.url}/api/v2/"\n  }\n}\ncredentials "${host}" {\n  token = "${otfd.siteToken}"\n}\n`;
}

/** The environment of the terraform CLI: its home and CLI configuration file, no checkpoint calls. */
export function terraformEnv(home: string, cliConfigFile: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, TF_CLI_CONFIG_FILE: cliConfigFile, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' };
}

/** Runs terraform; stdout goes to `stdoutFile` when given. Resolves with the seconds it took when it exits 0. */
export function terraform(cwd: string, args: string[], env: NodeJS.ProcessEnv, stdoutFile?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let fd = stdoutFile ? fs.openSync(stdoutFile, 'w') : null;
    const closeFd = () => {
      if (fd !== null) fs.closeSync(fd);
      fd = null;
    };
    const child = spawn('terraform', args, { cwd, env, stdio: ['ignore', fd ?? 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', (err) => {
      closeFd();
      reject(err);
    });
    child.on('close', (code) => {
      closeFd();
      if (code !== 0) reject(new Error(`terraform ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve((performance.now() - started) / 1000);
    });
  });
}

// ---------------------------------------------------------------- process sampling (/proc)

/** VmRSS and VmHWM of a process (/proc/<pid>/status), in KiB; 0 once it is gone. */
export function memoryKiB(pid: number): { rssKiB: number; hwmKiB: number } {
  let text = '';
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // gone
  }
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)\\s+kB$`, 'm').exec(text)?.[1] ?? 0);
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}

/** Samples taken on demand and, while started, every `intervalMs`; all of them are kept. */
export class Sampler<S extends { t: number }> {
  readonly samples: S[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly take: () => S,
    private readonly intervalMs: number,
  ) {}

  sample(): S {
    const s = this.take();
    this.samples.push(s);
    return s;
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

// ---------------------------------------------------------------- reporting

export function formatTable(results: ScenarioResult[]): string {
  const header = ['scenario', 'req/s (mean)', 'p50 ms', 'p99 ms', 'req/s / baseline', 'p99 / baseline', 'CPU ms/req server+db', 'errors/non-2xx', 'target', 'met'];
  const rows = results.map((r) => [
    r.name,
    r.rpsMean.toFixed(0),
    r.latencyMs.p50.toFixed(1),
    r.latencyMs.p99.toFixed(1),
    r.baseline ? `${(r.baseline.rpsRatio * 100).toFixed(0)} %` : '-',
    r.baseline ? `${r.baseline.p99Ratio.toFixed(1)}x` : '-',
    r.cpuMsPerRequest ? `${r.cpuMsPerRequest.server.toFixed(2)}+${r.cpuMsPerRequest.database.toFixed(2)}` : '-',
    `${r.errors}/${r.non2xx}`,
    describeTarget(r.target) || '-',
    r.targetMet === null ? '-' : r.targetMet ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const numeric = new Set([1, 2, 3, 4, 5, 6, 7]);
  const line = (cells: string[]) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export interface MachineFacts {
  date: string;
  node: string;
  platform: string;
  arch: string;
  cpus: number;
  cpuModel: string;
  totalMemoryMiB: number;
  loadAverage: number[];
  gitCommit: string | null;
}

export function machineFacts(): MachineFacts {
  let gitCommit: string | null = null;
  try {
    gitCommit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    // not a checkout
  }
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: os.platform(),
    arch: os.arch(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    totalMemoryMiB: Math.round(os.totalmem() / 2 ** 20),
    loadAverage: os.loadavg(),
    gitCommit,
  };
}

export function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}
