// The jobs table: the phases of runs waiting to be executed or being executed, and the job tokens
// of claimed ones (stored hashed). Every statement takes the connection or transaction to run in.
import type { Knex } from 'knex';
import type { Db } from '../db/index.js';

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
  /** How long the phase may run from its start (null: no limit), decided when it was queued. */
  timeoutSeconds: number | null;
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
  timeout_seconds: number | null;
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
    timeoutSeconds: r.timeout_seconds,
    createdAt: r.created_at,
    claimedAt: r.claimed_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** Claimed or running: a runner holds the job, and its token works. */
export const ACTIVE: JobStatus[] = ['claimed', 'running'];

/** Inserts a queued job; a phase is queued once, so a retried transition does not queue it again. */
export async function insertJob(
  trx: Knex.Transaction,
  job: { id: string; runId: string; workspaceId: string; organizationId: string; phase: JobPhase; priority: number; poolId: string | null; timeoutSeconds?: number | null },
): Promise<void> {
  await trx('jobs')
    .insert({
      timeout_seconds: job.timeoutSeconds ?? null,
      id: job.id,
      run_id: job.runId,
      workspace_id: job.workspaceId,
      organization_id: job.organizationId,
      phase: job.phase,
      status: 'queued',
      priority: job.priority,
      pool_id: job.poolId,
    })
    .onConflict(['run_id', 'phase'])
    .ignore();
}

/** Notifies `channel` with `payload` when the transaction commits (at once outside one). */
export async function notify(db: Db, channel: string, payload: string): Promise<void> {
  await db.raw('SELECT pg_notify(?, ?)', [channel, payload]);
}

/**
 * Claims the most urgent queued job of the pool (null: the server agent's jobs) for the runner,
 * storing the hash of its token. Any number of claimants may run this at once: each skips the rows
 * the others have locked.
 */
export async function claimNext(db: Db, runnerId: string, poolId: string | null, tokenHash: Buffer): Promise<Job | null> {
  const result = await db.raw<{ rows: JobRow[] }>(
    `UPDATE jobs SET status = 'claimed', runner_id = ?, claimed_at = now(), token_hash = ?
      WHERE id = (SELECT id FROM jobs
                   WHERE status = 'queued' AND pool_id IS NOT DISTINCT FROM ?
                   ORDER BY priority, created_at
                   FOR UPDATE SKIP LOCKED
                   LIMIT 1)
      RETURNING *`,
    [runnerId, tokenHash, poolId],
  );
  const row = result.rows[0];
  return row ? toJob(row) : null;
}

/** Jobs the runner holds: claimed or running, in the order it claimed them. */
export async function heldBy(db: Db, runnerId: string): Promise<Job[]> {
  const rows = await db<JobRow>('jobs').where({ runner_id: runnerId }).whereIn('status', ACTIVE).orderBy('claimed_at');
  return rows.map(toJob);
}

/** Jobs each of these runners holds (claimed or running), in one statement. */
export async function heldByAny(db: Db, runnerIds: string[]): Promise<Job[]> {
  if (runnerIds.length === 0) return [];
  const rows = await db<JobRow>('jobs').whereIn('runner_id', runnerIds).whereIn('status', ACTIVE).orderBy('claimed_at');
  return rows.map(toJob);
}

/**
 * Puts the runner's claimed, unstarted jobs back in the queue (only those claimed more than
 * `olderThanSeconds` ago and not in `except`, when given); returns the pools of the jobs requeued.
 */
export async function requeueClaimed(
  trx: Knex.Transaction,
  runnerId: string,
  opts: { olderThanSeconds?: number; except?: string[] },
): Promise<Array<string | null>> {
  const q = trx('jobs').where({ runner_id: runnerId, status: 'claimed' });
  if (opts.olderThanSeconds !== undefined) q.andWhereRaw('claimed_at < now() - make_interval(secs => ?)', [opts.olderThanSeconds]);
  if (opts.except?.length) q.whereNotIn('id', opts.except);
  const rows = await q.update({ status: 'queued', runner_id: null, claimed_at: null, token_hash: null }).returning<{ pool_id: string | null }[]>('pool_id');
  return rows.map((r) => r.pool_id);
}

export async function findJob(db: Db, id: string): Promise<Job | null> {
  const row = await db<JobRow>('jobs').where({ id }).first();
  return row ? toJob(row) : null;
}

/** An active job with its token's hash, for authentication. */
export async function activeJobForAuth(db: Db, id: string): Promise<{ job: Job; tokenHash: Buffer | null } | null> {
  const row = await db<JobRow>('jobs').where({ id }).whereIn('status', ACTIVE).first();
  return row ? { job: toJob(row), tokenHash: row.token_hash } : null;
}

