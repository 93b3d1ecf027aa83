// Benchmarks of pool agents (P3): how fast otfd dispatches a new run to an idle otf-agent, and
// what 1,000 idle agents holding long-polls cost otfd (memory, CPU) while runs are still dispatched
// to them at once, waking one agent per queued job.
//
// Each scenario runs against its own otfd child (--concurrency 0: no server agent, so every job
// goes to the pool). Dispatch latency is a run's planning-at minus its plan-queueable-at, both
// stamped by otfd: planning-at when the runner reports the job started.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, REPO_ROOT, Sampler, createOrganization, exited, mapLimit, memoryKiB, startOtfd, tailOf, type Doc, type OtfdOptions, type OtfdProcess } from './lib.js';
import { DISPATCH_CONFIGURATION, percentile, timeDispatch, uploadConfiguration, type DispatchSample, type LatencyResult } from './runs.js';
import { AgentHttp, type CallOptions, type Reply } from '../test/helpers/agent-http.js';

export const AGENT_DISPATCH_SCENARIO = 'dispatch latency from run created to job started on an idle pool agent';
export const LONG_POLL_SCENARIO = '1,000 simulated idle agents holding long-polls against one otfd';
export const SIGTERM_SCENARIO = 'SIGTERM to exit with 1,000 idle agents';
export const REGISTRATION_SCENARIO = 'registration to job start: an otf-agent registering while a run waits for its pool';
/** Runs measured by the registration scenario (after one warm-up): each starts a fresh single-job otf-agent. */
const REGISTRATION_RUNS = 5;
/** The bound: a run waiting for a pool with no agent starts this soon after an agent registers. */
const REGISTRATION_TARGET_MS = 100;

const ORG = 'bench';
const WARMUP_RUNS = 2;
const TARGET_P50_MS = 25;
const TARGET_P99_MS = 100;
const SIM_AGENTS = 1_000;
/** otfd --agent-heartbeat-interval for the long-poll scenario: 100 syncs/s from 1,000 agents. */
const SIM_HEARTBEAT_SECONDS = 10;
const POLL_WAIT_SECONDS = 30;
const REGISTER_CONCURRENCY = 16;
const SAMPLE_INTERVAL_MS = 500;

export interface AgentBenchOptions {
  /** Whether the scenario of this name is selected (BENCH_ONLY). */
  wants: (name: string) => boolean;
  logLevel: NonNullable<OtfdOptions['logLevel']>;
  /** Node flags for the otfd children. */
  nodeArgs: string[];
  /** Node flags for the otf-agent child (BENCH_AGENT_NODE_ARGS). */
  agentNodeArgs: string[];
  /** Speculative runs measured per dispatch benchmark (after the warm-up runs). */
  runs: number;
  /** How long the 1,000 agents are sampled holding their long-polls before runs are dispatched. */
  holdSeconds: number;
}

export interface AgentDispatchResult extends LatencyResult {
  warmupRuns: number;
  minMs: number;
  meanMs: number;
  p50Target: number;
  p99Target: number;
  p50Met: boolean;
  p99Met: boolean;
}

export interface ProcessWindow {
  seconds: number;
  /** otfd's node process: 100 is one core busy. */
  otfdCpuPct: number;
  /** The embedded PostgreSQL (every process below otfd). */
  postgresCpuPct: number;
  /** This bench process, which plays the 1,000 agents. */
  benchCpuPct: number;
  otfdRssPeakMiB: number;
}

export interface LongPollResult {
  name: string;
  agents: number;
  heartbeatSeconds: number;
  pollWaitSeconds: number;
  registerSeconds: number;
  otfdRssBeforeMiB: number;
  otfdRssPeakMiB: number;
  otfdRssEndMiB: number;
  /** otfd's V8 heap in use and its external memory (Buffers), from its /metrics: before the agents, and at the end of holding. */
  otfdHeap: { beforeUsedMiB: number; beforeExternalMiB: number; holdingUsedMiB: number; holdingExternalMiB: number };
  /** otfd idle, no agents yet. */
  before: ProcessWindow;
  /** 1,000 agents holding long-polls and sending heartbeats, no runs. */
  hold: ProcessWindow & {
    pollsAnswered: number;
    pollsIssuedPerSec: number;
    syncsPerSec: number;
    syncP50Ms: number;
    syncP99Ms: number;
    syncMaxMs: number;
  };
  /** The same while runs are dispatched one after another. */
  dispatchWindow: ProcessWindow;
  dispatch: AgentDispatchResult;
  jobs: number;
  /** Long-polls that returned before their wait was up, per job: the client's view of wake-ups. */
  pollsAnsweredPerJob: number;
  /** Agents otfd touched after a job was queued without their asking, per job: the server's view (from last-ping-at). */
  agentsWokenPerJob: number;
  /** Agents whose last-ping-at moved after a job was queued, per job, woken or not (our own heartbeats and long-polls too). */
  agentsTouchedPerJob: number;
  /** How many jobs woke how many agents, e.g. {"1": 50}. */
  wakeHistogram: Record<string, number>;
  /** Jobs claimed by a long-poll that was already waiting (woken), and by one that started after the job was queued. */
  jobsToWaitingPoll: number;
  jobsToNewPoll: number;
  /** Long-polls that came back empty before their wait was up (a wake-up that found nothing). */
  pollsEarlyEmpty: number;
  errors: { register: number; poll: number; sync: number; job: number; deregister: number; samples: string[] };
  /** Statuses of the 1,000 agents just before they deregistered. */
  statusesBeforeDeregister: Record<string, number>;
  deregistered: number;
  /** The pool's agent-count after deregistration (live agents left). */
  liveAgentsAfter: number;
}

