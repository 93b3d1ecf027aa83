// Tables of the state domain: state versions and their outputs.
import type { Knex } from 'knex';
import type { Principal } from '../auth/subject.js';
import { advisoryXactLock, paged, type Db } from '../db/index.js';
import { inOrderOf, prepared } from '../db/lists.js';
import type { CtyType, ResourceSummary } from './statefile.js';

export type StateVersionStatus = 'pending' | 'finalized' | 'discarded';

export interface StateVersion {
  id: string;
  workspaceId: string;
  serial: number;
  lineage: string | null;
  md5: string;
  status: StateVersionStatus;
  force: boolean;
  runId: string | null;
  createdBy: Principal;
  declaredOutputTypes: Record<string, CtyType> | null;
  stateFormatVersion: number | null;
  terraformVersion: string | null;
  /** Bytes of the state file; null until it is uploaded. */
  size: number | null;
  resources: ResourceSummary[];
  managedInstances: number;
  /** Bytes of the JSON state (terraform show -json); null when none was uploaded. */
  jsonStateSize: number | null;
  outputIds: string[];
  createdAt: Date;
  finalizedAt: Date | null;
}

export interface StateOutputRecord {
  id: string;
  stateVersionId: string;
  name: string;
  sensitive: boolean;
  type: CtyType | null;
  value: unknown;
}

interface StateVersionRow {
  id: string;
  workspace_id: string;
  serial: number;
  lineage: string | null;
  md5: string;
  status: StateVersionStatus;
  force: boolean;
  run_id: string | null;
  created_by_type: Principal['type'];
  created_by_id: string;
  created_by_name: string;
  declared_output_types: Record<string, CtyType> | null;
  state_format_version: number | null;
  terraform_version: string | null;
  size: number | null;
  resources: ResourceSummary[];
  managed_instances: number;
  json_state_size: number | null;
  output_ids: string[];
  created_at: Date;
  finalized_at: Date | null;
}

interface OutputRow {
  id: string;
  state_version_id: string;
  name: string;
  sensitive: boolean;
  type: CtyType | null;
  value: unknown;
}

function toStateVersion(r: StateVersionRow): StateVersion {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    serial: r.serial,
    lineage: r.lineage,
    md5: r.md5,
    status: r.status,
    force: r.force,
    runId: r.run_id,
    createdBy: { type: r.created_by_type, id: r.created_by_id, name: r.created_by_name },
    declaredOutputTypes: r.declared_output_types,
    stateFormatVersion: r.state_format_version,
    terraformVersion: r.terraform_version,
    size: r.size,
    resources: r.resources,
    managedInstances: r.managed_instances,
    jsonStateSize: r.json_state_size,
    outputIds: r.output_ids,
    createdAt: r.created_at,
    finalizedAt: r.finalized_at,
  };
}

function toOutput(r: OutputRow): StateOutputRecord {
  return { id: r.id, stateVersionId: r.state_version_id, name: r.name, sensitive: r.sensitive, type: r.type, value: r.value };
}

const VERSION_COLUMNS = [
  'id',
  'workspace_id',
  'serial',
  'lineage',
  'md5',
  'status',
  'force',
  'run_id',
  'created_by_type',
  'created_by_id',
  'created_by_name',
  'declared_output_types',
  'state_format_version',
  'terraform_version',
  'size',
  'resources',
  'managed_instances',
  'json_state_size',
  'created_at',
  'finalized_at',
].map((c) => `v.${c}`);

/** State versions with the ids of their outputs, in one statement. */
function selectVersions(db: Db): Knex.QueryBuilder {
  return db('state_versions as v').select(
    ...VERSION_COLUMNS,
    db.raw(
      `coalesce((SELECT json_agg(o.id ORDER BY o.name) FROM state_version_outputs o
                 WHERE o.state_version_id = v.id), '[]'::json) AS output_ids`,
    ),
  );
}

export async function findById(db: Db, id: string): Promise<StateVersion | null> {
  const row = (await selectVersions(db).where('v.id', id).first()) as StateVersionRow | undefined;
  return row ? toStateVersion(row) : null;
}

