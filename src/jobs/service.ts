// Jobs: the phases of runs waiting to be executed, claimed by runners (the server agent and pool
// agents) with one statement that any number of claimants can run at once. A claimed job carries a
// job token that is valid until the job ends. Runs queue and stop jobs here, in their own
// transactions; what runners report goes back to runs through PhaseOutcomes.
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { TokenResolver } from '../auth/service.js';
import type { Subject } from '../auth/subject.js';
import { secretMatches, sha256 } from '../auth/tokens.js';
import type { Db } from '../db/index.js';
import { newId } from '../ids.js';
import type { Logger } from '../logger.js';
import { timedOutMessage } from '../protocol/agent.js';
import type { PhaseOutcomes } from './outcomes.js';
import * as store from './store.js';
import type { Job, JobPhase } from './store.js';

export type { Job, JobPhase, JobStatus } from './store.js';

/** Priorities: applies first, then plans, then speculative plans; oldest first within one. */
export const PRIORITY = { apply: 0, plan: 1, speculative: 2 } as const;

/** Channel notified when a job is queued; the payload is the pool id, or "server". */
export const JOBS_CHANNEL = 'otf_jobs';
/** Channel notified when a job is asked to cancel; the payload is the job id. */
export const SIGNALS_CHANNEL = 'otf_job_signals';

/** Told how long a job ran when it ends (the job-duration histogram); never awaited, never failing the job. */
export type JobEndedHook = (phase: JobPhase, seconds: number, status: 'finished' | 'errored' | 'canceled') => void;

export class JobService implements TokenResolver {
  readonly prefix = 'job';
  private readonly endedHooks: JobEndedHook[] = [];

  constructor(
    private readonly db: Db,
    /** Runs' side, connected once runs exist (src/server.ts). */
    private readonly outcomes: PhaseOutcomes,
    private readonly logger: Logger,
  ) {}

  onEnded(hook: JobEndedHook): void {
    this.endedHooks.push(hook);
  }

  private async end(db: Db, id: string, status: 'finished' | 'errored' | 'canceled'): Promise<void> {
    const ended = await store.markEnded(db, id, status);
    if (!ended) return;
    for (const hook of this.endedHooks) {
      try {
        hook(ended.phase, ended.seconds, status);
      } catch (err) {
        this.logger.warn({ err, job: id }, 'a job-ended hook failed');
      }
    }
  }

  /**
   * The run's queued job, if one waits, and how many queued jobs of its queue (its pool's, or the
   * server agent's) are claimed before it.
   */
  async queuedJobOf(runId: string): Promise<{ job: Job; ahead: number } | null> {
    return store.queuedWithAhead(this.db, runId);
  }

  /** How many jobs the server agents of every otfd hold now. */
  async activeServerJobs(): Promise<number> {
    return store.activeServerJobs(this.db);
  }

  /** Queued jobs per pool (null: the server agent's) and phase, for /metrics. */
  async queuedCounts(): Promise<Array<{ poolId: string | null; poolName: string | null; phase: JobPhase; n: number }>> {
    return store.queuedCounts(this.db);
  }

  /** Queues a job in the caller's transaction; waiting runners are notified when it commits. */
  async enqueue(
    trx: Knex.Transaction,
    job: { runId: string; workspaceId: string; organizationId: string; phase: JobPhase; priority: number; poolId: string | null; timeoutSeconds?: number | null },
  ): Promise<void> {
    await store.insertJob(trx, { id: newId('job'), ...job });
    await store.notify(trx, JOBS_CHANNEL, job.poolId ?? 'server');
  }

  /**
   * Claims the most urgent queued job of the pool (null: the server agent's jobs) for the runner,
   * issuing its job token. Returns null when there is none.
   */
  async claim(runnerId: string, poolId: string | null): Promise<{ job: Job; token: string } | null> {
    const secret = crypto.randomBytes(32).toString('base64url');
    const job = await store.claimNext(this.db, runnerId, poolId, sha256(secret));
    return job ? { job, token: `${job.id}.${secret}` } : null;
  }

