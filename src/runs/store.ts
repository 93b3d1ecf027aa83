// Tables of the runs domain: configuration versions, runs with their plan and apply, and logs
// (comments and run events: comments.ts, events.ts).
import type { Knex } from 'knex';
import type { Principal } from '../auth/subject.js';
import type { IngressAttributes } from '../vcs/types.js';
import { escapeLike, paged, type Db } from '../db/index.js';
import { WAITING_STATUSES, type PhaseStatus, type RunStatus } from './machine.js';

export type Timestamps = Record<string, string>;

// ---------------------------------------------------------------- configuration versions

/** TFC's ingress-attributes as kept with a configuration version: with their id, and whether the commit is on the default branch. */
export type StoredIngress = IngressAttributes & { id: string; onDefaultBranch: boolean };

/**
 * archived: its tarball dropped on request (actions/archive); no run may use it any more.
 * fetching: made from a commit that is being fetched from its repository (TFC's status for it).
 */
export type ConfigurationVersionStatus = 'pending' | 'fetching' | 'uploaded' | 'errored' | 'archived';

export interface ConfigurationVersion {
  id: string;
  workspaceId: string;
  status: ConfigurationVersionStatus;
  errorMessage: string | null;
  speculative: boolean;
  provisional: boolean;
  autoQueueRuns: boolean;
  source: string;
  size: number | null;
  statusTimestamps: Timestamps;
  createdAt: Date;
  /** Who created it; a run it queues by itself acts with their rights. */
  createdBy: Principal | null;
  /** Where it came from when it was made from a commit (TFC's ingress-attributes); null for uploads. */
  ingress: StoredIngress | null;
}

interface ConfigurationVersionRow {
  id: string;
  workspace_id: string;
  status: ConfigurationVersionStatus;
  error_message: string | null;
  speculative: boolean;
  provisional: boolean;
  auto_queue_runs: boolean;
  source: string;
  size: number | null;
  status_timestamps: Timestamps;
  created_at: Date;
  created_by_type: Principal['type'] | null;
  created_by_id: string | null;
  created_by_name: string | null;
  ingress_attributes: StoredIngress | null;
}

function toConfigurationVersion(r: ConfigurationVersionRow): ConfigurationVersion {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    status: r.status,
    errorMessage: r.error_message,
    speculative: r.speculative,
    provisional: r.provisional,
    autoQueueRuns: r.auto_queue_runs,
    source: r.source,
    size: r.size,
    statusTimestamps: r.status_timestamps,
    createdAt: r.created_at,
    createdBy: r.created_by_type && r.created_by_id ? { type: r.created_by_type, id: r.created_by_id, name: r.created_by_name ?? r.created_by_id } : null,
    ingress: r.ingress_attributes ?? null,
  };
}

/** A configuration version made from a commit: fetching until the commit is stored. */
export interface CommitOrigin {
  /** TFC's source of it: github, gitlab, forgejo. */
  source: string;
  ingress: StoredIngress;
  /** What made it (a delivery and a workspace); a second version with the same key is refused. */
  key: string | null;
}

export async function insertConfigurationVersion(
  db: Db,
  cv: Pick<ConfigurationVersion, 'id' | 'workspaceId' | 'speculative' | 'provisional' | 'autoQueueRuns'> & { createdBy: Principal; origin?: CommitOrigin },
): Promise<ConfigurationVersion> {
  const origin = cv.origin;
  const [row] = await db('configuration_versions')
    .insert({
      id: cv.id,
      workspace_id: cv.workspaceId,
      status: origin ? 'fetching' : 'pending',
      ...(origin
        ? {
            source: origin.source,
            ingress_attributes: JSON.stringify(origin.ingress),
            ingress_key: origin.key,
            status_timestamps: JSON.stringify({ 'fetching-at': new Date().toISOString() }),
          }
        : {}),
      speculative: cv.speculative,
      provisional: cv.provisional,
      auto_queue_runs: cv.autoQueueRuns,
      created_by_type: cv.createdBy.type,
      created_by_id: cv.createdBy.id,
      created_by_name: cv.createdBy.name,
    })
    .returning('*');
  return toConfigurationVersion(row as ConfigurationVersionRow);
}

