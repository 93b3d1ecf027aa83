// The web UI's benchmarks (`BENCH_ONLY="web UI"`), on an otfd of their own (--concurrency 0):
//
// - page server time: one organization of 1,000 workspaces, one of which has 1,000 runs (queued
//   for an agent pool, so they stay); a signed-in visitor (session cookie) asks for each page
//   200 times, one request at a time, so each time is otfd's time for the page plus a localhost
//   round trip. Target: p99 under 200 ms (the issue: no page over 200 ms server time).
// - log latency: a simulated runner takes the first run's plan job and writes log chunks through
//   the agent protocol (PUT /api/agent/jobs/:id/logs) while an SSE client reads the run page's
//   event stream, as a browser's htmx does; each sample is the time from sending a chunk to its
//   line arriving on the stream. Target: p50 under 500 ms (the issue: within 1 s).
import http from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { AgentHttp } from '../test/helpers/agent-http.js';
import { Client, cpuMs, createOrganization, createWorkspaces, mapLimit, postgresPids, startOtfd, type Doc, type OtfdOptions, type OtfdProcess } from './lib.js';
import { percentile, uploadConfiguration } from './runs.js';

export const WEB_PAGES_SCENARIO = 'web UI pages';
export const WEB_LOG_SCENARIO = 'web UI log latency';

const ORG = 'bench';
const WORKSPACES = 1_000;
const RUNS = 1_000;
const REQUESTS = 200;
const WARMUP_REQUESTS = 10;
const LOG_SAMPLES = 100;
/** Lines written to the run's log after the latency samples, so its page shows a log of some size. */
const BULK_LOG_LINES = 2_000;
const PAGE_TARGET_MS = 200;
const LOG_TARGET_MS = 500;
const SEED_CONCURRENCY = 16;

export interface PageTiming {
  name: string;
  path: string;
  requests: number;
  status: number;
  bytes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /**
   * CPU milliseconds per request of otfd and of PostgreSQL (from /proc): what a page costs
   * whatever else the machine is doing, where the wall-clock times above include waiting for a CPU.
   */
  cpuMsPerRequest: { server: number; database: number };
  target: string;
  met: boolean;
}

export interface LogLatency {
  name: string;
  samples: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  target: string;
  met: boolean;
}

export interface WebBenchResult {
  seedSeconds: number;
  workspaces: number;
  runs: number;
  pages: PageTiming[];
  logLatency: LogLatency | null;
}

export interface WebBenchOptions {
  wants: (name: string) => boolean;
  logLevel: OtfdOptions['logLevel'];
  nodeArgs: string[];
}