export interface SigtermResult {
  name: string;
  agents: number;
  /** Agents whose long-poll otfd had read (last-ping-at after they started polling) when SIGTERM was sent. */
  agentsHolding: number;
  /** From SIGTERM to the otfd process's exit, its embedded PostgreSQL's stop included. */
  sigtermToExitMs: number;
  targetMs: number;
  met: boolean;
}

export interface RegistrationResult {
  name: string;
  samplesMs: number[];
  p50Ms: number;
  maxMs: number;
  target: string;
  met: boolean;
}

export interface AgentBenchResults {
  agentDispatch: AgentDispatchResult | null;
  longPolls: LongPollResult | null;
  sigterm: SigtermResult | null;
  registration: RegistrationResult | null;
}

// ---------------------------------------------------------------- shared set-up

interface PoolSetup {
  client: Client;
  poolId: string;
  agentToken: string;
  workspaceId: string;
}

/** An organization, an agent pool with an agent token, and an agent-mode workspace of that pool with a configuration. */
async function setUpPool(otfd: OtfdProcess, workspace: string): Promise<PoolSetup> {
  const client = new Client(otfd.url, otfd.siteToken);
  await createOrganization(client, ORG);
  const pool = (await client.expect(201, 'POST', `/organizations/${ORG}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: 'bench' } } })) as Doc;
  const token = (await client.expect(201, 'POST', `/agent-pools/${pool.data.id}/authentication-tokens`, {
    data: { type: 'authentication-tokens', attributes: { description: 'bench' } },
  })) as Doc<{ token: string }>;
  const ws = (await client.expect(201, 'POST', `/organizations/${ORG}/workspaces`, {
    data: { type: 'workspaces', attributes: { name: workspace, 'execution-mode': 'agent', 'agent-pool-id': pool.data.id } },
  })) as Doc;
  await uploadConfiguration(client, ws.data.id, DISPATCH_CONFIGURATION);
  return { client, poolId: pool.data.id, agentToken: token.data.attributes.token, workspaceId: ws.data.id };
}

interface AgentView {
  id: string;
  status: string;
  lastPingAt: string | null;
}

/** Agents of the pool (all pages), optionally only those with last-ping-at at or after `since`. */
async function listAgents(client: Client, poolId: string, since?: string): Promise<AgentView[]> {
  const out: AgentView[] = [];
  const filter = since ? `&filter[last-ping-since]=${encodeURIComponent(since)}` : '';
  for (let page = 1; ; page++) {
    const doc = (await client.expect(200, 'GET', `/agent-pools/${poolId}/agents?page[size]=100&page[number]=${page}${filter}`)) as {
      data: Array<{ id: string; attributes: { status: string; 'last-ping-at': string | null } }>;
      meta?: { pagination?: { 'total-pages'?: number } };
    };
    for (const a of doc.data) out.push({ id: a.id, status: a.attributes.status, lastPingAt: a.attributes['last-ping-at'] });
    if (doc.data.length < 100 || page >= (doc.meta?.pagination?.['total-pages'] ?? page)) return out;
  }
}

function latencyResult(name: string, samples: number[]): AgentDispatchResult {
  const sorted = [...samples].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  return {
    name,
    samples: sorted.length,
    warmupRuns: WARMUP_RUNS,
    minMs: sorted[0],
    meanMs: sorted.reduce((s, v) => s + v, 0) / sorted.length,
    p50Ms: p50,
    p99Ms: p99,
    maxMs: sorted[sorted.length - 1],
    target: `p50 < ${TARGET_P50_MS} ms, p99 < ${TARGET_P99_MS} ms`,
    p50Target: TARGET_P50_MS,
    p99Target: TARGET_P99_MS,
    p50Met: p50 < TARGET_P50_MS,
    p99Met: p99 < TARGET_P99_MS,
    met: p50 < TARGET_P50_MS && p99 < TARGET_P99_MS,
  };
}

// ---------------------------------------------------------------- (1) one real otf-agent

interface AgentChild {
  child: ChildProcess;
  outputTail: () => string;
  exited: Promise<number | null>;
}

function startAgentProcess(otfd: OtfdProcess, token: string, nodeArgs: string[], extraArgs: string[] = ['--name', 'bench-otf-agent']): AgentChild {
  const enginesDir = path.join(otfd.tmpDir, 'agent-engines');
  fs.mkdirSync(enginesDir, { recursive: true });
  const args = [
    ...nodeArgs,
    path.join(REPO_ROOT, 'bin', 'otf-agent'),
    '--token',
    token,
    '--address',
    otfd.url,
    ...extraArgs,
    '--log-level',
    'warn',
    '--engine-bins-dir',
    enginesDir,
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const outputTail = tailOf(child, 30);
  const gone = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Last resort when we exit without stopping it (a crash).
  const onExit = () => {
    if (!exited(child)) child.kill('SIGTERM');
  };
  process.on('exit', onExit);
  void gone.then(() => process.off('exit', onExit));
  return { child, outputTail, exited: gone };
}

/** SIGTERM (the agent deregisters and exits 0); SIGKILL if it takes longer than 30 s. */
async function stopAgentProcess(agent: AgentChild): Promise<number | null> {
  if (exited(agent.child)) return agent.child.exitCode;
  agent.child.kill('SIGTERM');
  const timer = setTimeout(() => agent.child.kill('SIGKILL'), 30_000);
  const code = await agent.exited;
  clearTimeout(timer);
  return code;
}

/** Waits until the agent (or the only agent of the pool) is idle: polling for a job. */
async function waitIdle(client: Client, poolId: string, agent: AgentChild, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited(agent.child)) {
      throw new Error(`otf-agent exited (code ${agent.child.exitCode}, signal ${agent.child.signalCode}):\n${agent.outputTail()}`);
    }
    const idle = (await listAgents(client, poolId)).find((a) => a.status === 'idle');
    if (idle) return idle.id;
    if (Date.now() > deadline) throw new Error(`otf-agent was not idle within ${timeoutMs} ms:\n${agent.outputTail()}`);
    await delay(20);
  }
}

async function benchAgentDispatch(opts: AgentBenchOptions): Promise<AgentDispatchResult> {
  const otfd = await startOtfd({ logLevel: opts.logLevel, nodeArgs: opts.nodeArgs, concurrency: 0 });
  let agent: AgentChild | null = null;
  try {
    const setup = await setUpPool(otfd, 'agent-dispatch');
    agent = startAgentProcess(otfd, setup.agentToken, opts.agentNodeArgs);
    const agentId = await waitIdle(setup.client, setup.poolId, agent, 60_000);
    console.log(`  otf-agent ${agentId} (pid ${agent.child.pid}) is idle; ${WARMUP_RUNS} warm-up + ${opts.runs} speculative runs...`);
    const latencies: number[] = [];
    for (let i = 0; i < opts.runs + WARMUP_RUNS; i++) {
      let sample: DispatchSample;
      try {
        sample = await timeDispatch(setup.client, setup.workspaceId);
      } catch (err) {
        throw new Error(`${(err as Error).message}; otf-agent said:\n${agent.outputTail()}`, { cause: err });
      }
      if (i >= WARMUP_RUNS) latencies.push(sample.ms);
      // The run ends when the agent reports the plan; it then cleans up and long-polls again
      // (otf-agent re-polls within 100 ms of a job's end). Wait until it is idle in its next
      // long-poll, so each run is dispatched to an idle, waiting agent.
      for (;;) {
        const doc = (await setup.client.expect(200, 'GET', `/agents/${agentId}`)) as Doc<{ status: string; 'last-ping-at': string }>;
        if (doc.data.attributes.status === 'idle') break;
        await delay(10);
      }
      await delay(150);
    }
    const result = latencyResult(AGENT_DISPATCH_SCENARIO, latencies);
    const code = await stopAgentProcess(agent);
    if (code !== 0) console.log(`  otf-agent exited with code ${code} after SIGTERM (expected 0):\n${agent.outputTail()}`);
    return result;
  } finally {
    if (agent) await stopAgentProcess(agent);
    await otfd.stop();
  }
}

// ---------------------------------------------------------------- (1b) a run waiting for an agent

/**
 * A speculative run waits in plan_queued for a pool with no agent; a fresh single-job otf-agent
 * (--disconnect-after-job) is started and registers. Measured: the agent's created-at (its
 * registration) to the run's planning-at (its job reported started), both stamped by otfd.
 */
async function benchRegistration(opts: AgentBenchOptions): Promise<RegistrationResult> {
  const otfd = await startOtfd({ logLevel: opts.logLevel, nodeArgs: opts.nodeArgs, concurrency: 0 });
  try {
    const setup = await setUpPool(otfd, 'registration');
    const samples: number[] = [];
    for (let i = 0; i <= REGISTRATION_RUNS; i++) {
      const run = (await setup.client.expect(201, 'POST', '/runs', {
        data: { type: 'runs', attributes: { 'plan-only': true }, relationships: { workspace: { data: { type: 'workspaces', id: setup.workspaceId } } } },
      })) as Doc;
      const name = `bench-registration-${i}`;
      const agent = startAgentProcess(otfd, setup.agentToken, opts.agentNodeArgs, ['--name', name, '--disconnect-after-job']);
      let planningAt: number | null = null;
      const deadline = Date.now() + 120_000;
      while (planningAt === null) {
        const doc = (await setup.client.expect(200, 'GET', `/runs/${run.data.id}`)) as Doc<{ status: string; 'status-timestamps': Record<string, string> }>;
        const at = doc.data.attributes['status-timestamps']['planning-at'];
        if (at) planningAt = Date.parse(at);
        else if (doc.data.attributes.status === 'errored' || Date.now() > deadline) throw new Error(`run ${run.data.id} did not start (${doc.data.attributes.status}):\n${agent.outputTail()}`);
        else await delay(20);
      }
      const registered = (await setup.client.expect(200, 'GET', `/agent-pools/${setup.poolId}/agents?page[size]=100`)) as { data: Array<{ attributes: { name: string; 'created-at': string } }> };
      const createdAt = registered.data.find((a) => a.attributes.name === name)?.attributes['created-at'];
      if (!createdAt) throw new Error(`agent ${name} is not listed in its pool`);
      // The first run warms up the engine (a download into the agents' engines dir).
      if (i > 0) samples.push(planningAt - Date.parse(createdAt));
      await agent.exited;
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    return { name: REGISTRATION_SCENARIO, samplesMs: samples, p50Ms: p50, maxMs: sorted[sorted.length - 1], target: `p50 < ${REGISTRATION_TARGET_MS} ms`, met: p50 < REGISTRATION_TARGET_MS };
  } finally {
    await otfd.stop();
  }
}

// ---------------------------------------------------------------- process sampling (/proc)

let clockTicks: number | null = null;

function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Fields of /proc/<pid>/stat after the command name: [0] is field 3 (state). */
function statFields(pid: number): string[] | null {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null; // gone
  }
}

/** CPU ticks (user + system; with those of reaped children when asked). */
function cpuTicks(pid: number, withChildren: boolean): number {
  const f = statFields(pid);
  if (!f) return 0;
  // utime, stime, cutime, cstime are fields 14-17
  const own = Number(f[11]) + Number(f[12]);
  return withChildren ? own + Number(f[13]) + Number(f[14]) : own;
}

/** Every process below pid (the embedded PostgreSQL: postmaster and its backends). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (!f) continue;
    const ppid = Number(f[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [...(children.get(pid) ?? [])];
  while (queue.length) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

interface Sample {
  t: number;
  rssKiB: number;
  otfdTicks: number;
  postgresTicks: number;
  benchMicros: number;
}

function sampleProcess(pid: number): Sample {
  const cpu = process.cpuUsage();
  return {
    t: performance.now(),
    rssKiB: memoryKiB(pid).rssKiB,
    otfdTicks: cpuTicks(pid, false),
    // with cutime/cstime: the postmaster's reaped backends count too
    postgresTicks: descendants(pid).reduce((sum, p) => sum + cpuTicks(p, true), 0),
    benchMicros: cpu.user + cpu.system,
  };
}

/** Samples otfd's RSS and CPU, its PostgreSQL's CPU and our own CPU every 500 ms. */
class ProcessSampler extends Sampler<Sample> {
  constructor(pid: number) {
    super(() => sampleProcess(pid), SAMPLE_INTERVAL_MS);
  }

  /** CPU and peak RSS between two samples. */
  window(from: Sample, to: Sample): ProcessWindow {
    const seconds = (to.t - from.t) / 1000;
    const hz = ticksPerSecond();
    const pct = (ticks: number) => (seconds > 0 ? (100 * Math.max(0, ticks)) / hz / seconds : 0);
    const inside = this.samples.filter((s) => s.t >= from.t && s.t <= to.t);
    return {
      seconds,
      otfdCpuPct: pct(to.otfdTicks - from.otfdTicks),
      postgresCpuPct: pct(to.postgresTicks - from.postgresTicks),
      benchCpuPct: seconds > 0 ? (to.benchMicros - from.benchMicros) / 1e4 / seconds : 0,
      otfdRssPeakMiB: Math.max(...inside.map((s) => s.rssKiB)) / 1024,
    };
  }
}

/** Gauges of otfd's /metrics (prom-client's default process metrics), in MiB. */
async function heapMiB(otfd: OtfdProcess): Promise<{ used: number; external: number }> {
  const text = await (await fetch(`${otfd.url}/metrics`)).text();
  const gauge = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
  return { used: gauge('nodejs_heap_size_used_bytes'), external: gauge('nodejs_external_memory_bytes') };
}

// ---------------------------------------------------------------- (2) 1,000 simulated agents

interface SimAgent {
  index: number;
  name: string;
  id: string;
  token: string;
  /** Date.now() when its current long-poll was sent. */
  pollSentAt: number;
  syncSentAt: number;
  syncDoneAt: number;
  syncInFlight: boolean;
  job: string | null;
}

interface PollAnswer {
  jobs: Array<{ id: string; token: string; phase: 'plan' | 'apply'; run: string }>;
  signals: unknown[];
}

interface Counters {
  pollsIssued: number;
  pollsAnswered: number;
  pollsWithJobs: number;
  pollsEarlyEmpty: number;
  pollsTimedOut: number;
  syncs: number;
  jobsRun: number;
}

const ZERO: Counters = { pollsIssued: 0, pollsAnswered: 0, pollsWithJobs: 0, pollsEarlyEmpty: 0, pollsTimedOut: 0, syncs: 0, jobsRun: 0 };

/** Waits ms; false when the signal ended the wait. */
const pause = (ms: number, signal: AbortSignal) =>
  delay(ms, undefined, { signal }).then(
    () => true,
    () => false,
  );

/**
 * Agents played by this process over one keep-alive pool (AgentHttp): each holds a jobs long-poll
 * (re-issued when it returns), sends a heartbeat every heartbeatSeconds, and runs a job it is handed
 * through the job endpoints at once (GET, start, finish: no engine).
 */
class Fleet {
  readonly agents: SimAgent[] = [];
  readonly counters: Counters = { ...ZERO };
  readonly syncLatencies: Array<{ t: number; ms: number }> = [];
  readonly errors = { register: 0, poll: 0, sync: 0, job: 0, deregister: 0, samples: [] as string[] };
  /** Which agent ran the job of each run, and when its long-poll had been sent. */
  readonly handedOut = new Map<string, { agent: SimAgent; pollSentAt: number }>();
  private readonly http: AgentHttp;
  private readonly stopping = new AbortController();
  private readonly loops: Array<Promise<void>> = [];

  constructor(
    url: string,
    private readonly heartbeatSeconds: number,
  ) {
    this.http = new AgentHttp(url, { pool: { maxSockets: 4 * SIM_AGENTS, scheduling: 'lifo' }, defaultTimeoutMs: 30_000 });
    // every request in flight listens to it
    setMaxListeners(0, this.stopping.signal);
  }

  private noteError(kind: keyof Omit<Fleet['errors'], 'samples'>, what: string): void {
    this.errors[kind]++;
    if (this.errors.samples.length < 10 && !this.errors.samples.includes(what)) this.errors.samples.push(what);
  }

  call(method: string, apiPath: string, token: string, body?: unknown, opts: CallOptions = {}): Promise<Reply> {
    return this.http.call(method, apiPath, token, body, opts);
  }

  async register(agentToken: string, count: number): Promise<void> {
    const names = Array.from({ length: count }, (_, i) => `bench-sim-${String(i + 1).padStart(5, '0')}`);
    await mapLimit(names, REGISTER_CONCURRENCY, async (name, index) => {
      const res = await this.call('POST', '/api/agent/register', agentToken, { name, version: 'bench', concurrency: 1 });
      if (res.status !== 201) {
        this.noteError('register', `register: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        throw new Error(`registering ${name}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      }
      const r = res.body as { id: string; token: string };
      const agent: SimAgent = { index, name, id: r.id, token: r.token, pollSentAt: 0, syncSentAt: 0, syncDoneAt: 0, syncInFlight: false, job: null };
      this.agents.push(agent);
      this.loops.push(this.pollLoop(agent), this.syncLoop(agent));
    });
  }

  private async pollLoop(a: SimAgent): Promise<void> {
    const signal = this.stopping.signal;
    // The first long-poll waits 1 to 30 s, so that re-issued long-polls are spread over time as
    // those of agents started at different times are, rather than all coming back at once.
    let wait = 1 + Math.floor(Math.random() * POLL_WAIT_SECONDS);
    while (!signal.aborted) {
      a.pollSentAt = Date.now();
      const started = performance.now();
      this.counters.pollsIssued++;
      let res: Reply;
      try {
        res = await this.call('GET', `/api/agent/jobs?wait=${wait}`, a.token, undefined, { signal, timeoutMs: (POLL_WAIT_SECONDS + 30) * 1000 });
      } catch (err) {
        if (signal.aborted) return;
        this.noteError('poll', `poll: ${(err as Error).message}`);
        await pause(1000, signal);
        continue;
      }
      if (res.status !== 200) {
        this.noteError('poll', `poll: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        await pause(1000, signal);
        continue;
      }
      const elapsed = performance.now() - started;
      const answer = res.body as PollAnswer;
      this.counters.pollsAnswered++;
      if (answer.jobs.length) {
        this.counters.pollsWithJobs++;
        for (const job of answer.jobs) {
          this.handedOut.set(job.run, { agent: a, pollSentAt: a.pollSentAt });
          await this.runJob(a, job.id, job.token);
        }
      } else if (elapsed < (wait - 1) * 1000 && !signal.aborted) {
        this.counters.pollsEarlyEmpty++;
      } else {
        this.counters.pollsTimedOut++;
      }
      wait = POLL_WAIT_SECONDS;
    }
  }

  /** What otf-agent's runner does with a job, minus the engine: read it, start it, finish it. */
  private async runJob(a: SimAgent, jobId: string, token: string): Promise<void> {
    a.job = jobId;
    try {
      const base = `/api/agent/jobs/${jobId}`;
      const spec = await this.call('GET', base, token);
      if (spec.status !== 200) throw new Error(`GET job: ${spec.status} ${JSON.stringify(spec.body).slice(0, 200)}`);
      const start = await this.call('POST', `${base}/start`, token, {});
      if (start.status === 409) return; // the run no longer wants it
      if (start.status !== 200) throw new Error(`start: ${start.status} ${JSON.stringify(start.body).slice(0, 200)}`);
      const finish = await this.call('POST', `${base}/finish`, token, {
        status: 'finished',
        hasChanges: false,
        counts: { additions: 0, changes: 0, destructions: 0, imports: 0 },
      });
      if (finish.status !== 200) throw new Error(`finish: ${finish.status} ${JSON.stringify(finish.body).slice(0, 200)}`);
      this.counters.jobsRun++;
    } catch (err) {
      this.noteError('job', `job: ${(err as Error).message}`);
    } finally {
      a.job = null;
    }
  }

  private async syncLoop(a: SimAgent): Promise<void> {
    const signal = this.stopping.signal;
    // Spread the heartbeats over the interval, as agents started at different times would.
    if (!(await pause(Math.random() * this.heartbeatSeconds * 1000, signal))) return;
    while (!signal.aborted) {
      let next = this.heartbeatSeconds;
      a.syncInFlight = true;
      a.syncSentAt = Date.now();
      const started = performance.now();
      try {
        const res = await this.call('POST', '/api/agent/sync', a.token, { status: a.job ? 'busy' : 'idle', jobs: a.job ? [a.job] : [] }, { signal });
        if (res.status !== 200) {
          this.noteError('sync', `sync: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        } else {
          this.counters.syncs++;
          this.syncLatencies.push({ t: started, ms: performance.now() - started });
          next = (res.body as { heartbeatSeconds: number }).heartbeatSeconds;
        }
      } catch (err) {
        if (signal.aborted) return;
        this.noteError('sync', `sync: ${(err as Error).message}`);
      } finally {
        a.syncInFlight = false;
        a.syncDoneAt = Date.now();
      }
      if (!(await pause(next * 1000, signal))) return;
    }
  }

  /** Whether a contact of our own may have touched the agent's last-ping-at at or after `since`. */
  contactedSince(a: SimAgent, since: number): boolean {
    // a request is served within a few ms; 500 ms of slack for a busy otfd
    return a.pollSentAt >= since - 500 || a.syncSentAt >= since - 500 || a.syncInFlight || a.syncDoneAt >= since;
  }

  snapshot(): Counters {
    return { ...this.counters };
  }

  /** Ends every long-poll and heartbeat loop (hanging up on the long-polls) and waits for them. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.loops);
  }

  async deregisterAll(): Promise<number> {
    const done = await mapLimit(this.agents, 32, async (a) => {
      try {
        const res = await this.call('POST', '/api/agent/deregister', a.token, {});
        if (res.status >= 200 && res.status < 300) return 1;
        this.noteError('deregister', `deregister: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      } catch (err) {
        this.noteError('deregister', `deregister: ${(err as Error).message}`);
      }
      return 0;
    });
    return done.reduce<number>((s, v) => s + v, 0);
  }

  close(): void {
    this.http.destroy();
  }
}

function diff(a: Counters, b: Counters): Counters {
  const out = { ...ZERO };
  for (const k of Object.keys(out) as Array<keyof Counters>) out[k] = b[k] - a[k];
  return out;
}

async function benchLongPolls(opts: AgentBenchOptions): Promise<LongPollResult> {
  const otfd = await startOtfd({
    logLevel: opts.logLevel,
    nodeArgs: opts.nodeArgs,
    concurrency: 0,
    extraArgs: ['--agent-heartbeat-interval', String(SIM_HEARTBEAT_SECONDS)],
  });
  const fleet = new Fleet(otfd.url, SIM_HEARTBEAT_SECONDS);
  const sampler = new ProcessSampler(otfd.pid);
  let fleetStopped = false;
  try {
    const setup = await setUpPool(otfd, 'agent-long-polls');
    const { client, poolId } = setup;

    // otfd with nothing to do: the baseline
    sampler.start();
    const s0 = sampler.sample();
    await delay(2_000);
    const s1 = sampler.sample();
    const heapBefore = await heapMiB(otfd);

    console.log(`  registering ${SIM_AGENTS.toLocaleString('en-US')} agents (${REGISTER_CONCURRENCY} at a time); each long-polls (wait=${POLL_WAIT_SECONDS}) and syncs every ${SIM_HEARTBEAT_SECONDS} s...`);
    const r0 = performance.now();
    await fleet.register(setup.agentToken, SIM_AGENTS);
    const registerSeconds = (performance.now() - r0) / 1000;
    // let the last ones reach their long-polls
    await delay(1_000);

    console.log(`  holding for ${opts.holdSeconds} s...`);
    const h0 = sampler.sample();
    const c0 = fleet.snapshot();
    await delay(opts.holdSeconds * 1000);
    const h1 = sampler.sample();
    const c1 = fleet.snapshot();
    const heapHolding = await heapMiB(otfd);

    console.log(`  dispatching ${WARMUP_RUNS} warm-up + ${opts.runs} speculative runs to them meanwhile...`);
    const latencies: number[] = [];
    const wakes: number[] = [];
    const touches: number[] = [];
    let toWaiting = 0;
    let toNew = 0;
    const d0 = sampler.sample();
    const dc0 = fleet.snapshot();
    for (let i = 0; i < opts.runs + WARMUP_RUNS; i++) {
      const sample = await timeDispatch(client, setup.workspaceId);
      const handed = fleet.handedOut.get(sample.runId);
      if (!handed) throw new Error(`run ${sample.runId} finished, but no simulated agent ran it`);
      // Agents whose last-ping-at moved after the job was queued, though we did not call otfd for
      // them meanwhile: otfd woke their long-poll (a woken long-poll records contact).
      const since = new Date(sample.queuedAt).toISOString();
      const touched = await listAgents(client, poolId, since);
      const byId = new Map(fleet.agents.map((a) => [a.id, a]));
      let woken = touched.filter((t) => {
        const a = byId.get(t.id);
        return a && a !== handed.agent && !fleet.contactedSince(a, sample.queuedAt);
      }).length;
      // the agent that ran it was woken unless its long-poll began after the job was queued
      if (handed.pollSentAt < sample.queuedAt) {
        woken++;
        if (i >= WARMUP_RUNS) toWaiting++;
      } else if (i >= WARMUP_RUNS) {
        toNew++;
      }
      if (i >= WARMUP_RUNS) {
        latencies.push(sample.ms);
        wakes.push(woken);
        touches.push(touched.length);
      }
      await delay(20);
    }
    const d1 = sampler.sample();
    const dc1 = fleet.snapshot();
    sampler.stop();

    const statuses: Record<string, number> = {};
    for (const a of await listAgents(client, poolId)) statuses[a.status] = (statuses[a.status] ?? 0) + 1;

    console.log(`  stopping the long-polls and deregistering ${SIM_AGENTS.toLocaleString('en-US')} agents...`);
    await fleet.stop();
    fleetStopped = true;
    const deregistered = await fleet.deregisterAll();
    const pool = (await client.expect(200, 'GET', `/agent-pools/${poolId}`)) as Doc<{ 'agent-count': number }>;

    const hold = diff(c0, c1);
    const during = diff(dc0, dc1);
    const holdSyncs = fleet.syncLatencies
      .filter((s) => s.t >= h0.t && s.t <= h1.t)
      .map((s) => s.ms)
      .sort((a, b) => a - b);
    const holdSeconds = (h1.t - h0.t) / 1000;
    const jobs = latencies.length + WARMUP_RUNS;
    const histogram: Record<string, number> = {};
    for (const w of wakes) histogram[String(w)] = (histogram[String(w)] ?? 0) + 1;
    const allSamples = sampler.samples.filter((s) => s.t >= h0.t);
    return {
      name: LONG_POLL_SCENARIO,
      agents: SIM_AGENTS,
      heartbeatSeconds: SIM_HEARTBEAT_SECONDS,
      pollWaitSeconds: POLL_WAIT_SECONDS,
      registerSeconds,
      otfdRssBeforeMiB: s1.rssKiB / 1024,
      otfdRssPeakMiB: Math.max(...allSamples.map((s) => s.rssKiB)) / 1024,
      otfdRssEndMiB: d1.rssKiB / 1024,
      otfdHeap: { beforeUsedMiB: heapBefore.used, beforeExternalMiB: heapBefore.external, holdingUsedMiB: heapHolding.used, holdingExternalMiB: heapHolding.external },
      before: sampler.window(s0, s1),
      hold: {
        ...sampler.window(h0, h1),
        pollsAnswered: hold.pollsAnswered,
        pollsIssuedPerSec: hold.pollsIssued / holdSeconds,
        syncsPerSec: hold.syncs / holdSeconds,
        syncP50Ms: holdSyncs.length ? percentile(holdSyncs, 50) : 0,
        syncP99Ms: holdSyncs.length ? percentile(holdSyncs, 99) : 0,
        syncMaxMs: holdSyncs.length ? holdSyncs[holdSyncs.length - 1] : 0,
      },
      dispatchWindow: sampler.window(d0, d1),
      dispatch: latencyResult(`${LONG_POLL_SCENARIO}: dispatch meanwhile`, latencies),
      jobs,
      pollsAnsweredPerJob: (during.pollsWithJobs + during.pollsEarlyEmpty) / jobs,
      agentsWokenPerJob: wakes.reduce((s, v) => s + v, 0) / wakes.length,
      agentsTouchedPerJob: touches.reduce((s, v) => s + v, 0) / touches.length,
      wakeHistogram: histogram,
      jobsToWaitingPoll: toWaiting,
      jobsToNewPoll: toNew,
      pollsEarlyEmpty: fleet.counters.pollsEarlyEmpty,
      errors: fleet.errors,
      statusesBeforeDeregister: statuses,
      deregistered,
      liveAgentsAfter: pool.data.attributes['agent-count'],
    };
  } finally {
    sampler.stop();
    if (!fleetStopped) await fleet.stop();
    fleet.close();
    await otfd.stop();
  }
}

// ---------------------------------------------------------------- (3) SIGTERM with 1,000 agents

const SIGTERM_TARGET_MS = 2_000;

/**
 * A rolling restart's cost: 1,000 simulated agents hold long-polls (and keep re-polling, as agents
 * do), then otfd gets SIGTERM; measured until its process is gone.
 */
async function benchSigterm(opts: AgentBenchOptions): Promise<SigtermResult> {
  const otfd = await startOtfd({
    logLevel: opts.logLevel,
    nodeArgs: opts.nodeArgs,
    concurrency: 0,
    extraArgs: ['--agent-heartbeat-interval', String(SIM_HEARTBEAT_SECONDS)],
  });
  const fleet = new Fleet(otfd.url, SIM_HEARTBEAT_SECONDS);
  try {
    const setup = await setUpPool(otfd, 'agent-sigterm');
    console.log(`  registering ${SIM_AGENTS.toLocaleString('en-US')} agents (${REGISTER_CONCURRENCY} at a time), each holding a long-poll...`);
    await fleet.register(setup.agentToken, SIM_AGENTS);
    // Every agent has come back with a long-poll (the first ones wait 1 to 30 s) once its last-ping-at
    // moved past the end of registration.
    const since = new Date().toISOString();
    let holding = 0;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      await delay(500);
      holding = (await listAgents(setup.client, setup.poolId, since)).filter((a) => a.status === 'idle').length;
      if (holding >= SIM_AGENTS) break;
    }
    await delay(1_000);
    console.log(`  ${holding} agents idle; SIGTERM...`);
    const t0 = performance.now();
    const stopped = otfd.stop();
    const t1 = await otfd.exitedAt;
    await stopped;
    const ms = t1 - t0;
    return { name: SIGTERM_SCENARIO, agents: SIM_AGENTS, agentsHolding: holding, sigtermToExitMs: ms, targetMs: SIGTERM_TARGET_MS, met: ms < SIGTERM_TARGET_MS };
  } finally {
    await fleet.stop();
    fleet.close();
    await otfd.stop();
  }
}

