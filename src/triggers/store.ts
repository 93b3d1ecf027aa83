// Tables of the run triggers domain: the triggers themselves, and the deliveries (runs an apply in
// a source workspace still owes its targets).
import type { Knex } from 'knex';
import { paged, type Db } from '../db/index.js';
import { newId } from '../ids.js';

export interface RunTrigger {
  id: string;
  /** The target: the workspace whose runs the trigger queues. */
  workspaceId: string;
  workspaceName: string;
  /** The source: the workspace whose applies queue them. */
  sourceableId: string;
  sourceableName: string;
  createdAt: Date;
}

interface RunTriggerRow {
  id: string;
  workspace_id: string;
  workspace_name: string;
  sourceable_id: string;
  sourceable_name: string;
  created_at: Date;
}

function toRunTrigger(r: RunTriggerRow): RunTrigger {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    workspaceName: r.workspace_name,
    sourceableId: r.sourceable_id,
    sourceableName: r.sourceable_name,
    createdAt: r.created_at,
  };
}

/** Triggers with the names of both their workspaces (names change; they are read, never copied). */
function withNames(db: Db): Knex.QueryBuilder {
  return db('run_triggers as rt')
    .join('workspaces as target', 'target.id', 'rt.workspace_id')
    .join('workspaces as source', 'source.id', 'rt.sourceable_id')
    .select('rt.id', 'rt.workspace_id', 'target.name as workspace_name', 'rt.sourceable_id', 'source.name as sourceable_name', 'rt.created_at');
}

export async function findById(db: Db, id: string): Promise<RunTrigger | null> {
  const row = (await withNames(db).where('rt.id', id).first()) as RunTriggerRow | undefined;
  return row ? toRunTrigger(row) : null;
}

/** Inbound: the triggers of a target workspace; outbound: those whose source it is. Oldest first. */
export async function list(
  db: Db,
  workspaceId: string,
  direction: 'inbound' | 'outbound',
  limit: number,
  offset: number,
): Promise<{ items: RunTrigger[]; total: number }> {
  const q = withNames(db)
    .where(direction === 'inbound' ? 'rt.workspace_id' : 'rt.sourceable_id', workspaceId)
    .orderBy('rt.created_at')
    .orderBy('rt.id');
  const { rows, total } = await paged<RunTriggerRow>(db, q, limit, offset);
  return { items: rows.map(toRunTrigger), total };
}

/**
 * Serializes trigger creation for one target, for the rest of the transaction: two requests at
 * once cannot both take the 20th place.
 */
export async function lockTarget(trx: Knex.Transaction, workspaceId: string): Promise<void> {
  await trx.raw("SELECT pg_advisory_xact_lock(hashtext('run_triggers:' || ?))", [workspaceId]);
}

export async function sources(trx: Knex.Transaction, workspaceId: string): Promise<string[]> {
  return (await trx('run_triggers').where({ workspace_id: workspaceId }).select('sourceable_id')).map((r: { sourceable_id: string }) => r.sourceable_id);
}

export async function insert(trx: Knex.Transaction, t: { id: string; workspaceId: string; sourceableId: string }): Promise<void> {
  await trx('run_triggers').insert({ id: t.id, workspace_id: t.workspaceId, sourceable_id: t.sourceableId });
}

export async function remove(db: Db, id: string): Promise<void> {
  await db('run_triggers').where({ id }).delete();
}

// ---------------------------------------------------------------- deliveries

export interface Delivery {
  id: string;
  sourceRunId: string;
  /** The target workspace. */
  workspaceId: string;
  /** The id the new run gets: a delivery tried again finds the run it already made. */
  runId: string;
}

interface DeliveryRow {
  id: string;
  source_run_id: string;
  workspace_id: string;
  run_id: string;
}

function toDelivery(r: DeliveryRow): Delivery {
  return { id: r.id, sourceRunId: r.source_run_id, workspaceId: r.workspace_id, runId: r.run_id };
}

/**
 * In the transaction of a source run's apply: one delivery per target of the run's workspace.
 * Recording twice for the same run adds nothing. Returns the ids of the deliveries recorded.
 */
export async function recordDeliveries(trx: Knex.Transaction, sourceRunId: string, sourceWorkspaceId: string, newRunId: () => string): Promise<string[]> {
  const targets: string[] = (await trx('run_triggers').where({ sourceable_id: sourceWorkspaceId }).select('workspace_id')).map(
    (r: { workspace_id: string }) => r.workspace_id,
  );
  if (targets.length === 0) return [];
  const rows = targets.map((workspaceId) => ({ id: newId('rtd'), source_run_id: sourceRunId, workspace_id: workspaceId, run_id: newRunId() }));
  const inserted: Array<{ id: string }> = await trx('run_trigger_deliveries').insert(rows).onConflict(['source_run_id', 'workspace_id']).ignore().returning('id');
  return inserted.map((r) => r.id);
}

/** Whether the source workspace still triggers runs in the target (a delivery owed before the trigger was deleted is not made). */
export async function triggerExists(db: Db, workspaceId: string, sourceableId: string): Promise<boolean> {
  return (await db('run_triggers').where({ workspace_id: workspaceId, sourceable_id: sourceableId }).first('id')) !== undefined;
}

/** The ids of every delivery not yet made, oldest first. */
export async function pendingDeliveries(db: Db, limit: number): Promise<string[]> {
  return (await db('run_trigger_deliveries').orderBy('created_at').orderBy('id').limit(limit).select('id')).map((r: { id: string }) => r.id);
}

/** The delivery, locked for this transaction; null when it is gone or another otfd holds it. */
export async function claimDelivery(trx: Knex.Transaction, id: string): Promise<Delivery | null> {
  const row = (await trx('run_trigger_deliveries').where({ id }).forUpdate().skipLocked().first()) as DeliveryRow | undefined;
  return row ? toDelivery(row) : null;
}

export async function removeDelivery(trx: Knex.Transaction, id: string): Promise<void> {
  await trx('run_trigger_deliveries').where({ id }).delete();
}
