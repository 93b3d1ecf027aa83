// The benchmark suite: `npm run bench`. Starts otfd (with its embedded PostgreSQL) as a child
// process, seeds one organization with 1,000 workspaces (and a page each of runs, state versions
// and variables) through the JSON:API, runs the baseline server (bench/baseline.ts) and then each
// scenario with autocannon, prints a table with every scenario as a ratio to the baseline, and
// writes bench/results/latest.json. The agent benchmarks
// (bench/agents.ts) start otfd children of their own.
//
// A benchmark reports: a missed target is printed, never an exit code. Only a crash exits non-zero.
//
// Environment:
//   BENCH_DURATION         seconds per scenario (default 10)
//   BENCH_WARMUP           seconds of warm-up before each scenario (default 2)
//   BENCH_LOG_LEVEL        otfd --log-level (default info, as otfd runs by default)
//   BENCH_OTFD_NODE_ARGS   extra node flags for the otfd child, space separated (e.g. --cpu-prof)
//   BENCH_AGENT_NODE_ARGS  extra node flags for the otf-agent child of the agent dispatch benchmark
//   BENCH_DISPATCH_RUNS    runs measured per dispatch benchmark (default 50)
//   BENCH_STATE_MIB        size of the state of the state push/pull benchmark (default 50)
//   BENCH_HUGE_OUTPUT_MIB  size of the one output of the huge-output state upload benchmark (default 150)
//   BENCH_ONLY             run only scenarios whose name contains this text (e.g. "agent", "state", "vcs", "web UI")
import crypto from 'node:crypto';
import path from 'node:path';
import { CLONE_SCENARIO, formatCloneTable, runCloneBenchmark, type CloneBenchResult } from './clone.js';
import { VCS_SCENARIO, runVcsBenchmark, type VcsBenchResult } from './vcs.js';
import { AGENT_DISPATCH_SCENARIO, LONG_POLL_SCENARIO, REGISTRATION_SCENARIO, SIGTERM_SCENARIO, formatAgentTable, runAgentBenchmarks, type AgentBenchResults } from './agents.js';
import {
  Client,
  REPO_ROOT,
  compareToBaseline,
  createOrganization,
  createWorkspaces,
  envSeconds,
  describeTarget,
  formatTable,
  machineFacts,
  mapLimit,
  postgresPids,
  runScenario,
  startBaseline,
  startOtfd,
  stopAllOtfds,
  writeJson,
  type Doc,
  type OtfdProcess,
  type RunSettings,
  type Scenario,
  type ScenarioResult,
} from './lib.js';
import { compareApply, measureDispatch, uploadConfiguration, type ComparisonResult, type LatencyResult } from './runs.js';
import { HUGE_OUTPUT_SCENARIO, formatHugeOutputTable, runHugeOutputBenchmark, type HugeOutputResult } from './huge-output.js';
import { STATE_SCENARIO, formatStateTable, runStateBenchmark, type StateBenchResult } from './state.js';
import { WEB_LOG_SCENARIO, WEB_PAGES_SCENARIO, formatWebTable, runWebBenchmarks, type WebBenchResult } from './web.js';

/** What seeding produced, handed to every scenario. */
interface Seed {
  org: string;
  workspaceIds: string[];
  /** A user whose team has read access to the middle workspace. */
  userToken: string;
  /** A workspace with LIST_SIZE runs (queued for a pool with no agent, so they stay put) and as many variables. */
  runsWorkspaceId: string;
  /** A workspace with LIST_SIZE state versions. */
  stateWorkspaceId: string;
}

const WORKSPACES = 1_000;
/** Runs, state versions and variables seeded for their list scenarios: one full page. */
const LIST_SIZE = 100;
const DISPATCH_RUNS = dispatchRuns();
const APPLY_RESOURCES = 400;
const SEED_CONCURRENCY = 16;

/**
 * The baseline every read scenario is compared with: bench/baseline.ts, a bare Node HTTP server
 * doing a single read's two queries (token, workspace row) on otfd's database. Run first.
 */
