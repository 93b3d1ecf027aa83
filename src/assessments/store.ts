// Tables of the assessments domain: assessment_results (one row per health assessment, made with
// its run and finished when the run ends) and assessment_scheduler (the lease of the one otfd that
// schedules). Reads of workspaces, organizations and runs are read-only glimpses for the scheduler.
import type { Knex } from 'knex';
import type { Db } from '../db/index.js';
import { EFFECTIVE_MODE } from '../workspaces/index.js';

export type AssessmentStatus = 'running' | 'drifted' | 'no_drift' | 'errored';

export interface AssessmentResult {
  id: string;
  workspaceId: string;
  organizationId: string;
  runId: string | null;
  status: AssessmentStatus;
  errorMsg: string | null;
  resourcesDrifted: number;
  resourcesUndrifted: number;
  /** Addresses that drifted: resources, and outputs as "output.<name>". */
  driftedAddresses: string[];
  /** Checks that failed (check blocks, conditions), by address. */
  failedChecks: string[];
  createdAt: Date;
  finishedAt: Date | null;
}

interface ResultRow {
  id: string;
  workspace_id: string;
  organization_id: string;
  run_id: string | null;
  status: AssessmentStatus;
  error_msg: string | null;
  resources_drifted: number;
  resources_undrifted: number;
  drifted_addresses: string[];
  failed_checks: string[];
  created_at: Date;
  finished_at: Date | null;
}

function toResult(r: ResultRow): AssessmentResult {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    organizationId: r.organization_id,
    runId: r.run_id,
    status: r.status,
    errorMsg: r.error_msg,
    resourcesDrifted: r.resources_drifted,
    resourcesUndrifted: r.resources_undrifted,
    driftedAddresses: r.drifted_addresses,
    failedChecks: r.failed_checks,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  };
}

export async function insertResult(trx: Knex.Transaction, r: { id: string; workspaceId: string; organizationId: string; runId: string }): Promise<void> {
  await trx('assessment_results').insert({ id: r.id, workspace_id: r.workspaceId, organization_id: r.organizationId, run_id: r.runId, status: 'running' });
}

/** Finishes a running result; null when it was finished already (by another replica's sweep). */
export async function finishResult(
  db: Db,
  id: string,
  f: {
    status: Exclude<AssessmentStatus, 'running'>;
    errorMsg: string | null;
    resourcesDrifted: number;
    resourcesUndrifted: number;
    driftedAddresses: string[];
    failedChecks: string[];
  },
): Promise<AssessmentResult | null> {
  const [row] = await db<ResultRow>('assessment_results')
    .where({ id, status: 'running' })
    .update({
      status: f.status,
      error_msg: f.errorMsg,
      resources_drifted: f.resourcesDrifted,
      resources_undrifted: f.resourcesUndrifted,
      drifted_addresses: JSON.stringify(f.driftedAddresses) as unknown as string[],
      failed_checks: JSON.stringify(f.failedChecks) as unknown as string[],
      finished_at: db.fn.now() as unknown as Date,
    })
    .returning('*');
  return row ? toResult(row as ResultRow) : null;
}

export async function findResult(db: Db, id: string): Promise<AssessmentResult | null> {
  const row = await db<ResultRow>('assessment_results').where({ id }).first();
  return row ? toResult(row) : null;
}

export async function findResults(db: Db, ids: string[]): Promise<AssessmentResult[]> {
  if (ids.length === 0) return [];
  const rows = await db<ResultRow>('assessment_results').whereIn('id', ids);
  return rows.map(toResult);
}

export async function resultOfRun(db: Db, runId: string): Promise<AssessmentResult | null> {
  const row = await db<ResultRow>('assessment_results').where({ run_id: runId }).first();
  return row ? toResult(row) : null;
}

/** The workspace's latest finished result (TFC's current assessment result); null when none has finished. */
export async function currentResult(db: Db, workspaceId: string): Promise<AssessmentResult | null> {
  const row = await db<ResultRow>('assessment_results').where({ workspace_id: workspaceId }).whereNot({ status: 'running' }).orderBy('created_at', 'desc').orderBy('id').first();
  return row ? toResult(row) : null;
}

/** The workspace's results, newest first. */
export async function listResults(db: Db, workspaceId: string, limit: number, offset: number): Promise<{ items: AssessmentResult[]; total: number }> {
  const [{ n }] = await db('assessment_results').where({ workspace_id: workspaceId }).count<{ n: string }[]>({ n: '*' });
  const rows = await db<ResultRow>('assessment_results').where({ workspace_id: workspaceId }).orderBy('created_at', 'desc').orderBy('id').limit(limit).offset(offset);
  return { items: rows.map(toResult), total: Number(n) };
}

