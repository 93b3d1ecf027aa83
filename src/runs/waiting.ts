// Why a run waits: for a run that is pending (in its workspace's queue) or queued (for a runner),
// what it waits for, as data: the workspace lock and who holds it, the runs ahead of it, its pool
// and that pool's agents, the server agent's --concurrency. The API shows it as the run's
// `status-explanation` (docs/waiting-runs.md), the web run page and `otf runs explain` print it,
// and /metrics counts waiting runs by its reason.
//
// What other domains know (pools and their agents, the server agents of every otfd) comes through
// RunnerProbes, connected by src/server.ts. Explaining one run costs a few statements; nothing here
// runs per row of a list.
import type { Db } from '../db/index.js';
import type { JobService } from '../jobs/index.js';
import type { WorkspaceService } from '../workspaces/index.js';
import type { ConfigurationVersionService } from './configs.js';
import { WAITING_STATUSES, type RunStatus } from './machine.js';
import * as store from './store.js';
import type { Run } from './store.js';

export type WaitReason =
  /** pending: the run's commit is still being fetched */
  | 'fetching-commit'
  /** pending: a user, or another run, holds the workspace lock */
  | 'workspace-locked'
  /** pending: the workspace is free but older runs are queued ahead */
  | 'queued-behind-runs'
  /** pending: nothing holds it back; the queue admits it in a moment */
  | 'being-queued'
  /** queued for a pool that no longer exists */
  | 'no-pool'
  /** queued for a pool with no live agent (none registered, or all errored or exited) */
  | 'no-agents'
  /** queued for a pool whose live agents have no free slot */
  | 'agents-busy'
  /** queued for a pool whose only agents are unknown (silent): they may come back */
  | 'agents-unreachable'
  /** queued behind other jobs of the same pool or of the server agent */
  | 'queued-behind-jobs'
  /** queued; an agent with a free slot picks it up at its next poll */
  | 'agent-starting'
  /** queued for the server agent, but no otfd runs one (all have --concurrency 0) */
  | 'no-server-agent'
  /** queued for the server agent, whose slots (--concurrency per otfd) are all taken */
  | 'server-agent-busy'
  /** queued for the server agent, which has a free slot: it starts in a moment */
  | 'server-agent-starting';

/** Agents of a pool by status. */
export type AgentCounts = Record<'idle' | 'busy' | 'unknown' | 'errored' | 'exited', number>;

/** What a run waits for. */
export interface Waiting {
  reason: WaitReason;
  /** One sentence, for people. */
  detail: string;
  /** Who holds the workspace lock, when another run or a user does. */
  lockHolder: { type: string; id: string; name: string; status: RunStatus | null } | null;
  /** The workspace's pending runs ahead of this one, oldest first. */
  runsAhead: string[];
  /** The runner queue: a pool (id and name), or null for the server agent; absent before a job is queued. */
  pool: { id: string; name: string | null } | null;
  runner: 'pool' | 'server-agent' | null;
  /** Queued jobs of the same runner queue that are claimed before this run's. */
  jobsAhead: number | null;
  /** The pool's agents by status. */
  agents: AgentCounts | null;
  /** Job slots: of the pool's live agents, or of every otfd's server agent; and how many are taken. */
  slots: number | null;
  slotsTaken: number | null;
}

/** What the runs domain asks other domains about runners (src/server.ts connects them). */
export interface RunnerProbes {
  /** A pool: its name, agents by status, their job slots and the jobs they hold; null when it is gone. */
  pool(poolId: string): Promise<{ name: string; agents: AgentCounts; slots: number; held: number } | null>;
  /**
   * The server agents of every otfd: how many are alive, the slots of each (this otfd's
   * --concurrency: replicas are expected to share it; null when this otfd runs none) and the jobs
   * they hold together.
   */
  server(): Promise<{ agents: number; slotsPerAgent: number | null; held: number }>;
}


const NO_PROBES: RunnerProbes = {
  pool: async () => null,
  server: async () => ({ agents: 0, slotsPerAgent: null, held: 0 }),
};

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The same pool or server asked about twice in one batch (a /metrics scrape) is asked once. */
type ProbeMemo = Map<string, Promise<unknown>>;