export async function findConfigurationVersion(db: Db, id: string): Promise<ConfigurationVersion | null> {
  const row = await db<ConfigurationVersionRow>('configuration_versions').where({ id }).first();
  return row ? toConfigurationVersion(row) : null;
}

/** The configuration versions of these ids that exist, in one statement. */
export async function findConfigurationVersions(db: Db, ids: string[]): Promise<ConfigurationVersion[]> {
  if (ids.length === 0) return [];
  const rows = await db<ConfigurationVersionRow>('configuration_versions').whereRaw('id = ANY(?)', [ids]);
  return rows.map(toConfigurationVersion);
}

export async function listConfigurationVersions(
  db: Db,
  workspaceId: string,
  limit: number,
  offset: number,
): Promise<{ items: ConfigurationVersion[]; total: number }> {
  const q = db('configuration_versions').select('*').where({ workspace_id: workspaceId }).orderBy('created_at', 'desc').orderBy('id');
  const { rows, total } = await paged<ConfigurationVersionRow>(db, q, limit, offset);
  return { items: rows.map(toConfigurationVersion), total };
}

/** The newest uploaded, non-provisional configuration version of the workspace. */
export async function latestUploadedConfigurationVersion(db: Db, workspaceId: string): Promise<ConfigurationVersion | null> {
  const row = await db<ConfigurationVersionRow>('configuration_versions')
    .where({ workspace_id: workspaceId, status: 'uploaded', provisional: false })
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .first();
  return row ? toConfigurationVersion(row) : null;
}

/** The configuration version made with this ingress key (a delivery for a workspace), if any. */
export async function findConfigurationVersionByIngressKey(db: Db, key: string): Promise<ConfigurationVersion | null> {
  const row = (await db('configuration_versions').where({ ingress_key: key }).first()) as ConfigurationVersionRow | undefined;
  return row ? toConfigurationVersion(row) : null;
}

/** The run made of a configuration version (a version from a commit has exactly one). */
export async function runOfConfigurationVersion(db: Db, cvId: string): Promise<string | null> {
  const row = await db('runs').where({ configuration_version_id: cvId }).orderBy('created_at').first<{ id: string } | undefined>('id');
  return row?.id ?? null;
}

/** Runs still pending whose configuration version has been fetching since before `before` (its fetch was lost). */
export async function runsFetchingSince(db: Db, before: Date): Promise<string[]> {
  const rows = await db('runs as r')
    .join('configuration_versions as cv', 'cv.id', 'r.configuration_version_id')
    .where('r.status', 'pending')
    .where('cv.status', 'fetching')
    .where('cv.created_at', '<', before)
    .select<{ id: string }[]>('r.id');
  return rows.map((r) => r.id);
}

/**
 * Moves a pending (uploading) or fetching (from a commit) configuration version to uploaded or
 * errored; null when it was not in `from`.
 */
export async function settleConfigurationVersion(
  db: Db,
  id: string,
  outcome: { status: 'uploaded'; size: number } | { status: 'errored'; error: string },
  from: 'pending' | 'fetching' = 'pending',
): Promise<ConfigurationVersion | null> {
  const at = new Date().toISOString();
  const [row] = await db('configuration_versions')
    .where({ id, status: from })
    .update({
      status: outcome.status,
      size: outcome.status === 'uploaded' ? outcome.size : null,
      error_message: outcome.status === 'errored' ? outcome.error : null,
      status_timestamps: db.raw('status_timestamps || ?::jsonb', [JSON.stringify({ [`${outcome.status}-at`]: at })]),
    })
    .returning('*');
  return row ? toConfigurationVersion(row as ConfigurationVersionRow) : null;
}

/**
 * Locks the configuration version's row for the rest of the transaction and says its status (null:
 * no such version): "update" to archive it, "share" to start a run from it; either waits for the other.
 */
