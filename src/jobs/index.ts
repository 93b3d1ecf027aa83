// The jobs domain: the jobs table, claiming, dispatch to runners, job tokens, the job side of the
// agent protocol, late states and the server agent. Wired into otfd by src/server.ts.
//
// Its arrows point one way: runs enqueue and stop jobs through `service` (in their transactions);
// pools hand jobs to agents through `service`; jobs reach runs only through the PhaseOutcomes
// connected with `reportTo`, and import neither runs nor pools.
import type { ApiRouter, Site } from '../api/http.js';
import type { BlobStore } from '../blobs/store.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import type { StateService } from '../state/index.js';
import { LateStates } from './late.js';
import type { PhaseOutcomes } from './outcomes.js';
import { registerJobRoutes, type RunnerSshKeySource, type RunnerVariableSource } from './routes.js';
import { ServerAgent, type ServerAgentOptions } from './server-agent.js';
import { JobService } from './service.js';

export { JOBS_CHANNEL, PRIORITY, SIGNALS_CHANNEL, type Job, type JobEndedHook, type JobPhase, type JobService, type JobStatus } from './service.js';
export { registerJobMetrics } from './metrics.js';
export type { LateStateAnswer, LateStates } from './late.js';
export type { PhaseOutcomes } from './outcomes.js';
export type { RunnerSshKeySource, RunnerVariableSource } from './routes.js';
export type { ServerAgent } from './server-agent.js';

export interface JobsDeps {
  db: Db;
  blobs: BlobStore;
  site: Site;
  state: StateService;
  variables: RunnerVariableSource;
  /** The workspace's SSH key for a job's spec. */
  sshKeys: RunnerSshKeySource;
  logger: Logger;
}

export interface JobsDomain {
  /** For runs (enqueue, stop, markRunning, finish), pools (claim, requeue, abandon) and auth (job tokens). */
  service: JobService;
  /** Late states: from the agent protocol, and from the server agent's outbox. */
  late: LateStates;
  /** Connects runs' side; until then nothing a runner reports can be taken. */
  reportTo(outcomes: PhaseOutcomes): void;
  /** The job routes under /api/agent. */
  agentRoutes(router: ApiRouter): void;
  /** The runner inside otfd, claiming the jobs of no pool. */
  serverAgent(opts: Omit<ServerAgentOptions, 'jobs' | 'failRun'>): ServerAgent;
  /**
   * Starts the backstop of phase timeouts: every few seconds, running jobs past their timeout by
   * more than `marginMs` are ended and their runs errored (JobService.endOverdue). Returns its stop.
   */
  startTimeoutBackstop(marginMs: number): () => void;
}

/** How often the timeout backstop looks: a job is ended at most this long after its margin ran out. */
const BACKSTOP_INTERVAL_MS = 5000;

export function createJobsDomain(deps: JobsDeps): JobsDomain {
  let connected: PhaseOutcomes | null = null;
  const runs = (): PhaseOutcomes => {
    if (!connected) throw new Error('the jobs domain has not been connected to runs (reportTo)');
    return connected;
  };
  // Jobs talk to runs through this forwarder, so the domain can be built before runs are.
  const outcomes: PhaseOutcomes = {
    describe: (job) => runs().describe(job),
    started: (job) => runs().started(job),
    finished: (job, outcome) => runs().finished(job, outcome),
    failed: (runId, message) => runs().failed(runId, message),
    stateSavedLate: (runId) => runs().stateSavedLate(runId),
    appendLog: (job, offset, chunk) => runs().appendLog(job, offset, chunk),
    artifactKey: (job, name) => runs().artifactKey(job, name),
  };
  const service = new JobService(deps.db, outcomes, deps.logger);
  const late = new LateStates(service, outcomes, deps.state, deps.logger);
  return {
    service,
    late,
    reportTo: (o) => {
      connected = o;
    },
    agentRoutes: (router) => registerJobRoutes(router, { jobs: service, outcomes, variables: deps.variables, sshKeys: deps.sshKeys, blobs: deps.blobs, site: deps.site, late }),
    serverAgent: (opts) => new ServerAgent({ ...opts, jobs: service, failRun: (runId, message) => outcomes.failed(runId, message) }),
    startTimeoutBackstop: (marginMs) => {
      let running = false;
      const timer = setInterval(() => {
        if (running) return;
        running = true;
        service
          .endOverdue(Math.ceil(marginMs / 1000))
          .catch((err: unknown) => deps.logger.warn({ err }, 'could not look for jobs past their timeout'))
          .finally(() => (running = false));
      }, BACKSTOP_INTERVAL_MS);
      return () => clearInterval(timer);
    },
  };
}