export async function runWebBenchmarks(opts: WebBenchOptions): Promise<WebBenchResult> {
  const otfd = await startOtfd({ logLevel: opts.logLevel, nodeArgs: opts.nodeArgs, concurrency: 0 });
  try {
    const client = new Client(otfd.url, otfd.siteToken);
    console.log(`  seeding ${WORKSPACES.toLocaleString('en-US')} workspaces and a workspace of ${RUNS.toLocaleString('en-US')} runs...`);
    const t0 = performance.now();
    await createOrganization(client, ORG);
    await createWorkspaces(client, ORG, WORKSPACES, { concurrency: SEED_CONCURRENCY });
    const seed = await seedRuns(client);
    const seedSeconds = (performance.now() - t0) / 1000;
    console.log(`  seeded in ${seedSeconds.toFixed(1)} s`);
    const cookie = await signIn(otfd);
    const runPath = `/app/${ORG}/workspaces/${seed.workspace}/runs/${seed.firstRunId}`;

    // The first run's plan job, held by a simulated runner that writes its log.
    const runner = await Runner.start(otfd, seed.agentToken);
    let logLatency: LogLatency | null = null;
    try {
      if (opts.wants(WEB_LOG_SCENARIO)) {
        console.log(`  "${WEB_LOG_SCENARIO}": ${LOG_SAMPLES} log chunks written by a runner, read from the run page's event stream...`);
        logLatency = await measureLogLatency(otfd, cookie, runPath, runner);
      }
      // A log of some size on the run page, as a real plan leaves.
      const bulk = Array.from({ length: BULK_LOG_LINES }, (_, i) => `\u001b[0m\u001b[1mterraform_data.item[${i}]\u001b[0m: Creating...  \u001b[32m+ input = "value ${i}"\u001b[0m\n`).join('');
      await runner.writeLog(bulk);

      const pages: PageTiming[] = [];
      if (opts.wants(WEB_PAGES_SCENARIO)) {
        const targets: Array<{ name: string; path: string }> = [
          // The smallest page: what any page costs (session, layout) on this machine at this moment.
          { name: 'organizations (the smallest page)', path: '/app/organizations' },
          { name: `workspace list (${WORKSPACES.toLocaleString('en-US')} workspaces)`, path: `/app/${ORG}/workspaces` },
          { name: 'workspace list, searched (10 of 1,000)', path: `/app/${ORG}/workspaces?search=ws-0050` },
          { name: `workspace overview (${RUNS.toLocaleString('en-US')} runs)`, path: `/app/${ORG}/workspaces/${seed.workspace}` },
          { name: `runs list (${RUNS.toLocaleString('en-US')} runs)`, path: `/app/${ORG}/workspaces/${seed.workspace}/runs` },
          { name: `run page (of ${RUNS.toLocaleString('en-US')}, ${(BULK_LOG_LINES + LOG_SAMPLES).toLocaleString('en-US')} log lines)`, path: runPath },
          { name: `run page (of ${RUNS.toLocaleString('en-US')}, the last, queued)`, path: `/app/${ORG}/workspaces/${seed.workspace}/runs/${seed.lastRunId}` },
        ];
        for (const t of targets) {
          console.log(`  "${WEB_PAGES_SCENARIO}": ${t.name}, ${REQUESTS} requests one at a time...`);
          pages.push(await timePage(otfd, cookie, t.name, t.path));
        }
      }
      return { seedSeconds, workspaces: WORKSPACES, runs: RUNS, pages, logLatency };
    } finally {
      await runner.stop();
    }
  } finally {
    await otfd.stop();
  }
}

interface RunsSeed {
  workspace: string;
  firstRunId: string;
  lastRunId: string;
  agentToken: string;
}