export async function lockConfigurationVersion(trx: Knex.Transaction, id: string, mode: 'update' | 'share'): Promise<ConfigurationVersionStatus | null> {
  const q = trx('configuration_versions').where({ id }).select<{ status: ConfigurationVersionStatus }[]>('status');
  const [row] = await (mode === 'update' ? q.forUpdate() : q.forShare());
  return row ? row.status : null;
}

/** Moves an uploaded configuration version to archived; null when it was not uploaded. */
export async function archiveConfigurationVersion(db: Db, id: string): Promise<ConfigurationVersion | null> {
  const [row] = await db('configuration_versions')
    .where({ id, status: 'uploaded' })
    .update({ status: 'archived', status_timestamps: db.raw('status_timestamps || ?::jsonb', [JSON.stringify({ 'archived-at': new Date().toISOString() })]) })
    .returning('*');
  return row ? toConfigurationVersion(row as ConfigurationVersionRow) : null;
}

/** How many runs of the configuration version have not ended yet. */
export async function unfinishedRunsOf(db: Db, configurationVersionId: string, finalStatuses: readonly RunStatus[]): Promise<number> {
  const row = await db('runs')
    .where({ configuration_version_id: configurationVersionId })
    .whereNotIn('status', finalStatuses)
    .first<{ n: string | number }>(db.raw('count(*) AS n'));
  return Number(row?.n ?? 0);
}

// ---------------------------------------------------------------- runs

export interface Phase {
  id: string;
  status: PhaseStatus;
  statusTimestamps: Timestamps;
  additions: number;
  changes: number;
  destructions: number;
  imports: number;
}

export interface Run {
  id: string;
  workspaceId: string;
  organizationId: string;
  configurationVersionId: string;
  status: RunStatus;
  statusTimestamps: Timestamps;
  message: string;
  source: string;
  isDestroy: boolean;
  refresh: boolean;
  refreshOnly: boolean;
  planOnly: boolean;
  /** Never queues and never locks the workspace: plan-only runs and runs of speculative configurations. */
  speculative: boolean;
  /**
   * A health assessment (src/assessments): a speculative refresh-only plan that otfd made by itself.
   * Not listed among the workspace's runs and never its latest or current run.
   */
  assessment: boolean;
  savePlan: boolean;
  autoApply: boolean;
  allowEmptyApply: boolean;
  targetAddrs: string[];
  replaceAddrs: string[];
  variables: Array<{ key: string; value: string }>;
  hasChanges: boolean;
  engine: string;
  engineVersion: string;
  errorMessage: string | null;
  createdBy: Principal | null;
  cancelRequestedAt: Date | null;
  /** When a state of this run's apply reached otfd by the late path (after the job was over); null when none did. */
  stateSavedLateAt: Date | null;
  /** Why an owner force-ended the run (docs/timeouts-and-hooks.md); null when nobody did. */
  forceEndReason: string | null;
  createdAt: Date;
  updatedAt: Date;
  plan: Phase;
  apply: Phase;
  /** The names of its organization and workspace as they are now (for links to the run's page). */
  organizationName: string;
  workspaceName: string;
}

export type NewRun = Omit<Run, 'organizationName' | 'workspaceName' | 'status' | 'statusTimestamps' | 'hasChanges' | 'errorMessage' | 'cancelRequestedAt' | 'stateSavedLateAt' | 'forceEndReason' | 'createdAt' | 'updatedAt' | 'plan' | 'apply'> & {
  planId: string;
  applyId: string;
};

interface RunRow {
  id: string;
  workspace_id: string;
  organization_id: string;
  configuration_version_id: string;
  status: RunStatus;
  status_timestamps: Timestamps;
  message: string;
  source: string;
  is_destroy: boolean;
  refresh: boolean;
  refresh_only: boolean;
  plan_only: boolean;
  speculative: boolean;
  assessment: boolean;
  save_plan: boolean;
  auto_apply: boolean;
  allow_empty_apply: boolean;
  target_addrs: string[];
  replace_addrs: string[];
  variables: Array<{ key: string; value: string }>;
  has_changes: boolean;
  engine: string;
  engine_version: string;
  error_message: string | null;
  created_by_type: Principal['type'] | null;
  created_by_id: string | null;
  created_by_name: string | null;
  cancel_requested_at: Date | null;
  state_saved_late_at: Date | null;
  force_end_reason: string | null;
  created_at: Date;
  updated_at: Date;
  plan: PhaseRow;
  apply: PhaseRow;
  organization_name: string;
  workspace_name: string;
}

