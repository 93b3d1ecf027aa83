// Tables of the variable-sets domain: variable_sets, their variables (variable_set_variables: a
// plaintext value, or an encrypted one when sensitive, never both), and the links of sets to
// workspaces and projects. The service does the encrypting.
import type { Knex } from 'knex';
import { escapeLike, paged, type Db } from '../db/index.js';

export type Category = 'terraform' | 'env';

export interface VariableSet {
  id: string;
  organizationId: string;
  name: string;
  description: string;
  global: boolean;
  priority: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface StoredSetVariable {
  id: string;
  variableSetId: string;
  key: string;
  /** The plaintext value of a non-sensitive variable; null when sensitive. */
  value: string | null;
  /** The sealed value of a sensitive variable; null when not sensitive. */
  encryptedValue: Buffer | null;
  category: Category;
  hcl: boolean;
  sensitive: boolean;
  description: string;
  versionId: string;
  createdAt: Date;
}

/** Everything a write of a variable sets. */
export type SetVariableFields = Omit<StoredSetVariable, 'id' | 'variableSetId' | 'createdAt'>;

interface SetRow {
  id: string;
  organization_id: string;
  name: string;
  description: string;
  global: boolean;
  priority: boolean;
  created_at: Date;
  updated_at: Date;
}

interface VariableRow {
  id: string;
  variable_set_id: string;
  key: string;
  value: string | null;
  encrypted_value: Buffer | null;
  category: Category;
  hcl: boolean;
  sensitive: boolean;
  description: string;
  version_id: string;
  created_at: Date;
}

const SET_COLUMNS = ['id', 'organization_id', 'name', 'description', 'global', 'priority', 'created_at', 'updated_at'];
const VARIABLE_COLUMNS = ['id', 'variable_set_id', 'key', 'value', 'encrypted_value', 'category', 'hcl', 'sensitive', 'description', 'version_id', 'created_at'];

function toSet(r: SetRow): VariableSet {
  return { id: r.id, organizationId: r.organization_id, name: r.name, description: r.description, global: r.global, priority: r.priority, createdAt: r.created_at, updatedAt: r.updated_at };
}

function toVariable(r: VariableRow): StoredSetVariable {
  return {
    id: r.id,
    variableSetId: r.variable_set_id,
    key: r.key,
    value: r.value,
    encryptedValue: r.encrypted_value,
    category: r.category,
    hcl: r.hcl,
    sensitive: r.sensitive,
    description: r.description,
    versionId: r.version_id,
    createdAt: r.created_at,
  };
}

// ---------------------------------------------------------------- sets

export async function insertSet(db: Db, s: Omit<VariableSet, 'createdAt' | 'updatedAt'>): Promise<VariableSet> {
  const [row] = await db('variable_sets')
    .insert({ id: s.id, organization_id: s.organizationId, name: s.name, description: s.description, global: s.global, priority: s.priority })
    .returning(SET_COLUMNS);
  return toSet(row as SetRow);
}

export async function findSet(db: Db, id: string): Promise<VariableSet | null> {
  const row = (await db('variable_sets').select(SET_COLUMNS).where({ id }).first()) as SetRow | undefined;
  return row ? toSet(row) : null;
}

export async function findSetForUpdate(db: Db, id: string): Promise<VariableSet | null> {
  const row = (await db('variable_sets').select(SET_COLUMNS).where({ id }).forUpdate().first()) as SetRow | undefined;
  return row ? toSet(row) : null;
}

export async function updateSet(db: Db, id: string, changes: { name?: string; description?: string; global?: boolean; priority?: boolean }): Promise<VariableSet> {
  const [row] = await db('variable_sets')
    .where({ id })
    .update({ ...changes, updated_at: db.fn.now() })
    .returning(SET_COLUMNS);
  return toSet(row as SetRow);
}

export async function removeSet(db: Db, id: string): Promise<boolean> {
  return (await db('variable_sets').where({ id }).delete()) === 1;
}

/** A page of sets, by name; `search` matches part of the name, case-insensitively. */
export async function listSets(
  db: Db,
  where: (q: Knex.QueryBuilder) => void,
  opts: { search?: string; limit: number; offset: number },
): Promise<{ items: VariableSet[]; total: number }> {
  const q = db('variable_sets').select(SET_COLUMNS).orderBy(['name', 'id']);
  where(q);
  if (opts.search) q.whereILike('name', `%${escapeLike(opts.search)}%`);
  const { rows, total } = await paged<SetRow>(db, q, opts.limit, opts.offset);
  return { items: rows.map(toSet), total };
}

/** Every set the filter selects, by name, without paging (the sets of one run: a handful). */
export async function allSets(db: Db, where: (q: Knex.QueryBuilder) => void): Promise<VariableSet[]> {
  const q = db('variable_sets').select(SET_COLUMNS).orderBy(['name', 'id']);
  where(q);
  return ((await q) as SetRow[]).map(toSet);
}

/** The sets of an organization. */
export function ofOrganization(organizationId: string): (q: Knex.QueryBuilder) => void {
  return (q) => q.where({ organization_id: organizationId });
}

/** The sets applied to a project. */
export function ofProject(db: Db, projectId: string): (q: Knex.QueryBuilder) => void {
  return (q) => q.whereIn('id', db('variable_set_projects').select('variable_set_id').where({ project_id: projectId }));
}

/** The sets that feed a workspace's runs: global ones, and those applied to it or to its project. */
export function ofWorkspace(db: Db, ws: { id: string; projectId: string; organizationId: string }): (q: Knex.QueryBuilder) => void {
  return (q) =>
    q.where({ organization_id: ws.organizationId }).andWhere((w) =>
      w
        .where({ global: true })
        .orWhereIn('id', db('variable_set_workspaces').select('variable_set_id').where({ workspace_id: ws.id }))
        .orWhereIn('id', db('variable_set_projects').select('variable_set_id').where({ project_id: ws.projectId })),
    );
}

// ---------------------------------------------------------------- links

/** For each of these sets, the workspaces (or projects) it is applied to, by id. */
export async function linksOf(db: Db, kind: 'workspaces' | 'projects', setIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(setIds.map((id) => [id, []]));
  if (setIds.length === 0) return out;
  const [table, column] = kind === 'workspaces' ? ['variable_set_workspaces', 'workspace_id'] : ['variable_set_projects', 'project_id'];
  const rows = (await db(table).select('variable_set_id', `${column} as target`).whereIn('variable_set_id', setIds).orderBy(column)) as Array<{
    variable_set_id: string;
    target: string;
  }>;
  for (const r of rows) out.get(r.variable_set_id)!.push(r.target);
  return out;
}

export async function link(db: Db, kind: 'workspaces' | 'projects', setId: string, targetIds: string[]): Promise<void> {
  if (targetIds.length === 0) return;
  const [table, column] = kind === 'workspaces' ? ['variable_set_workspaces', 'workspace_id'] : ['variable_set_projects', 'project_id'];
  await db(table)
    .insert(targetIds.map((t) => ({ variable_set_id: setId, [column]: t })))
    .onConflict(['variable_set_id', column])
    .ignore();
}

export async function unlink(db: Db, kind: 'workspaces' | 'projects', setId: string, targetIds: string[] | 'all'): Promise<void> {
  const [table, column] = kind === 'workspaces' ? ['variable_set_workspaces', 'workspace_id'] : ['variable_set_projects', 'project_id'];
  const q = db(table).where({ variable_set_id: setId });
  if (targetIds !== 'all') q.whereIn(column, targetIds);
  await q.delete();
}

// ---------------------------------------------------------------- variables

function toColumns(f: SetVariableFields): Record<string, unknown> {
  return {
    key: f.key,
    value: f.value,
    encrypted_value: f.encryptedValue,
    category: f.category,
    hcl: f.hcl,
    sensitive: f.sensitive,
    description: f.description,
    version_id: f.versionId,
  };
}

export async function insertVariable(db: Db, v: { id: string; variableSetId: string } & SetVariableFields): Promise<void> {
  await db('variable_set_variables').insert({ id: v.id, variable_set_id: v.variableSetId, ...toColumns(v) });
}

export async function findVariable(db: Db, id: string): Promise<StoredSetVariable | null> {
  const row = (await db('variable_set_variables').select(VARIABLE_COLUMNS).where({ id }).first()) as VariableRow | undefined;
  return row ? toVariable(row) : null;
}

export async function findVariableForUpdate(db: Db, id: string): Promise<StoredSetVariable | null> {
  const row = (await db('variable_set_variables').select(VARIABLE_COLUMNS).where({ id }).forUpdate().first()) as VariableRow | undefined;
  return row ? toVariable(row) : null;
}

export async function updateVariable(db: Db, id: string, fields: SetVariableFields): Promise<void> {
  await db('variable_set_variables')
    .where({ id })
    .update({ ...toColumns(fields), updated_at: db.fn.now() });
}

export async function removeVariable(db: Db, id: string): Promise<boolean> {
  return (await db('variable_set_variables').where({ id }).delete()) === 1;
}

/** The variables of these sets, by set, key and category. */
export async function variablesOf(db: Db, setIds: string[]): Promise<StoredSetVariable[]> {
  if (setIds.length === 0) return [];
  const rows = (await db('variable_set_variables').select(VARIABLE_COLUMNS).whereIn('variable_set_id', setIds).orderBy(['variable_set_id', 'key', 'category'])) as VariableRow[];
  return rows.map(toVariable);
}