/** Running results whose run has ended or is gone: their otfd stopped before it finished them. */
export async function orphanedResults(db: Db, finalStatuses: readonly string[]): Promise<Array<{ id: string; runId: string | null }>> {
  const rows = await db('assessment_results as ar')
    .leftJoin('runs as r', 'r.id', 'ar.run_id')
    .where('ar.status', 'running')
    .where((w) => w.whereNull('r.id').orWhereRaw('r.status = ANY(?)', [[...finalStatuses]]))
    .select<Array<{ id: string; run_id: string | null }>>('ar.id', 'ar.run_id');
  return rows.map((r) => ({ id: r.id, runId: r.run_id }));
}

/** Workspaces with health assessments on (their own setting, or their organization's enforcement). */
export interface Candidate {
  workspaceId: string;
  /** The organization's schedule, null: the site's. */
  schedule: string | null;
  /** When the workspace's last assessment was made; null: never. */
  lastAt: Date | null;
}

/**
 * The workspaces with assessments on that have a current state, a runner (not local execution, the
 * organization's default read as the workspaces domain reads it), no lock and no unfinished run (of
 * any kind, assessments included): the ones an assessment may be made for now, if due. Those that
 * cannot be assessed are left out here, not refused later: sorted first (never assessed), enough of
 * them would fill every tick and starve the others.
 */
export async function candidates(db: Db, finalStatuses: readonly string[], limit: number): Promise<Candidate[]> {
  const rows = await db('workspaces as w')
    .join('organizations as o', 'o.id', 'w.organization_id')
    .where((q) => q.where('w.assessments_enabled', true).orWhere('o.assessments_enforced', true))
    .whereRaw(`(${EFFECTIVE_MODE}) <> 'local'`)
    .where('w.locked', false)
    .whereExists((q) => q.select(db.raw('1')).from('state_versions as sv').whereRaw("sv.workspace_id = w.id AND sv.status = 'finalized'"))
    .whereNotExists((q) => q.select(db.raw('1')).from('runs as r').whereRaw('r.workspace_id = w.id').whereRaw('NOT (r.status = ANY(?))', [[...finalStatuses]]))
    .select<Array<{ id: string; schedule: string | null; last_at: Date | null }>>(
      'w.id',
      'o.assessments_schedule as schedule',
      db.raw('(SELECT max(ar.created_at) FROM assessment_results ar WHERE ar.workspace_id = w.id) AS last_at'),
    )
    // Least recently assessed first (never assessed before all): with one schedule, the due ones come
    // first, so a limit never hides a due workspace behind many that are not.
    .orderByRaw('last_at ASC NULLS FIRST, w.id')
    .limit(limit);
  return rows.map((r) => ({ workspaceId: r.id, schedule: r.schedule, lastAt: r.last_at }));
}

/** An unfinished run of the workspace (any kind, assessments included), if there is one. */
export async function unfinishedRun(db: Db, workspaceId: string, finalStatuses: readonly string[]): Promise<string | null> {
  const row = await db('runs').where({ workspace_id: workspaceId }).whereRaw('NOT (status = ANY(?))', [[...finalStatuses]]).first<{ id: string } | undefined>('id');
  return row?.id ?? null;
}

/**
 * What changed the workspace since an assessment began, if anything: a run of its own that could
 * apply (not speculative: not a plan-only run, a pull request's or a CLI plan, nor an assessment)
 * created since, or a state version saved since. Null when nothing did.
 */
export async function changeSince(db: Db, workspaceId: string, since: Date): Promise<string | null> {
  const run = await db('runs')
    .where({ workspace_id: workspaceId, speculative: false })
    .where('created_at', '>=', since)
    .orderBy('created_at')
    .first<{ id: string } | undefined>('id');
  if (run) return `run ${run.id}`;
  const state = await db('state_versions').where({ workspace_id: workspaceId }).where('created_at', '>=', since).orderBy('created_at').first<{ id: string } | undefined>('id');
  return state ? `state version ${state.id}` : null;
}

/**
 * Takes or renews the scheduler's lease for `owner`: true when this otfd holds it now. Row locks
 * make two otfds that race for an expired lease see one winner.
 */
export async function holdLease(db: Db, owner: string, seconds: number): Promise<boolean> {
  const n = await db('assessment_scheduler')
    .where({ id: 1 })
    .where((w) => w.where({ owner }).orWhereNull('owner').orWhere('expires_at', '<', db.fn.now()))
    .update({ owner, expires_at: db.raw('now() + make_interval(secs => ?)', [seconds]) });
  return n === 1;
}

export async function releaseLease(db: Db, owner: string): Promise<void> {
  await db('assessment_scheduler').where({ id: 1, owner }).update({ owner: null, expires_at: null });
}

/** Workspaces whose latest finished assessment says drifted (the gauge of /metrics). */
export async function driftedWorkspaceCount(db: Db): Promise<number> {
  const result = await db.raw<{ rows: Array<{ n: number }> }>(
    `SELECT count(*)::int AS n FROM (
       SELECT DISTINCT ON (workspace_id) workspace_id, status FROM assessment_results
        WHERE status <> 'running' ORDER BY workspace_id, created_at DESC, id
     ) latest WHERE latest.status = 'drifted'`,
  );
  return result.rows[0]?.n ?? 0;
}