interface PhaseRow {
  id: string;
  status: PhaseStatus;
  status_timestamps: Timestamps;
  resource_additions: number;
  resource_changes: number;
  resource_destructions: number;
  resource_imports: number;
}

function toPhase(r: PhaseRow): Phase {
  return {
    id: r.id,
    status: r.status,
    statusTimestamps: r.status_timestamps,
    additions: r.resource_additions,
    changes: r.resource_changes,
    destructions: r.resource_destructions,
    imports: r.resource_imports,
  };
}

function toRun(r: RunRow): Run {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    organizationId: r.organization_id,
    configurationVersionId: r.configuration_version_id,
    status: r.status,
    statusTimestamps: r.status_timestamps,
    message: r.message,
    source: r.source,
    isDestroy: r.is_destroy,
    refresh: r.refresh,
    refreshOnly: r.refresh_only,
    planOnly: r.plan_only,
    speculative: r.speculative,
    assessment: r.assessment,
    savePlan: r.save_plan,
    autoApply: r.auto_apply,
    allowEmptyApply: r.allow_empty_apply,
    targetAddrs: r.target_addrs,
    replaceAddrs: r.replace_addrs,
    variables: r.variables,
    hasChanges: r.has_changes,
    engine: r.engine,
    engineVersion: r.engine_version,
    errorMessage: r.error_message,
    createdBy: r.created_by_type && r.created_by_id ? { type: r.created_by_type, id: r.created_by_id, name: r.created_by_name ?? r.created_by_id } : null,
    cancelRequestedAt: r.cancel_requested_at,
    stateSavedLateAt: r.state_saved_late_at,
    forceEndReason: r.force_end_reason ?? null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    plan: toPhase(r.plan),
    apply: toPhase(r.apply),
    organizationName: r.organization_name,
    workspaceName: r.workspace_name,
  };
}

const PHASE_JSON = (alias: string) =>
  `json_build_object('id', ${alias}.id, 'status', ${alias}.status, 'status_timestamps', ${alias}.status_timestamps,
     'resource_additions', ${alias}.resource_additions, 'resource_changes', ${alias}.resource_changes,
     'resource_destructions', ${alias}.resource_destructions, 'resource_imports', ${alias}.resource_imports)`;

/** Runs with their plan and apply, in one statement. */
function selectRuns(db: Db): Knex.QueryBuilder {
  return db('runs as r')
    .join('plans as p', 'p.run_id', 'r.id')
    .join('applies as a', 'a.run_id', 'r.id')
    .join('workspaces as rw', 'rw.id', 'r.workspace_id')
    .join('organizations as ro', 'ro.id', 'r.organization_id')
    .select('r.*', db.raw(`${PHASE_JSON('p')} AS plan`), db.raw(`${PHASE_JSON('a')} AS apply`), 'rw.name as workspace_name', 'ro.name as organization_name');
}

export async function insertRun(db: Db, run: NewRun): Promise<void> {
  await db('runs').insert({
    id: run.id,
    workspace_id: run.workspaceId,
    organization_id: run.organizationId,
    configuration_version_id: run.configurationVersionId,
    status: 'pending',
    status_timestamps: JSON.stringify({ 'plan-queueable-at': new Date().toISOString() }),
    message: run.message,
    source: run.source,
    is_destroy: run.isDestroy,
    refresh: run.refresh,
    refresh_only: run.refreshOnly,
    plan_only: run.planOnly,
    speculative: run.speculative,
    assessment: run.assessment,
    save_plan: run.savePlan,
    auto_apply: run.autoApply,
    allow_empty_apply: run.allowEmptyApply,
    target_addrs: run.targetAddrs,
    replace_addrs: run.replaceAddrs,
    variables: JSON.stringify(run.variables),
    engine: run.engine,
    engine_version: run.engineVersion,
    created_by_type: run.createdBy?.type ?? null,
    created_by_id: run.createdBy?.id ?? null,
    created_by_name: run.createdBy?.name ?? null,
  });
  await db('plans').insert({ id: run.planId, run_id: run.id, status: 'pending' });
  await db('applies').insert({ id: run.applyId, run_id: run.id, status: 'pending' });
}