export class WaitingService {
  private probes: RunnerProbes = NO_PROBES;

  constructor(
    private readonly db: Db,
    private readonly workspaces: WorkspaceService,
    private readonly configs: ConfigurationVersionService,
    private readonly jobs: JobService,
  ) {}

  setProbes(probes: RunnerProbes): void {
    this.probes = probes;
  }

  /** The run's position in its organization's queue: 0 while executing, null once it is not queued. */
  async position(run: Run): Promise<number | null> {
    if (run.status === 'planning' || run.status === 'applying') return 0;
    if (!WAITING_STATUSES.has(run.status)) return null;
    return store.queuePosition(this.db, run);
  }

  /** What the run waits for; null when it does not wait (executing, waiting for a user's confirmation, or over). */
  async explain(run: Run, memo: ProbeMemo = new Map()): Promise<Waiting | null> {
    if (run.status === 'pending') return this.pending(run);
    if (WAITING_STATUSES.has(run.status)) return this.queued(run, memo);
    return null;
  }

  /** Up to `limit` waiting runs, oldest first, each explained (probes shared), for /metrics. */
  async explainWaiting(limit: number): Promise<Array<{ run: Run; waiting: Waiting }>> {
    const memo: ProbeMemo = new Map();
    const out: Array<{ run: Run; waiting: Waiting }> = [];
    for (const run of await store.waitingRuns(this.db, limit)) {
      const waiting = await this.explain(run, memo);
      if (waiting) out.push({ run, waiting });
    }
    return out;
  }

  private base(reason: WaitReason, detail: string): Waiting {
    return { reason, detail, lockHolder: null, runsAhead: [], pool: null, runner: null, jobsAhead: null, agents: null, slots: null, slotsTaken: null };
  }

  private async pending(run: Run): Promise<Waiting> {
    const [ws, cv, runsAhead] = await Promise.all([
      this.workspaces.byId(run.workspaceId),
      this.configs.byId(run.configurationVersionId),
      run.speculative ? Promise.resolve([]) : store.pendingBefore(this.db, run),
    ]);
    const behind = runsAhead.length > 0 ? `; ${plural(runsAhead.length, 'more run')} ${runsAhead.length === 1 ? 'is' : 'are'} queued ahead of it` : '';
    const holder = ws?.lock && !(ws.lock.holder.type === 'runs' && ws.lock.holder.id === run.id) ? ws.lock.holder : null;
    if (holder) {
      if (holder.type === 'runs') {
        const current = await store.findRun(this.db, holder.id);
        const status = current?.status ?? null;
        return {
          ...this.base('workspace-locked', `The workspace is locked by run ${holder.id}${status ? ` (${status})` : ''}; this run starts after it${behind}.`),
          lockHolder: { type: 'runs', id: holder.id, name: holder.name, status },
          runsAhead,
        };
      }
      const why = ws?.lock?.reason ? ` (${ws.lock.reason})` : '';
      const who = holder.type === 'teams' ? `team ${holder.name}` : `user ${holder.name}`;
      return {
        ...this.base('workspace-locked', `The workspace is locked by ${who}${why}; runs start once it is unlocked${behind}.`),
        lockHolder: { type: holder.type, id: holder.id, name: holder.name, status: null },
        runsAhead,
      };
    }
    if (cv?.status === 'fetching') return { ...this.base('fetching-commit', "The run's commit is still being fetched from the repository."), runsAhead };
    if (runsAhead.length > 0) {
      return { ...this.base('queued-behind-runs', `${plural(runsAhead.length, 'run')} of the workspace ${runsAhead.length === 1 ? 'is' : 'are'} queued ahead of this one.`), runsAhead };
    }
    return this.base('being-queued', 'Nothing holds the run back: the workspace queue admits it in a moment.');
  }