/** The state versions with these ids, in one query, in the order given (ids of no version are left out). */
export async function findByIds(db: Db, ids: string[]): Promise<StateVersion[]> {
  if (ids.length === 0) return [];
  const rows = (await selectVersions(db).whereIn('v.id', ids)) as StateVersionRow[];
  return inOrderOf(ids, rows.map(toStateVersion));
}

/** The workspace's current state version: the one finalized last. */
export async function current(db: Db, workspaceId: string): Promise<StateVersion | null> {
  const row = (await selectVersions(db)
    .where({ 'v.workspace_id': workspaceId, 'v.status': 'finalized' })
    .orderBy('v.finalized_seq', 'desc')
    .first()) as StateVersionRow | undefined;
  return row ? toStateVersion(row) : null;
}

/** A workspace's state versions, newest first. */
export async function list(db: Db, workspaceId: string, limit: number, offset: number): Promise<{ items: StateVersion[]; total: number }> {
  const q = selectVersions(db).where('v.workspace_id', workspaceId).orderBy('v.created_at', 'desc').orderBy('v.id', 'desc');
  const { rows, total } = await paged<StateVersionRow>(db, prepared(q, 'state_versions.list', offset), limit, offset);
  return { items: rows.map(toStateVersion), total };
}

export interface NewStateVersion {
  id: string;
  workspaceId: string;
  serial: number;
  lineage: string | null;
  md5: string;
  force: boolean;
  runId: string | null;
  createdBy: Principal;
  declaredOutputTypes: Record<string, CtyType> | null;
}

export async function insert(db: Db, v: NewStateVersion): Promise<void> {
  await db('state_versions').insert({
    id: v.id,
    workspace_id: v.workspaceId,
    serial: v.serial,
    lineage: v.lineage,
    md5: v.md5,
    status: 'pending',
    force: v.force,
    run_id: v.runId,
    created_by_type: v.createdBy.type,
    created_by_id: v.createdBy.id,
    created_by_name: v.createdBy.name,
    declared_output_types: v.declaredOutputTypes === null ? null : JSON.stringify(v.declaredOutputTypes),
  });
}

/**
 * Serialises the changes to a workspace's current state version until the transaction ends, so two
 * uploads cannot both pass the serial rules against the same current version.
 */
export async function lockWorkspace(trx: Knex.Transaction, workspaceId: string): Promise<void> {
  await advisoryXactLock(trx, `state-versions:${workspaceId}`);
}

/** The version's status, with its row locked until the transaction ends; null when there is none. */
export async function lockVersion(trx: Knex.Transaction, id: string): Promise<StateVersionStatus | null> {
  const row = await trx('state_versions').where({ id }).forUpdate().first<{ status: StateVersionStatus } | undefined>('status');
  return row ? row.status : null;
}

export interface Finalization {
  lineage: string;
  stateFormatVersion: number;
  terraformVersion: string | null;
  size: number;
  resources: ResourceSummary[];
  managedInstances: number;
}

/** Makes a pending version current and discards the workspace's other pending versions. */
export async function finalize(trx: Knex.Transaction, id: string, workspaceId: string, f: Finalization): Promise<void> {
  await markFinalized(trx, id, f, "nextval('state_versions_finalized_seq')");
  await trx('state_versions').where({ workspace_id: workspaceId, status: 'pending' }).whereNot({ id }).update({ status: 'discarded' });
}

/**
 * Keeps a version in the history, finalized (its file and outputs readable) but never current: its
 * finalized_seq is the negated next number, below that of every version that ever became current,
 * so "the finalized version with the highest number" stays the one it was. Pending versions of
 * others are left alone: nothing new became current.
 */
export async function finalizeIntoHistory(trx: Knex.Transaction, id: string, f: Finalization): Promise<void> {
  await markFinalized(trx, id, f, "-nextval('state_versions_finalized_seq')");
}

async function markFinalized(trx: Knex.Transaction, id: string, f: Finalization, seq: string): Promise<void> {
  await trx('state_versions')
    .where({ id })
    .update({
      status: 'finalized',
      // The file's lineage, which the terraform CLI pushes next (see StateService.create).
      lineage: f.lineage,
      state_format_version: f.stateFormatVersion,
      terraform_version: f.terraformVersion,
      size: f.size,
      resources: JSON.stringify(f.resources),
      managed_instances: f.managedInstances,
      finalized_seq: trx.raw(seq),
      finalized_at: trx.fn.now(),
    });
}