export async function findRun(db: Db, id: string): Promise<Run | null> {
  const row = (await selectRuns(db).where('r.id', id).first()) as RunRow | undefined;
  return row ? toRun(row) : null;
}

/** The runs of these ids that exist, in one statement. */
export async function findRuns(db: Db, ids: string[]): Promise<Run[]> {
  if (ids.length === 0) return [];
  return ((await selectRuns(db).whereRaw('r.id = ANY(?)', [ids])) as RunRow[]).map(toRun);
}

/**
 * Locks the workspace's row until the transaction ends and says why a health assessment cannot be
 * made now (null: it can): the workspace is locked, or has an unfinished run of any kind. Taking the
 * workspace's lock for a run updates this row, so it waits for the transaction, as does another
 * assessment's check: neither slips in between this check and the assessment's insert.
 */
export async function assessmentObstacle(trx: Knex.Transaction, workspaceId: string, finalStatuses: readonly string[]): Promise<string | null> {
  const ws = await trx('workspaces').where({ id: workspaceId }).forUpdate().first<{ name: string; locked: boolean; lock_holder_name: string | null } | undefined>('name', 'locked', 'lock_holder_name');
  if (!ws) return `workspace "${workspaceId}" is gone`;
  if (ws.locked) return `workspace "${ws.name}" is locked by ${ws.lock_holder_name ?? 'somebody'}`;
  const active = await trx('runs').where({ workspace_id: workspaceId }).whereRaw('NOT (status = ANY(?))', [[...finalStatuses]]).first<{ id: string } | undefined>('id');
  return active ? `workspace "${ws.name}" has a run in progress (${active.id})` : null;
}

/** The run, its row locked until the transaction ends: status changes are serialised per run. */
export async function lockRun(trx: Knex.Transaction, id: string): Promise<Run | null> {
  await trx('runs').where({ id }).forUpdate().first('id');
  return findRun(trx, id);
}

export async function findRunByPhase(db: Db, phaseId: string): Promise<Run | null> {
  const row = (await selectRuns(db).where('p.id', phaseId).orWhere('a.id', phaseId).first()) as RunRow | undefined;
  return row ? toRun(row) : null;
}

/** The id of the run's plan or apply. */
export async function findPhaseId(db: Db, runId: string, phase: 'plan' | 'apply'): Promise<string | null> {
  const row = await db(phase === 'plan' ? 'plans' : 'applies').where({ run_id: runId }).first<{ id: string } | undefined>('id');
  return row?.id ?? null;
}

export interface RunFilter {
  workspaceIds?: string[];
  organizationId?: string;
  statuses?: RunStatus[];
  /** plan_only, plan_and_apply, destroy, refresh_only, ... as TFC's filter[operation] */
  operations?: string[];
  /** Matches run ids, messages and the creator's name. */
  search?: string;
  limit: number;
  offset: number;
  order: 'newest' | 'oldest';
  /** Health assessments are listed only when asked for (the assessments domain). */
  assessments?: 'only' | 'exclude';
}