const BASELINE_SCENARIO: Scenario<Seed> = {
  name: 'baseline: bare HTTP + 2 queries (token, workspace row)',
  path: (s) => `/workspaces/${middle(s)}`,
  token: (s) => s.userToken,
};

/**
 * The floor under a page of 100 workspaces: the same server doing the token lookup and the page's
 * query, answering the rows with JSON.stringify. Lists are compared with it: it shows what otfd's
 * presenting and encoding add, apart from what the machine needs to move 100 rows as JSON at all.
 */
const LIST_BASELINE_SCENARIO: Scenario<Seed> = {
  name: 'baseline: bare HTTP + 2 queries (token, page of 100 workspace rows)',
  path: (s) => `/organizations/${s.org}/workspaces`,
  token: (s) => s.userToken,
};

// Add scenarios here. Each is reported as a ratio to its baseline's req/s and p99.
const scenarios: Scenario<Seed>[] = [
  {
    name: 'GET one workspace',
    path: (s) => `/api/v2/workspaces/${middle(s)}`,
    target: { minBaselineRatio: 0.5, maxP99Ms: 15 },
  },
  {
    // The same, as a user: its rights come from its teams (gathered once, then kept until they change).
    name: 'GET one workspace (user token)',
    path: (s) => `/api/v2/workspaces/${middle(s)}`,
    token: (s) => s.userToken,
    target: { minBaselineRatio: 0.5, maxP99Ms: 15 },
  },
  {
    name: 'GET 100 workspaces (one page of 100, of 1,000)',
    path: (s) => `/api/v2/organizations/${s.org}/workspaces?page[size]=100`,
    target: { minRps: 600 },
    baseline: 'list',
  },
  {
    name: 'GET 100 runs (one page of 100)',
    path: (s) => `/api/v2/workspaces/${s.runsWorkspaceId}/runs?page[size]=100`,
    target: { minRps: 600 },
    baseline: 'list',
  },
  {
    name: 'GET 100 state versions (one page of 100)',
    path: (s) => `/api/v2/workspaces/${s.stateWorkspaceId}/state-versions?page[size]=100`,
  },
  {
    name: 'GET 100 variables',
    path: (s) => `/api/v2/workspaces/${s.runsWorkspaceId}/vars`,
  },
];

function middle(s: Seed): string {
  return s.workspaceIds[Math.floor(s.workspaceIds.length / 2)];
}