  private memoized<T>(memo: ProbeMemo, key: string, fn: () => Promise<T>): Promise<T> {
    let p = memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = fn();
      memo.set(key, p);
    }
    return p;
  }

  private async queued(run: Run, memo: ProbeMemo): Promise<Waiting> {
    const phase = run.status === 'plan_queued' ? 'plan' : 'apply';
    const queued = await this.jobs.queuedJobOf(run.id);
    if (!queued) {
      // Between two statements: confirmed and its apply not queued yet, or just claimed.
      return this.base('being-queued', `The ${phase} is being handed to a runner.`);
    }
    const { job, ahead } = queued;
    const behindJobs = ahead > 0 ? ` ${plural(ahead, 'job')} of the same queue ${ahead === 1 ? 'is' : 'are'} ahead of it.` : '';
    if (job.poolId === null) {
      const server = await this.memoized(memo, 'server', () => this.probes.server());
      const slots = server.slotsPerAgent === null ? null : server.agents * server.slotsPerAgent;
      const common = { runner: 'server-agent' as const, jobsAhead: ahead, slots, slotsTaken: server.held };
      if (server.agents === 0) {
        return { ...this.base('no-server-agent', `The ${phase} waits for the server agent, but no otfd runs one (--concurrency is 0 on every otfd).`), ...common };
      }
      if (slots !== null && server.held >= slots) {
        return {
          ...this.base('server-agent-busy', `The ${phase} waits for the server agent: all ${plural(slots, 'slot')} (--concurrency ${server.slotsPerAgent} on ${plural(server.agents, 'otfd')}) are running jobs.${behindJobs}`),
          ...common,
        };
      }
      if (ahead > 0) return { ...this.base('queued-behind-jobs', `The ${phase} waits for the server agent.${behindJobs}`), ...common };
      return { ...this.base('server-agent-starting', `The server agent has a free slot and starts the ${phase} in a moment.`), ...common };
    }
    const poolId = job.poolId;
    const found = await this.memoized(memo, `pool:${poolId}`, () => this.probes.pool(poolId));
    if (!found) {
      return { ...this.base('no-pool', `The ${phase} was queued for agent pool ${poolId}, which no longer exists.`), runner: 'pool', pool: { id: poolId, name: null }, jobsAhead: ahead };
    }
    const { agents } = found;
    const common = { runner: 'pool' as const, pool: { id: poolId, name: found.name }, jobsAhead: ahead, agents, slots: found.slots, slotsTaken: found.held };
    const pool = `agent pool "${found.name}" (${poolId})`;
    if (agents.idle + agents.busy + agents.unknown === 0) {
      const gone = agents.errored + agents.exited;
      const none = gone > 0 ? `has no live agent (${plural(gone, 'agent')} errored or exited)` : 'has no agent registered';
      return { ...this.base('no-agents', `The ${phase} waits for an agent: ${pool} ${none}. Start an otf-agent with a token of this pool.`), ...common };
    }
    if (agents.idle + agents.busy === 0) {
      return { ...this.base('agents-unreachable', `The ${phase} waits for an agent: the ${plural(agents.unknown, 'agent')} of ${pool} stopped responding.`), ...common };
    }
    if (found.held >= found.slots) {
      return {
        ...this.base('agents-busy', `The ${phase} waits for an agent: all ${plural(agents.idle + agents.busy, 'agent')} of ${pool} are busy (${found.held} of ${plural(found.slots, 'slot')} taken).${behindJobs}`),
        ...common,
      };
    }
    if (ahead > 0) return { ...this.base('queued-behind-jobs', `The ${phase} waits for an agent of ${pool}.${behindJobs}`), ...common };
    return { ...this.base('agent-starting', `An agent of ${pool} has a free slot and picks the ${phase} up at its next poll.`), ...common };
  }
}

/** The API's status-explanation attribute (kebab-case, as the rest of the run). */
export function presentWaiting(w: Waiting | null): Record<string, unknown> | null {
  if (!w) return null;
  return {
    reason: w.reason,
    detail: w.detail,
    'lock-holder': w.lockHolder,
    'runs-ahead': w.runsAhead,
    runner: w.runner,
    pool: w.pool,
    'jobs-ahead': w.jobsAhead,
    agents: w.agents,
    slots: w.slots,
    'slots-taken': w.slotsTaken,
  };
}