  /** Claims up to `max` jobs for the runner, one statement each; stops at the first miss. */
  async claimMany(runnerId: string, poolId: string | null, max: number): Promise<Array<{ job: Job; token: string }>> {
    const claimed: Array<{ job: Job; token: string }> = [];
    while (claimed.length < max) {
      const next = await this.claim(runnerId, poolId);
      if (!next) break;
      claimed.push(next);
    }
    return claimed;
  }

  /** Jobs the runner holds: claimed or running. */
  async heldBy(runnerId: string): Promise<Job[]> {
    return store.heldBy(this.db, runnerId);
  }

  /** Jobs each of these runners holds, in one statement (a pool page's agents). */
  async heldByAny(runnerIds: string[]): Promise<Job[]> {
    return store.heldByAny(this.db, runnerIds);
  }

  /**
   * Gives jobs the runner claimed but never started back to the queue (all of them, or only those
   * claimed more than `olderThanSeconds` ago and not in `except`).
   */
  async requeue(runnerId: string, opts: { olderThanSeconds?: number; except?: string[] } = {}): Promise<number> {
    return this.db.transaction(async (trx) => {
      const pools = await store.requeueClaimed(trx, runnerId, opts);
      for (const pool of new Set(pools)) await store.notify(trx, JOBS_CHANNEL, pool ?? 'server');
      return pools.length;
    });
  }

  /**
   * The runner is gone: its unstarted jobs go back to the queue, its running ones fail their runs.
   * Each run fails before its job is closed, so that an abandon cut short leaves the job to the next.
   */
  async abandon(runnerId: string, why: string): Promise<void> {
    await this.requeue(runnerId);
    for (const job of await this.heldBy(runnerId)) {
      this.logger.warn({ runner: runnerId, run: job.runId, job: job.id }, 'runner lost; failing its run');
      await this.outcomes.failed(job.runId, `${why} while running the ${job.phase} of this run`);
      await this.end(this.db, job.id, 'errored');
    }
  }

  /**
   * The backstop of phase timeouts: a running job past its timeout by more than the margin has a
   * runner that did not stop it (hung, or lost without otfd noticing yet). Its run fails "timed
   * out" (which releases the workspace and asks the runner to stop), and the job ends, its token
   * revoked. Any replica may do this at any time: a run already over is left as it is.
   */
  async endOverdue(marginSeconds: number): Promise<number> {
    const jobs = await store.overdue(this.db, marginSeconds);
    for (const job of jobs) {
      this.logger.warn({ run: job.runId, job: job.id, runner: job.runnerId, timeoutSeconds: job.timeoutSeconds }, 'a job ran past its timeout without its runner stopping it; ending it');
      await this.outcomes.failed(job.runId, `${timedOutMessage(job.phase, job.timeoutSeconds ?? 0)} (its runner did not stop it; otfd ended the run)`);
      await this.end(this.db, job.id, 'errored');
    }
    return jobs.length;
  }

  async get(id: string): Promise<Job | null> {
    return store.findJob(this.db, id);
  }

  /** The claimed job has started executing; false when it was not claimed (e.g. canceled meanwhile). */
  async markRunning(db: Db, id: string): Promise<boolean> {
    return store.markRunning(db, id);
  }

  /** Ends the job and revokes its token. */
  async finish(db: Db, id: string, status: 'finished' | 'errored' | 'canceled'): Promise<void> {
    await this.end(db, id, status);
  }

  /**
   * Stops the run's jobs: queued ones are withdrawn at once; running ones are asked to cancel
   * (force: to be killed) and their runners notified. The request is stored on the job, so a
   * runner that missed the notification learns it at its next contact.
   */
  async stop(trx: Knex.Transaction, runId: string, force: boolean): Promise<void> {
    await store.cancelQueued(trx, runId);
    for (const id of await store.requestCancel(trx, runId, force)) await store.notify(trx, SIGNALS_CHANNEL, id);
    // a force-canceled run is over: its job tokens stop working now
    if (force) await store.cancelActive(trx, runId);
  }

  async authenticateToken(id: string, secret: string): Promise<Subject | null> {
    const found = await store.activeJobForAuth(this.db, id);
    if (!found || !found.tokenHash || !secretMatches(secret, found.tokenHash)) return null;
    const { job } = found;
    return { kind: 'job', jobId: job.id, runId: job.runId, workspaceId: job.workspaceId, organizationId: job.organizationId, phase: job.phase };
  }
}