// ---------------------------------------------------------------- entry points

export async function runAgentBenchmarks(opts: AgentBenchOptions): Promise<AgentBenchResults> {
  const results: AgentBenchResults = { agentDispatch: null, longPolls: null, sigterm: null, registration: null };
  if (opts.wants(AGENT_DISPATCH_SCENARIO)) {
    console.log(`running "${AGENT_DISPATCH_SCENARIO}": its own otfd (--concurrency 0) and one otf-agent...`);
    results.agentDispatch = await benchAgentDispatch(opts);
  }
  if (opts.wants(REGISTRATION_SCENARIO)) {
    console.log(`running "${REGISTRATION_SCENARIO}": its own otfd (--concurrency 0) and ${REGISTRATION_RUNS + 1} single-job otf-agents...`);
    results.registration = await benchRegistration(opts);
  }
  if (opts.wants(LONG_POLL_SCENARIO)) {
    console.log(`running "${LONG_POLL_SCENARIO}": its own otfd (--concurrency 0, --agent-heartbeat-interval ${SIM_HEARTBEAT_SECONDS})...`);
    results.longPolls = await benchLongPolls(opts);
  }
  if (opts.wants(SIGTERM_SCENARIO)) {
    console.log(`running "${SIGTERM_SCENARIO}": its own otfd (--concurrency 0, --agent-heartbeat-interval ${SIM_HEARTBEAT_SECONDS})...`);
    results.sigterm = await benchSigterm(opts);
  }
  return results;
}