export async function listRuns(db: Db, f: RunFilter): Promise<{ items: Run[]; total: number }> {
  const q = selectRuns(db);
  q.where('r.assessment', f.assessments === 'only');
  if (f.workspaceIds) q.whereRaw('r.workspace_id = ANY(?)', [f.workspaceIds]);
  if (f.organizationId) q.where('r.organization_id', f.organizationId);
  if (f.statuses) q.whereRaw('r.status = ANY(?)', [f.statuses]);
  if (f.operations) {
    q.where((w) => {
      for (const op of f.operations!) {
        if (op === 'plan_only') w.orWhere('r.speculative', true);
        if (op === 'destroy') w.orWhere((x) => x.where('r.is_destroy', true).andWhere('r.speculative', false));
        if (op === 'refresh_only') w.orWhere((x) => x.where('r.refresh_only', true).andWhere('r.speculative', false));
        if (op === 'save_plan') w.orWhere((x) => x.where('r.save_plan', true).andWhere('r.speculative', false));
        if (op === 'plan_and_apply') {
          w.orWhere((x) => x.where({ 'r.speculative': false, 'r.is_destroy': false, 'r.refresh_only': false, 'r.save_plan': false }));
        }
      }
    });
  }
  if (f.search) {
    const s = `%${escapeLike(f.search)}%`;
    q.where((w) => w.whereILike('r.id', s).orWhereILike('r.message', s).orWhereILike('r.created_by_name', s));
  }
  q.orderBy('r.created_at', f.order === 'newest' ? 'desc' : 'asc').orderBy('r.id', f.order === 'newest' ? 'desc' : 'asc');
  // Not prepared (as the workspace list is): r.* would break a prepared statement when a migration adds a column.
  const { rows, total } = await paged<RunRow>(db, q, f.limit, f.offset);
  return { items: rows.map(toRun), total };
}

export interface RunChanges {
  status?: RunStatus;
  hasChanges?: boolean;
  errorMessage?: string | null;
  cancelRequestedAt?: Date;
  forceEndReason?: string;
}

/** Records, once, that a state of the run's apply was saved late. */
export async function markStateSavedLate(db: Db, id: string): Promise<void> {
  await db('runs').where({ id }).whereNull('state_saved_late_at').update({ state_saved_late_at: db.fn.now() });
}

export async function updateRun(db: Db, id: string, changes: RunChanges, timestampKey?: string): Promise<void> {
  const row: Record<string, unknown> = { updated_at: db.fn.now() };
  if (changes.status !== undefined) row.status = changes.status;
  if (changes.hasChanges !== undefined) row.has_changes = changes.hasChanges;
  if (changes.errorMessage !== undefined) row.error_message = changes.errorMessage;
  if (changes.cancelRequestedAt !== undefined) row.cancel_requested_at = changes.cancelRequestedAt;
  if (changes.forceEndReason !== undefined) row.force_end_reason = changes.forceEndReason;
  if (timestampKey) row.status_timestamps = db.raw('status_timestamps || ?::jsonb', [JSON.stringify({ [timestampKey]: new Date().toISOString() })]);
  await db('runs').where({ id }).update(row);
}

export interface PhaseChanges {
  status?: PhaseStatus;
  counts?: { additions: number; changes: number; destructions: number; imports: number };
  hasChanges?: boolean;
}

const PHASE_TIMESTAMP: Record<PhaseStatus, string | null> = {
  pending: null,
  queued: 'queued-at',
  running: 'started-at',
  finished: 'finished-at',
  errored: 'errored-at',
  canceled: 'canceled-at',
  unreachable: 'unreachable-at',
};

export async function updatePhase(db: Db, table: 'plans' | 'applies', runId: string, changes: PhaseChanges): Promise<void> {
  const row: Record<string, unknown> = {};
  if (changes.status) {
    row.status = changes.status;
    const key = PHASE_TIMESTAMP[changes.status];
    if (key) row.status_timestamps = db.raw('status_timestamps || ?::jsonb', [JSON.stringify({ [key]: new Date().toISOString() })]);
  }
  if (changes.counts) {
    row.resource_additions = changes.counts.additions;
    row.resource_changes = changes.counts.changes;
    row.resource_destructions = changes.counts.destructions;
    row.resource_imports = changes.counts.imports;
  }
  if (changes.hasChanges !== undefined) row.has_changes = changes.hasChanges;
  if (Object.keys(row).length > 0) await db(table).where({ run_id: runId }).update(row);
}

/** The oldest run of the workspace waiting for the workspace queue. */
export async function oldestPending(db: Db, workspaceId: string): Promise<string | null> {
  const row = await db('runs').where({ workspace_id: workspaceId, status: 'pending', speculative: false }).orderBy('created_at').orderBy('id').first('id');
  return row ? (row as { id: string }).id : null;
}

