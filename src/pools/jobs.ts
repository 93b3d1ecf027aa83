// Jobs: the phases of runs waiting to be executed, claimed by runners (the server agent now, pool
// agents later) with one statement that any number of claimants can run at once. A claimed job
// carries a job token that is valid until the job ends.
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { TokenResolver } from '../auth/service.js';
import type { Subject } from '../auth/subject.js';
import { secretMatches, sha256 } from '../auth/tokens.js';
import type { Db } from '../db/index.js';
import { newId } from '../ids.js';

export type JobPhase = 'plan' | 'apply';
export type JobStatus = 'queued' | 'claimed' | 'running' | 'finished' | 'errored' | 'canceled';

export interface Job {
  id: string;
  runId: string;
  workspaceId: string;
  organizationId: string;
  phase: JobPhase;
  status: JobStatus;
  priority: number;
  poolId: string | null;
  runnerId: string | null;
  cancelRequested: boolean;
  forceCancelRequested: boolean;
  createdAt: Date;
  claimedAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

interface JobRow {
  id: string;
  run_id: string;
  workspace_id: string;
  organization_id: string;
  phase: JobPhase;
  status: JobStatus;
  priority: number;
  pool_id: string | null;
  runner_id: string | null;
  token_hash: Buffer | null;
  cancel_requested: boolean;
  force_cancel_requested: boolean;
  created_at: Date;
  claimed_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
}

function toJob(r: JobRow): Job {
  return {
    id: r.id,
    runId: r.run_id,
    workspaceId: r.workspace_id,
    organizationId: r.organization_id,
    phase: r.phase,
    status: r.status,
    priority: r.priority,
    poolId: r.pool_id,
    runnerId: r.runner_id,
    cancelRequested: r.cancel_requested,
    forceCancelRequested: r.force_cancel_requested,
    createdAt: r.created_at,
    claimedAt: r.claimed_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** Priorities: applies first, then plans, then speculative plans; oldest first within one. */
export const PRIORITY = { apply: 0, plan: 1, speculative: 2 } as const;

/** Channel notified when a job is queued; the payload is the pool id, or "server". */
export const JOBS_CHANNEL = 'otf_jobs';
/** Channel notified when a job is asked to cancel; the payload is the job id. */
export const SIGNALS_CHANNEL = 'otf_job_signals';

const ACTIVE: JobStatus[] = ['claimed', 'running'];

export class JobService implements TokenResolver {
  readonly prefix = 'job';

  constructor(private readonly db: Db) {}

  /** Queues a job in the caller's transaction; waiting runners are notified when it commits. */
  async enqueue(
    trx: Knex.Transaction,
    job: { runId: string; workspaceId: string; organizationId: string; phase: JobPhase; priority: number; poolId: string | null },
  ): Promise<void> {
    await trx('jobs')
      .insert({
        id: newId('job'),
        run_id: job.runId,
        workspace_id: job.workspaceId,
        organization_id: job.organizationId,
        phase: job.phase,
        status: 'queued',
        priority: job.priority,
        pool_id: job.poolId,
      })
      // A phase is queued once; a retried transition does not queue it again.
      .onConflict(['run_id', 'phase'])
      .ignore();
    await trx.raw('SELECT pg_notify(?, ?)', [JOBS_CHANNEL, job.poolId ?? 'server']);
  }

  /**
   * Claims the most urgent queued job of the pool (null: the server agent's jobs) for the runner,
   * issuing its job token. Returns null when there is none.
   */
  async claim(runnerId: string, poolId: string | null): Promise<{ job: Job; token: string } | null> {
    const secret = crypto.randomBytes(32).toString('base64url');
    const result = await this.db.raw<{ rows: JobRow[] }>(
      `UPDATE jobs SET status = 'claimed', runner_id = ?, claimed_at = now(), token_hash = ?
        WHERE id = (SELECT id FROM jobs
                     WHERE status = 'queued' AND pool_id IS NOT DISTINCT FROM ?
                     ORDER BY priority, created_at
                     FOR UPDATE SKIP LOCKED
                     LIMIT 1)
        RETURNING *`,
      [runnerId, sha256(secret), poolId],
    );
    const row = result.rows[0];
    return row ? { job: toJob(row), token: `${row.id}.${secret}` } : null;
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
    const rows = await this.db<JobRow>('jobs').where({ runner_id: runnerId }).whereIn('status', ACTIVE).orderBy('claimed_at');
    return rows.map(toJob);
  }

  /**
   * Gives jobs the runner claimed but never started back to the queue (all of them, or only those
   * claimed more than `olderThanSeconds` ago and not in `except`).
   */
  async requeue(runnerId: string, opts: { olderThanSeconds?: number; except?: string[] } = {}): Promise<number> {
    return this.db.transaction(async (trx) => {
      const q = trx('jobs').where({ runner_id: runnerId, status: 'claimed' });
      if (opts.olderThanSeconds !== undefined) q.andWhereRaw('claimed_at < now() - make_interval(secs => ?)', [opts.olderThanSeconds]);
      if (opts.except?.length) q.whereNotIn('id', opts.except);
      const rows = await q.update({ status: 'queued', runner_id: null, claimed_at: null, token_hash: null }).returning<{ pool_id: string | null }[]>('pool_id');
      for (const pool of new Set(rows.map((r) => r.pool_id))) await trx.raw('SELECT pg_notify(?, ?)', [JOBS_CHANNEL, pool ?? 'server']);
      return rows.length;
    });
  }

  async get(id: string): Promise<Job | null> {
    const row = await this.db<JobRow>('jobs').where({ id }).first();
    return row ? toJob(row) : null;
  }

  async forRun(runId: string, phase: JobPhase): Promise<Job | null> {
    const row = await this.db<JobRow>('jobs').where({ run_id: runId, phase }).first();
    return row ? toJob(row) : null;
  }

  /** The claimed job has started executing; false when it was not claimed (e.g. canceled meanwhile). */
  async markRunning(db: Db, id: string): Promise<boolean> {
    return (await db('jobs').where({ id, status: 'claimed' }).update({ status: 'running', started_at: db.fn.now() })) === 1;
  }

  /** Ends the job and revokes its token. */
  async finish(db: Db, id: string, status: 'finished' | 'errored' | 'canceled'): Promise<void> {
    await db('jobs').where({ id }).whereIn('status', ACTIVE).update({ status, finished_at: db.fn.now(), token_hash: null });
  }

  /**
   * Stops the run's jobs: queued ones are withdrawn at once; running ones are asked to cancel
   * (force: to be killed) and their runners notified. The request is stored on the job, so a
   * runner that missed the notification learns it at its next contact.
   */
  async stop(trx: Knex.Transaction, runId: string, force: boolean): Promise<void> {
    await trx('jobs').where({ run_id: runId, status: 'queued' }).update({ status: 'canceled', finished_at: trx.fn.now() });
    const update: Record<string, boolean> = { cancel_requested: true };
    if (force) update.force_cancel_requested = true;
    const signalled = await trx('jobs').where({ run_id: runId }).whereIn('status', ACTIVE).update(update).returning<{ id: string }[]>('id');
    for (const { id } of signalled) await trx.raw('SELECT pg_notify(?, ?)', [SIGNALS_CHANNEL, id]);
    if (force) {
      // a force-canceled run is over: its job tokens stop working now
      await trx('jobs').where({ run_id: runId }).whereIn('status', ACTIVE).update({ status: 'canceled', finished_at: trx.fn.now(), token_hash: null });
    }
  }

  async authenticateToken(id: string, secret: string): Promise<Subject | null> {
    const row = await this.db<JobRow>('jobs').where({ id }).whereIn('status', ACTIVE).first();
    if (!row || !row.token_hash || !secretMatches(secret, row.token_hash)) return null;
    return { kind: 'job', jobId: row.id, runId: row.run_id, workspaceId: row.workspace_id, organizationId: row.organization_id, phase: row.phase };
  }
}