const ms = (v: number) => `${v.toFixed(0)} ms`;
const mib = (v: number) => `${v.toFixed(1)} MiB`;
const pct = (v: number) => `${v.toFixed(1)} %`;
const metCell = (v: boolean) => (v ? 'yes' : 'NO');

/** The agent benchmarks as a table: one measure a line, with its target where it has one. */
export function formatAgentTable(r: AgentBenchResults): string {
  const rows: string[][] = [];
  const d = r.agentDispatch;
  if (d) {
    rows.push([`dispatch to an idle otf-agent, p50 (${d.samples} runs)`, ms(d.p50Ms), `< ${d.p50Target} ms`, metCell(d.p50Met)]);
    rows.push(['dispatch to an idle otf-agent, p99', ms(d.p99Ms), `< ${d.p99Target} ms`, metCell(d.p99Met)]);
    rows.push(['dispatch to an idle otf-agent, min / mean / max', `${d.minMs} / ${d.meanMs.toFixed(1)} / ${d.maxMs} ms`, '-', '-']);
  }
  const g = r.registration;
  if (g) {
    rows.push([`agent registered to waiting run's job started, p50 (${g.samplesMs.length} agents)`, ms(g.p50Ms), `< ${REGISTRATION_TARGET_MS} ms`, metCell(g.met)]);
    rows.push(['agent registered to waiting run\'s job started, max', ms(g.maxMs), '-', '-']);
  }
  const l = r.longPolls;
  if (l) {
    const n = l.agents.toLocaleString('en-US');
    rows.push([`${n} agents: otfd RSS before / peak holding`, `${mib(l.otfdRssBeforeMiB)} / ${mib(l.otfdRssPeakMiB)}`, '-', '-']);
    rows.push([`${n} agents: otfd JS heap used before / holding`, `${mib(l.otfdHeap.beforeUsedMiB)} / ${mib(l.otfdHeap.holdingUsedMiB)}`, '-', '-']);
    rows.push([`${n} agents: otfd CPU idle / holding / dispatching`, `${pct(l.before.otfdCpuPct)} / ${pct(l.hold.otfdCpuPct)} / ${pct(l.dispatchWindow.otfdCpuPct)}`, '-', '-']);
    rows.push([`${n} agents: PostgreSQL CPU holding / dispatching`, `${pct(l.hold.postgresCpuPct)} / ${pct(l.dispatchWindow.postgresCpuPct)}`, '-', '-']);
    rows.push([`${n} agents: long-polls issued, syncs per s (holding)`, `${l.hold.pollsIssuedPerSec.toFixed(1)}, ${l.hold.syncsPerSec.toFixed(1)}`, '-', '-']);
    rows.push([`${n} agents: sync latency p50 / p99 (holding)`, `${l.hold.syncP50Ms.toFixed(1)} / ${l.hold.syncP99Ms.toFixed(1)} ms`, '-', '-']);
    rows.push([`${n} agents: agents woken per job (otfd's side)`, l.agentsWokenPerJob.toFixed(2), '~1', '-']);
    rows.push([`${n} agents: long-polls answered per job`, l.pollsAnsweredPerJob.toFixed(2), '~1', '-']);
    rows.push([`${n} agents: dispatch p50 under load (${l.dispatch.samples} runs)`, ms(l.dispatch.p50Ms), `< ${l.dispatch.p50Target} ms`, metCell(l.dispatch.p50Met)]);
    rows.push([`${n} agents: dispatch p99 under load`, ms(l.dispatch.p99Ms), `< ${l.dispatch.p99Target} ms`, metCell(l.dispatch.p99Met)]);
    const e = l.errors;
    rows.push([`${n} agents: errors register/poll/sync/job/deregister`, `${e.register}/${e.poll}/${e.sync}/${e.job}/${e.deregister}`, '0', metCell(e.register + e.poll + e.sync + e.job + e.deregister === 0)]);
    rows.push([`${n} agents: deregistered, live agents left`, `${l.deregistered}, ${l.liveAgentsAfter}`, `${l.agents}, 0`, metCell(l.deregistered === l.agents && l.liveAgentsAfter === 0)]);
  }
  const t = r.sigterm;
  if (t) {
    rows.push([`SIGTERM to exit with ${t.agents.toLocaleString('en-US')} idle agents (${t.agentsHolding} holding)`, ms(t.sigtermToExitMs), `< ${t.targetMs} ms`, metCell(t.met)]);
  }
  if (!rows.length) return '';
  const header = ['agent benchmark', 'value', 'target', 'met'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 1 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