/** A finalized version of the workspace made by the run with this content, if any (a delivery made twice). */
export async function findByRunAndMd5(db: Db, workspaceId: string, runId: string, md5: string): Promise<StateVersion | null> {
  const row = (await selectVersions(db)
    .where({ 'v.workspace_id': workspaceId, 'v.run_id': runId, 'v.md5': md5, 'v.status': 'finalized' })
    .orderBy('v.created_at')
    .first()) as StateVersionRow | undefined;
  return row ? toStateVersion(row) : null;
}

/** The ids of the finalized versions the run wrote, oldest first (by the workspace: its versions are indexed). */
export async function finalizedIdsOfRun(db: Db, workspaceId: string, runId: string): Promise<string[]> {
  const rows = await db('state_versions').where({ workspace_id: workspaceId, run_id: runId, status: 'finalized' }).orderBy('finalized_seq').select<{ id: string }[]>('id');
  return rows.map((r) => r.id);
}

export async function setJsonStateSize(db: Db, id: string, size: number): Promise<void> {
  await db('state_versions').where({ id }).update({ json_state_size: size });
}

export async function insertOutputs(db: Db, outputs: StateOutputRecord[]): Promise<void> {
  if (outputs.length === 0) return;
  await db('state_version_outputs').insert(
    outputs.map((o) => ({
      id: o.id,
      state_version_id: o.stateVersionId,
      name: o.name,
      sensitive: o.sensitive,
      type: o.type === null ? null : JSON.stringify(o.type),
      value: JSON.stringify(o.value ?? null),
    })),
  );
}

export async function outputsOf(db: Db, stateVersionId: string): Promise<StateOutputRecord[]> {
  const rows = await db('state_version_outputs').where({ state_version_id: stateVersionId }).orderBy('name').select<OutputRow[]>('*');
  return rows.map(toOutput);
}

/** The outputs of these state versions, in one statement. */
export async function outputsOfVersions(db: Db, stateVersionIds: string[]): Promise<StateOutputRecord[]> {
  if (stateVersionIds.length === 0) return [];
  const rows = await db('state_version_outputs').whereIn('state_version_id', stateVersionIds).orderBy(['state_version_id', 'name']).select<OutputRow[]>('*');
  return rows.map(toOutput);
}

/** An output with the workspace of its state version. */
export async function findOutput(db: Db, id: string): Promise<{ output: StateOutputRecord; workspaceId: string } | null> {
  const row = await db('state_version_outputs as o')
    .join('state_versions as v', 'v.id', 'o.state_version_id')
    .where('o.id', id)
    .first<(OutputRow & { workspace_id: string }) | undefined>('o.*', 'v.workspace_id');
  return row ? { output: toOutput(row), workspaceId: row.workspace_id } : null;
}

/** Whether the workspace's current state holds instances of managed resources. */
export async function currentHasResources(db: Db, workspaceId: string): Promise<boolean> {
  const row = await db('state_versions')
    .where({ workspace_id: workspaceId, status: 'finalized' })
    .orderBy('finalized_seq', 'desc')
    .first<{ managed_instances: number } | undefined>('managed_instances');
  return row !== undefined && row.managed_instances > 0;
}

export async function currentId(db: Db, workspaceId: string): Promise<string | null> {
  const row = await db('state_versions')
    .where({ workspace_id: workspaceId, status: 'finalized' })
    .orderBy('finalized_seq', 'desc')
    .first<{ id: string } | undefined>('id');
  return row ? row.id : null;
}

/** Whether the holder created a state version of the workspace since `since` that is still pending. */
export async function pendingBy(db: Db, workspaceId: string, holder: Principal, since: Date): Promise<boolean> {
  const row = await db('state_versions')
    .where({ workspace_id: workspaceId, status: 'pending', created_by_type: holder.type, created_by_id: holder.id })
    .andWhere('created_at', '>=', since)
    .first('id');
  return row !== undefined;
}

/** The highest serial of the workspace's finalized versions, or null when it has none. */
export async function maxSerial(db: Db, workspaceId: string): Promise<number | null> {
  const row = await db('state_versions').where({ workspace_id: workspaceId, status: 'finalized' }).max<{ max: number | null }>({ max: 'serial' }).first();
  return row?.max ?? null;
}