/** A user in a team of the organization with read access to the middle workspace; returns its token. */
async function seedUser(client: Client, s: Seed): Promise<string> {
  const user = (await client.expect(201, 'POST', '/admin/users', { data: { type: 'users', attributes: { username: 'bench-reader', email: 'reader@bench.example' } } })) as Doc;
  const team = (await client.expect(201, 'POST', `/organizations/${s.org}/teams`, { data: { type: 'teams', attributes: { name: 'readers' } } })) as Doc;
  await client.expect(201, 'POST', `/organizations/${s.org}/organization-memberships`, {
    data: { type: 'organization-memberships', attributes: { username: 'bench-reader' }, relationships: { teams: { data: [{ type: 'teams', id: team.data.id }] } } },
  });
  await client.expect(201, 'POST', '/team-workspaces', {
    data: {
      type: 'team-workspaces',
      attributes: { access: 'read' },
      relationships: { team: { data: { type: 'teams', id: team.data.id } }, workspace: { data: { type: 'workspaces', id: middle(s) } } },
    },
  });
  const token = (await client.expect(201, 'POST', `/users/${user.data.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: {} } })) as Doc;
  return token.data.attributes.token as string;
}

/**
 * A workspace with LIST_SIZE runs and LIST_SIZE variables. Its runs are for an agent pool with no
 * agent: they queue and stay queued, so nothing executes during the measurements.
 */
async function seedRuns(client: Client, org: string): Promise<string> {
  const pool = (await client.expect(201, 'POST', `/organizations/${org}/agent-pools`, {
    data: { type: 'agent-pools', attributes: { name: 'bench-idle', 'organization-scoped': true } },
  })) as Doc;
  const ws = (await client.expect(201, 'POST', `/organizations/${org}/workspaces`, {
    data: { type: 'workspaces', attributes: { name: 'bench-runs', 'execution-mode': 'agent', 'agent-pool-id': pool.data.id } },
  })) as Doc;
  await uploadConfiguration(client, ws.data.id, { 'main.tf': 'output "x" { value = 1 }\n' });
  const run = { data: { type: 'runs', attributes: { message: 'bench' }, relationships: { workspace: { data: { type: 'workspaces', id: ws.data.id } } } } };
  await mapLimit(Array.from({ length: LIST_SIZE }), SEED_CONCURRENCY, () => client.expect(201, 'POST', '/runs', run));
  await mapLimit(Array.from({ length: LIST_SIZE }, (_, i) => i), SEED_CONCURRENCY, (i) =>
    client.expect(201, 'POST', `/workspaces/${ws.data.id}/vars`, {
      data: { type: 'vars', attributes: { key: `var_${String(i).padStart(3, '0')}`, value: `value ${i}`, category: i % 2 ? 'env' : 'terraform', sensitive: i % 10 === 0 } },
    }),
  );
  return ws.data.id;
}

/** A workspace with LIST_SIZE small state versions, pushed one after another as the CLI would. */
async function seedStateVersions(client: Client, org: string): Promise<string> {
  const ws = (await client.expect(201, 'POST', `/organizations/${org}/workspaces`, { data: { type: 'workspaces', attributes: { name: 'bench-state' } } })) as Doc;
  const lineage = crypto.randomUUID();
  await client.expect(200, 'POST', `/workspaces/${ws.data.id}/actions/lock`, {});
  for (let serial = 1; serial <= LIST_SIZE; serial++) {
    const state = Buffer.from(
      JSON.stringify({ version: 4, terraform_version: '1.6.0', serial, lineage, outputs: { n: { value: serial, type: 'number' } }, resources: [], check_results: null }),
    );
    await client.expect(201, 'POST', `/workspaces/${ws.data.id}/state-versions`, {
      data: {
        type: 'state-versions',
        attributes: { serial, lineage, md5: crypto.createHash('md5').update(state).digest('hex'), state: state.toString('base64') },
      },
    });
  }
  await client.expect(200, 'POST', `/workspaces/${ws.data.id}/actions/unlock`);
  return ws.data.id;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

function dispatchRuns(): number {
  const raw = process.env.BENCH_DISPATCH_RUNS;
  if (raw === undefined || raw === '') return 50;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_DISPATCH_RUNS must be a whole number above 0, got "${raw}"`);
  return n;
}

function logLevel(): LogLevel {
  const v = process.env.BENCH_LOG_LEVEL || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(v)) throw new Error(`BENCH_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${v}"`);
  return v as LogLevel;
}