/** Claimed → running; false when the job was not claimed. */
export async function markRunning(db: Db, id: string): Promise<boolean> {
  return (await db('jobs').where({ id, status: 'claimed' }).update({ status: 'running', started_at: db.fn.now() })) === 1;
}

/** Ends an active job and forgets its token; the job's phase and how long it ran, when it was active and had started. */
export async function markEnded(db: Db, id: string, status: 'finished' | 'errored' | 'canceled'): Promise<{ phase: JobPhase; seconds: number } | null> {
  const rows = await db('jobs')
    .where({ id })
    .whereIn('status', ACTIVE)
    .update({ status, finished_at: db.fn.now(), token_hash: null })
    .returning<Array<{ phase: JobPhase; seconds: string | null }>>(['phase', db.raw('extract(epoch FROM now() - started_at) AS seconds')]);
  const row = rows[0];
  return row && row.seconds !== null ? { phase: row.phase, seconds: Number(row.seconds) } : null;
}

/** Withdraws the run's queued jobs. */
export async function cancelQueued(trx: Knex.Transaction, runId: string): Promise<void> {
  await trx('jobs').where({ run_id: runId, status: 'queued' }).update({ status: 'canceled', finished_at: trx.fn.now() });
}

/** Stores a cancel (or force-cancel) request on the run's active jobs; returns their ids. */
export async function requestCancel(trx: Knex.Transaction, runId: string, force: boolean): Promise<string[]> {
  const update: Record<string, boolean> = { cancel_requested: true };
  if (force) update.force_cancel_requested = true;
  const rows = await trx('jobs').where({ run_id: runId }).whereIn('status', ACTIVE).update(update).returning<{ id: string }[]>('id');
  return rows.map((r) => r.id);
}

/** Ends the run's active jobs as canceled and forgets their tokens. */
export async function cancelActive(trx: Knex.Transaction, runId: string): Promise<void> {
  await trx('jobs').where({ run_id: runId }).whereIn('status', ACTIVE).update({ status: 'canceled', finished_at: trx.fn.now(), token_hash: null });
}

/**
 * The run's queued job (the newest phase queued) and how many queued jobs of the same runner queue
 * (pool, or the server agent's) a claim takes before it: one statement.
 */
export async function queuedWithAhead(db: Db, runId: string): Promise<{ job: Job; ahead: number } | null> {
  const result = await db.raw<{ rows: Array<JobRow & { ahead: string }> }>(
    `SELECT j.*, (SELECT count(*) FROM jobs o
                   WHERE o.status = 'queued' AND o.pool_id IS NOT DISTINCT FROM j.pool_id AND o.id <> j.id
                     AND (o.priority, o.created_at) < (j.priority, j.created_at)) AS ahead
       FROM jobs j WHERE j.run_id = ? AND j.status = 'queued' ORDER BY j.created_at DESC LIMIT 1`,
    [runId],
  );
  const row = result.rows[0];
  return row ? { job: toJob(row), ahead: Number(row.ahead) } : null;
}

/** Jobs the server agents hold (no pool, claimed or running), across every otfd. */
export async function activeServerJobs(db: Db): Promise<number> {
  const row = await db('jobs').whereNull('pool_id').whereIn('status', ACTIVE).count<{ n: string }[]>({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/** Queued jobs per pool (null: the server agent's) and phase, with the pool's name: one statement. */
export async function queuedCounts(db: Db): Promise<Array<{ poolId: string | null; poolName: string | null; phase: JobPhase; n: number }>> {
  const rows = await db('jobs as j')
    .leftJoin('agent_pools as p', 'p.id', 'j.pool_id')
    .where('j.status', 'queued')
    .groupBy('j.pool_id', 'p.name', 'j.phase')
    .select<Array<{ pool_id: string | null; name: string | null; phase: JobPhase; n: string }>>('j.pool_id', 'p.name', 'j.phase', db.raw('count(*) AS n'));
  return rows.map((r) => ({ poolId: r.pool_id, poolName: r.name, phase: r.phase, n: Number(r.n) }));
}

/**
 * Running jobs past their timeout by more than `marginSeconds`: their runner should have stopped
 * them and reported long ago (it hung, or is lost).
 */
export async function overdue(db: Db, marginSeconds: number): Promise<Job[]> {
  const rows = await db<JobRow>('jobs')
    .where({ status: 'running' })
    .whereNotNull('timeout_seconds')
    .andWhereRaw('started_at + make_interval(secs => timeout_seconds + ?) < now()', [marginSeconds]);
  return rows.map(toJob);
}