/** A workspace of an agent pool with RUNS runs: the first waits for a runner, the rest behind it. */
async function seedRuns(client: Client): Promise<RunsSeed> {
  const pool = (await client.expect(201, 'POST', `/organizations/${ORG}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: 'bench-web', 'organization-scoped': true } } })) as Doc;
  const token = (await client.expect(201, 'POST', `/agent-pools/${pool.data.id}/authentication-tokens`, {
    data: { type: 'authentication-tokens', attributes: { description: 'bench' } },
  })) as Doc<{ token: string }>;
  const workspace = 'bench-web-runs';
  const ws = (await client.expect(201, 'POST', `/organizations/${ORG}/workspaces`, {
    data: { type: 'workspaces', attributes: { name: workspace, 'execution-mode': 'agent', 'agent-pool-id': pool.data.id } },
  })) as Doc;
  await uploadConfiguration(client, ws.data.id, { 'main.tf': 'output "x" { value = 1 }\n' });
  const run = (i: number) => ({ data: { type: 'runs', attributes: { message: `bench run ${i}` }, relationships: { workspace: { data: { type: 'workspaces', id: ws.data.id } } } } });
  // The first alone, so that it is the one the runner gets.
  const first = (await client.expect(201, 'POST', '/runs', run(0))) as Doc;
  const rest = await mapLimit(
    Array.from({ length: RUNS - 1 }, (_, i) => i + 1),
    SEED_CONCURRENCY,
    async (i) => ((await client.expect(201, 'POST', '/runs', run(i))) as Doc).data.id,
  );
  return { workspace, firstRunId: first.data.id, lastRunId: rest[rest.length - 1], agentToken: token.data.attributes.token };
}

/** A session cookie for the site admin, through the sign-in form as a browser gets one. */
async function signIn(otfd: OtfdProcess): Promise<string> {
  const form = await fetch(`${otfd.url}/login`);
  const pre = cookiesOf(form);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1];
  if (!csrf) throw new Error('the sign-in page has no CSRF token');
  const res = await fetch(`${otfd.url}/login/token`, {
    method: 'POST',
    redirect: 'manual',
    headers: { Cookie: pre, Origin: otfd.url, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, token: otfd.siteToken }).toString(),
  });
  const session = cookiesOf(res);
  if (res.status !== 303 || !session.includes('otf_session=')) throw new Error(`signing in: ${res.status} ${(await res.text()).slice(0, 300)}`);
  return session;
}

function cookiesOf(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .filter((c) => !c.endsWith('='))
    .join('; ');
}

async function timePage(otfd: OtfdProcess, cookie: string, name: string, path: string): Promise<PageTiming> {
  const get = async () => {
    const started = performance.now();
    const res = await fetch(`${otfd.url}${path}`, { headers: { Cookie: cookie, Accept: 'text/html' }, redirect: 'manual' });
    const body = await res.arrayBuffer();
    return { ms: performance.now() - started, status: res.status, bytes: body.byteLength };
  };
  const probe = await get();
  // A page that is not there (yet) is reported, not measured: the other rows still count.
  if (probe.status !== 200) {
    console.log(`    GET ${path} answered ${probe.status}: not measured`);
    return { name, path, requests: 0, status: probe.status, bytes: probe.bytes, p50Ms: NaN, p99Ms: NaN, maxMs: NaN, cpuMsPerRequest: { server: NaN, database: NaN }, target: `p99 < ${PAGE_TARGET_MS} ms`, met: false };
  }
  for (let i = 0; i < WARMUP_REQUESTS; i++) await get();
  const before = { server: cpuMs([otfd.pid]), database: cpuByPid(postgresPids(otfd)) };
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const r = await get();
    if (r.status !== 200) throw new Error(`${name}: GET ${path} answered ${r.status}`);
    times.push(r.ms);
  }
  const cpuMsPerRequest = { server: round((cpuMs([otfd.pid]) - before.server) / REQUESTS), database: round(cpuSince(before.database, postgresPids(otfd)) / REQUESTS) };
  times.sort((a, b) => a - b);
  const p99 = percentile(times, 99);
  return {
    name,
    path,
    requests: REQUESTS,
    status: probe.status,
    bytes: probe.bytes,
    p50Ms: round(percentile(times, 50)),
    p99Ms: round(p99),
    maxMs: round(times[times.length - 1]),
    cpuMsPerRequest,
    target: `p99 < ${PAGE_TARGET_MS} ms`,
    met: p99 < PAGE_TARGET_MS,
  };
}

/** CPU milliseconds of each process. */
function cpuByPid(pids: number[]): Map<number, number> {
  return new Map(pids.map((pid) => [pid, cpuMs([pid])]));
}

/**
 * CPU milliseconds the processes used since `before`: PostgreSQL's backends come and go with the
 * pool's connections, so each is compared with itself (one that started since counts whole, one
 * that ended is lost: a slight undercount rather than a negative).
 */
function cpuSince(before: Map<number, number>, pids: number[]): number {
  return pids.reduce((sum, pid) => sum + Math.max(0, cpuMs([pid]) - (before.get(pid) ?? 0)), 0);
}

/** A runner (pool agent) that holds one plan job and writes its log, heartbeating meanwhile. */
class Runner {
  private offset = 0;
  private readonly stopping = new AbortController();
  private readonly heartbeat: Promise<void>;

  private constructor(
    private readonly baseUrl: string,
    private readonly agentApi: AgentHttp,
    private readonly accessToken: string,
    private readonly jobId: string,
    private readonly jobToken: string,
    heartbeatSeconds: number,
  ) {
    this.heartbeat = this.beat(heartbeatSeconds);
  }

  static async start(otfd: OtfdProcess, agentToken: string): Promise<Runner> {
    const agentHttp = new AgentHttp(otfd.url, { defaultTimeoutMs: 60_000 });
    const reg = await agentHttp.call('POST', '/api/agent/register', agentToken, { name: 'bench-web-runner', version: 'bench', concurrency: 1 });
    if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body).slice(0, 200)}`);
    const agent = reg.body as { token: string; heartbeatSeconds: number };
    for (let tries = 0; tries < 10; tries++) {
      const poll = await agentHttp.call('GET', '/api/agent/jobs?wait=5', agent.token);
      if (poll.status !== 200) throw new Error(`poll: ${poll.status} ${JSON.stringify(poll.body).slice(0, 200)}`);
      const job = (poll.body as { jobs: Array<{ id: string; token: string; phase: string }> }).jobs[0];
      if (!job) continue;
      const start = await agentHttp.call('POST', `/api/agent/jobs/${job.id}/start`, job.token, {});
      if (start.status !== 200) throw new Error(`start: ${start.status} ${JSON.stringify(start.body).slice(0, 200)}`);
      return new Runner(otfd.url, agentHttp, agent.token, job.id, job.token, agent.heartbeatSeconds);
    }
    throw new Error('the runner got no job');
  }

  /** Appends text to the job's log at the current offset, as otf-agent sends a chunk. */
  async writeLog(text: string): Promise<void> {
    const data = Buffer.from(text);
    const res = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        `${this.baseUrl}/api/agent/jobs/${this.jobId}/logs?offset=${this.offset}`,
        { method: 'PUT', headers: { Authorization: `Bearer ${this.jobToken}`, 'Content-Type': 'application/octet-stream', 'Content-Length': data.length }, agent: this.keepAlive },
        (r) => {
          r.resume();
          r.on('end', () => resolve(r.statusCode ?? 0));
          r.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(data);
    });
    if (res !== 200) throw new Error(`log chunk at ${this.offset}: ${res}`);
    this.offset += data.length;
  }

  /** Log chunks are raw bytes, which AgentHttp (JSON) does not send: plain http, kept alive. */
  private readonly keepAlive = new http.Agent({ keepAlive: true });

  private async beat(seconds: number): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        await delay(seconds * 1000, undefined, { signal: this.stopping.signal });
      } catch {
        return;
      }
      await this.agentApi.call('POST', '/api/agent/sync', this.accessToken, { status: 'busy', jobs: [this.jobId] }).catch(() => undefined);
    }
  }

  /** Finishes the job and deregisters, so that otfd stops with nothing in hand. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.heartbeat;
    await this.agentApi.call('POST', `/api/agent/jobs/${this.jobId}/finish`, this.jobToken, { status: 'finished', hasChanges: false, counts: { additions: 0, changes: 0, destructions: 0, imports: 0 } }).catch(() => undefined);
    await this.agentApi.call('POST', '/api/agent/deregister', this.accessToken, {}).catch(() => undefined);
    this.keepAlive.destroy();
  }
}

/** Reads a Server-Sent Events stream and resolves a waiter when its marker arrives. */
class StreamReader {
  private text = '';
  private scanned = 0;
  private readonly waiters = new Map<string, (at: number) => void>();
  private readonly seen = new Map<string, number>();
  private req: http.ClientRequest | null = null;