async function main(): Promise<void> {
  const settings: RunSettings = {
    connections: 32,
    durationSec: envSeconds('BENCH_DURATION', 10),
    warmupSec: envSeconds('BENCH_WARMUP', 2),
  };
  const level = logLevel();
  const nodeArgs = (process.env.BENCH_OTFD_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const only = process.env.BENCH_ONLY;
  const selected = only ? scenarios.filter((s) => s.name.includes(only)) : scenarios;

  const wants = (name: string) => !only || name.includes(only);
  const wantsMain = selected.length > 0 || wants('dispatch') || wants('apply');
  const wantsAgents = wants(AGENT_DISPATCH_SCENARIO) || wants(LONG_POLL_SCENARIO) || wants(SIGTERM_SCENARIO) || wants(REGISTRATION_SCENARIO);

  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\n${signal}: stopping otfd...`);
    stopAllOtfds().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const results: ScenarioResult[] = [];
  let baseline: ScenarioResult | null = null;
  let listBaseline: ScenarioResult | null = null;
  let dispatch: LatencyResult | null = null;
  let apply: ComparisonResult | null = null;
  let agents: AgentBenchResults = { agentDispatch: null, longPolls: null, sigterm: null, registration: null };
  let state: StateBenchResult | null = null;
  let hugeOutput: HugeOutputResult | null = null;
  let clone: CloneBenchResult | null = null;
  let vcs: VcsBenchResult | null = null;
  let web: WebBenchResult | null = null;
  const seed: Seed = { org: 'bench', workspaceIds: [], userToken: '', runsWorkspaceId: '', stateWorkspaceId: '' };
  let seedSeconds: number | null = null;
  try {
    if (wantsMain) {
      console.log(`starting otfd (embedded PostgreSQL, --log-level ${level}${nodeArgs.length ? `, node ${nodeArgs.join(' ')}` : ''})...`);
      const otfd: OtfdProcess = await startOtfd({ logLevel: level, nodeArgs, concurrency: 5 });
      try {
        console.log(`otfd is up at ${otfd.url} (pid ${otfd.pid}); seeding 1 organization and ${WORKSPACES.toLocaleString('en-US')} workspaces...`);
        const client = new Client(otfd.url, otfd.siteToken);
        const t0 = performance.now();
        await createOrganization(client, seed.org);
        seed.workspaceIds = await createWorkspaces(client, seed.org, WORKSPACES, { concurrency: SEED_CONCURRENCY });
        seed.userToken = await seedUser(client, seed);
        if (selected.length > 0) {
          seed.runsWorkspaceId = await seedRuns(client, seed.org);
          seed.stateWorkspaceId = await seedStateVersions(client, seed.org);
        }
        seedSeconds = (performance.now() - t0) / 1000;
        console.log(`seeded in ${seedSeconds.toFixed(1)} s (${(WORKSPACES / seedSeconds).toFixed(0)} workspaces/s at ${SEED_CONCURRENCY} in flight)`);

        if (selected.length > 0) {
          const server = await startBaseline(otfd);
          try {
            console.log(`running "${BASELINE_SCENARIO.name}" (pid ${server.pid}): ${settings.connections} connections, ${settings.warmupSec} s warm-up, ${settings.durationSec} s measured...`);
            baseline = await runScenario({ url: server.url, siteToken: '' }, BASELINE_SCENARIO, seed, settings, { server: server.pid, database: () => postgresPids(otfd) });
            if (selected.some((s) => s.baseline === 'list')) {
              console.log(`running "${LIST_BASELINE_SCENARIO.name}": ${settings.connections} connections, ${settings.warmupSec} s warm-up, ${settings.durationSec} s measured...`);
              listBaseline = await runScenario({ url: server.url, siteToken: '' }, LIST_BASELINE_SCENARIO, seed, settings, { server: server.pid, database: () => postgresPids(otfd) });
            }
          } finally {
            await server.stop();
          }
        }
        for (const scenario of selected) {
          console.log(`running "${scenario.name}": ${settings.connections} connections, ${settings.warmupSec} s warm-up, ${settings.durationSec} s measured...`);
          results.push(await runScenario(otfd, scenario, seed, settings, { server: otfd.pid, database: () => postgresPids(otfd) }));
        }
        const kindOf = new Map(selected.map((s) => [s.name, s.baseline ?? 'single']));
        compareToBaseline(results, (r) => (kindOf.get(r.name) === 'list' ? listBaseline : baseline));
        if (wants('dispatch')) {
          console.log(`measuring dispatch: ${DISPATCH_RUNS} speculative runs, one after another...`);
          dispatch = await measureDispatch(client, seed.org, DISPATCH_RUNS);
        }
        if (wants('apply')) {
          console.log(`terraform apply of ${APPLY_RESOURCES} resources, locally and through otfd...`);
          apply = await compareApply(otfd, seed.org, APPLY_RESOURCES);
        }
      } finally {
        if (!interrupted) await otfd.stop();
      }
    }
    if (wantsAgents) {
      agents = await runAgentBenchmarks({
        wants,
        logLevel: level,
        nodeArgs,
        agentNodeArgs: (process.env.BENCH_AGENT_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
        runs: DISPATCH_RUNS,
        holdSeconds: settings.durationSec,
      });
    }
    if (wants(STATE_SCENARIO)) {
      console.log(`running "${STATE_SCENARIO}": its own otfd (--concurrency 0), the terraform CLI and the bare API...`);
      state = await runStateBenchmark({ logLevel: level, nodeArgs });
    }
    if (wants(HUGE_OUTPUT_SCENARIO)) {
      console.log(`running "${HUGE_OUTPUT_SCENARIO}": its own otfd (--concurrency 0), the bare API...`);
      hugeOutput = await runHugeOutputBenchmark({ logLevel: level, nodeArgs });
    }
    if (wants(CLONE_SCENARIO)) {
      console.log(`running "${CLONE_SCENARIO}": git http-backend on localhost, no otfd...`);
      clone = await runCloneBenchmark();
    }
    if (wants(VCS_SCENARIO)) {
      console.log(`running "${VCS_SCENARIO}": its own otfd (--concurrency 1), git http-backend, the providers' stand-in, 20 pushes...`);
      vcs = await runVcsBenchmark({ logLevel: level, nodeArgs });
    }
    if (wants(WEB_PAGES_SCENARIO) || wants(WEB_LOG_SCENARIO)) {
      console.log(`running "${WEB_PAGES_SCENARIO}" and "${WEB_LOG_SCENARIO}": their own otfd (--concurrency 0), a session cookie, a simulated runner...`);
      web = await runWebBenchmarks({ wants, logLevel: level, nodeArgs });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  if (results.length) {
    console.log('');
    console.log(formatTable([baseline, listBaseline, ...results].filter((r): r is ScenarioResult => r !== null)));
  }
  if (dispatch) {
    console.log('');
    console.log(`${dispatch.name}: p50 ${dispatch.p50Ms} ms, p99 ${dispatch.p99Ms} ms, max ${dispatch.maxMs} ms over ${dispatch.samples} runs (target ${dispatch.target}: ${dispatch.met ? 'met' : 'missed'})`);
  }
  if (apply) {
    console.log(`${apply.name}: local backend ${apply.localSeconds.toFixed(2)} s, through otfd ${apply.otfdSeconds.toFixed(2)} s, ratio ${apply.ratio.toFixed(2)}`);
  }
  const agentTable = formatAgentTable(agents);
  if (agentTable) {
    console.log('');
    console.log(agentTable);
  }
  if (state) {
    console.log('');
    console.log(formatStateTable(state));
  }
  if (hugeOutput) {
    console.log('');
    console.log(formatHugeOutputTable(hugeOutput));
  }
  if (clone) {
    console.log('');
    console.log(formatCloneTable(clone));
  }
  if (vcs) {
    console.log('');
    console.log(`${vcs.name}: p50 ${vcs.p50Ms} ms, p99 ${vcs.p99Ms} ms, max ${vcs.maxMs} ms over ${vcs.samples} pushes (target ${vcs.target}: ${vcs.met ? 'met' : 'missed'})`);
    const legs = vcs.legsP50Ms;
    console.log(`  medians: delivery to run made ${legs.deliveryToRun} ms, run made to plan queued (fetch, archive, store) ${legs.runToPlanQueued} ms, plan queued to job started ${legs.planQueuedToStarted} ms`);
  }
  if (web) {
    console.log('');
    console.log(formatWebTable(web));
  }
  for (const r of results) {
    if (r.targetMet === false) console.log(`target missed: "${r.name}" wanted ${describeTarget(r.target)}`);
  }

  const file = path.join(REPO_ROOT, 'bench', 'results', 'latest.json');
  writeJson(file, {
    machine: machineFacts(),
    settings: { ...settings, otfdLogLevel: level, otfdNodeArgs: nodeArgs, workspaces: WORKSPACES, seedConcurrency: SEED_CONCURRENCY, seedSeconds },
    baseline,
    listBaseline,
    results,
    dispatch,
    apply,
    agentDispatch: agents.agentDispatch,
    agentLongPolls: agents.longPolls,
    agentSigterm: agents.sigterm,
    agentRegistration: agents.registration,
    state,
    hugeOutput,
    clone,
    vcs,
    web,
  });
  console.log(`\nresults written to ${path.relative(process.cwd(), file) || file}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error('benchmark crashed:', err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