/** The workspace's runs waiting in its queue (pending, not speculative) that were created before the run. */
export async function pendingBefore(db: Db, run: Pick<Run, 'id' | 'workspaceId' | 'createdAt'>): Promise<string[]> {
  const rows = await db('runs')
    .where({ workspace_id: run.workspaceId, status: 'pending', speculative: false })
    .andWhere((w) => w.where('created_at', '<', run.createdAt).orWhere((x) => x.where('created_at', run.createdAt).andWhere('id', '<', run.id)))
    .orderBy('created_at')
    .orderBy('id')
    .select<{ id: string }[]>('id');
  return rows.map((r) => r.id);
}

/** Runs of an organization waiting for a runner (pending) and executing (running). */
export async function activeRunCounts(db: Db, organizationId: string): Promise<{ pending: number; running: number }> {
  const rows = await db('runs')
    .where({ organization_id: organizationId })
    .whereIn('status', ['pending', 'plan_queued', 'apply_queued', 'planning', 'applying'])
    .select('status')
    .count<{ status: RunStatus; n: number }[]>({ n: '*' })
    .groupBy('status');
  let pending = 0;
  let running = 0;
  for (const r of rows) {
    if (r.status === 'planning' || r.status === 'applying') running += Number(r.n);
    else pending += Number(r.n);
  }
  return { pending, running };
}

// ---------------------------------------------------------------- logs

/**
 * Appends a chunk at its byte offset. A chunk sent twice, or overlapping what is stored, adds only
 * the bytes beyond the stored end, so a retried upload never duplicates output. A chunk that
 * would leave a gap is refused: the caller learns the stored length and resends from there.
 */
export async function appendLog(db: Db, phaseId: string, offset: number, data: Buffer): Promise<{ length: number; gap: boolean }> {
  return db.transaction(async (trx) => {
    // serialise writers of one log
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [phaseId]);
    const length = await logLength(trx, phaseId);
    if (offset > length) return { length, gap: true };
    const fresh = data.subarray(length - offset);
    if (fresh.length > 0) await trx('run_logs').insert({ phase_id: phaseId, offset: length, data: fresh });
    return { length: length + fresh.length, gap: false };
  });
}

export async function logLength(db: Db, phaseId: string): Promise<number> {
  const row = await db('run_logs')
    .where({ phase_id: phaseId })
    .first<{ end: number | null }>(db.raw('max("offset" + length(data)) AS end'));
  return Number(row?.end ?? 0);
}

/** Bytes [offset, offset + limit) of the log. */
export async function readLog(db: Db, phaseId: string, offset: number, limit: number): Promise<Buffer> {
  const rows = await db('run_logs')
    .where({ phase_id: phaseId })
    .andWhereRaw('"offset" + length(data) > ?', [offset])
    .andWhere('offset', '<', offset + limit)
    .orderBy('offset')
    .select<{ offset: number; data: Buffer }[]>('offset', 'data');
  const parts = rows.map((r) => {
    const start = Math.max(0, offset - Number(r.offset));
    const end = Math.min(r.data.length, offset + limit - Number(r.offset));
    return r.data.subarray(start, end);
  });
  return Buffer.concat(parts);
}

/**
 * The run's position in its organization's queue as the queue lists it: 0 while executing, else 1 +
 * the waiting runs created before it. One statement.
 */
export async function queuePosition(db: Db, run: Pick<Run, 'id' | 'organizationId' | 'createdAt'>): Promise<number> {
  const row = await db('runs')
    .where({ organization_id: run.organizationId })
    .whereIn('status', [...WAITING_STATUSES])
    .andWhere((w) => w.where('created_at', '<', run.createdAt).orWhere((x) => x.where('created_at', run.createdAt).andWhere('id', '<', run.id)))
    .count<{ n: string }[]>({ n: '*' })
    .first();
  return Number(row?.n ?? 0) + 1;
}

/** The runs waiting to start or to be picked up, oldest first, at most `limit` (for /metrics). */
export async function waitingRuns(db: Db, limit: number): Promise<Run[]> {
  return (await listRuns(db, { statuses: [...WAITING_STATUSES], limit, offset: 0, order: 'oldest' })).items;
}