  open(url: string, cookie: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.req = http.get(url, { headers: { Cookie: cookie, Accept: 'text/event-stream' } }, (res) => {
        if (res.statusCode !== 200 || !String(res.headers['content-type']).includes('text/event-stream')) {
          reject(new Error(`event stream ${url}: ${res.statusCode} ${res.headers['content-type']}`));
          res.resume();
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => this.take(chunk));
        res.on('error', () => undefined);
        resolve();
      });
      this.req.on('error', reject);
    });
  }

  private take(chunk: string): void {
    const at = performance.now();
    this.text += chunk;
    // Markers may straddle chunks: look again at the end of what was scanned before.
    const from = Math.max(0, this.scanned - 32);
    const re = /bench-line-(\d{5})/g;
    re.lastIndex = from;
    for (let m = re.exec(this.text); m; m = re.exec(this.text)) {
      if (!this.seen.has(m[0])) {
        this.seen.set(m[0], at);
        this.waiters.get(m[0])?.(at);
        this.waiters.delete(m[0]);
      }
    }
    this.scanned = this.text.length;
    // Keep memory flat: only the tail matters for straddling markers.
    if (this.text.length > 1 << 20) {
      this.text = this.text.slice(-64);
      this.scanned = this.text.length;
    }
  }

  /** When the marker arrives (or arrived); null after timeoutMs. */
  arrival(marker: string, timeoutMs: number): Promise<number | null> {
    const at = this.seen.get(marker);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(marker);
        resolve(null);
      }, timeoutMs);
      this.waiters.set(marker, (t) => {
        clearTimeout(timer);
        resolve(t);
      });
    });
  }

  close(): void {
    this.req?.destroy();
  }
}

async function measureLogLatency(otfd: OtfdProcess, cookie: string, runPath: string, runner: Runner): Promise<LogLatency> {
  // The stream the run page's htmx connects to, as the page names it.
  const pageRes = await fetch(`${otfd.url}${runPath}`, { headers: { Cookie: cookie, Accept: 'text/html' } });
  const pageHtml = await pageRes.text();
  if (pageRes.status !== 200) throw new Error(`run page ${runPath}: ${pageRes.status}`);
  const connect = /sse-connect="([^"]+)"/.exec(pageHtml)?.[1]?.replace(/&amp;/g, '&');
  if (!connect) throw new Error(`the run page ${runPath} names no event stream (sse-connect)`);
  const stream = new StreamReader();
  await stream.open(new URL(connect, otfd.url).toString(), cookie);
  try {
    // Let the stream settle (its initial events) before the first sample.
    await delay(500);
    const samples: number[] = [];
    let lost = 0;
    for (let i = 0; i < LOG_SAMPLES; i++) {
      const marker = `bench-line-${String(i).padStart(5, '0')}`;
      const arrival = stream.arrival(marker, 10_000);
      const sent = performance.now();
      await runner.writeLog(`\u001b[32m${marker}\u001b[0m: a line of the plan, as terraform prints it\n`);
      const at = await arrival;
      if (at === null) lost++;
      else samples.push(at - sent);
      // A runner sends a chunk about every 100-500 ms; 50 ms apart is a busy one.
      await delay(50);
    }
    samples.sort((a, b) => a - b);
    const p50 = samples.length ? percentile(samples, 50) : Infinity;
    return {
      name: 'runner log chunk → run page event stream',
      samples: samples.length,
      lost,
      p50Ms: round(p50),
      p99Ms: samples.length ? round(percentile(samples, 99)) : Infinity,
      maxMs: samples.length ? round(samples[samples.length - 1]) : Infinity,
      target: `p50 < ${LOG_TARGET_MS} ms, none lost`,
      met: lost === 0 && p50 < LOG_TARGET_MS,
    };
  } finally {
    stream.close();
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

export function formatWebTable(r: WebBenchResult): string {
  const header = ['web UI (signed-in visitor, one request at a time)', 'requests', 'KiB', 'p50 ms', 'p99 ms', 'max ms', 'CPU ms/req server+db', 'target', 'met'];
  const rows = r.pages.map((p) =>
    p.requests === 0
      ? [`${p.name}: answered ${p.status}`, '0', '-', '-', '-', '-', '-', p.target, 'NO']
      : [
          p.name,
          String(p.requests),
          (p.bytes / 1024).toFixed(0),
          p.p50Ms.toFixed(1),
          p.p99Ms.toFixed(1),
          p.maxMs.toFixed(1),
          `${p.cpuMsPerRequest.server.toFixed(1)}+${p.cpuMsPerRequest.database.toFixed(1)}`,
          p.target,
          p.met ? 'yes' : 'NO',
        ],
  );
  if (r.logLatency) {
    const l = r.logLatency;
    rows.push([l.name, `${l.samples}${l.lost ? ` (+${l.lost} lost)` : ''}`, '-', l.p50Ms.toFixed(1), l.p99Ms.toFixed(1), l.maxMs.toFixed(1), '-', l.target, l.met ? 'yes' : 'NO']);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const numeric = new Set([1, 2, 3, 4, 5, 6]);
  const line = (cells: string[]) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
