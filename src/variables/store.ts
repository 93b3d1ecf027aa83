// Tables of the variables domain: variables. A row holds either a plaintext value (non-sensitive)
// or an encrypted one (sensitive), never both; the service does the encrypting.
import type { Db } from '../db/index.js';

export type Category = 'terraform' | 'env';

export interface StoredVariable {
  id: string;
  workspaceId: string;
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
  updatedAt: Date;
}

/** Everything a write sets. */
export type VariableFields = Omit<StoredVariable, 'id' | 'workspaceId' | 'createdAt' | 'updatedAt'>;

interface VariableRow {
  id: string;
  workspace_id: string;
  key: string;
  value: string | null;
  encrypted_value: Buffer | null;
  category: Category;
  hcl: boolean;
  sensitive: boolean;
  description: string;
  version_id: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = [
  'id',
  'workspace_id',
  'key',
  'value',
  'encrypted_value',
  'category',
  'hcl',
  'sensitive',
  'description',
  'version_id',
  'created_at',
  'updated_at',
];

function toVariable(r: VariableRow): StoredVariable {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    key: r.key,
    value: r.value,
    encryptedValue: r.encrypted_value,
    category: r.category,
    hcl: r.hcl,
    sensitive: r.sensitive,
    description: r.description,
    versionId: r.version_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toColumns(f: VariableFields): Record<string, unknown> {
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

export async function findById(db: Db, id: string): Promise<StoredVariable | null> {
  const row = (await db('variables').select(COLUMNS).where({ id }).first()) as VariableRow | undefined;
  return row ? toVariable(row) : null;
}

/** The variable, with its row locked until the transaction ends (for read-modify-write). */
export async function findByIdForUpdate(db: Db, id: string): Promise<StoredVariable | null> {
  const row = (await db('variables').select(COLUMNS).where({ id }).forUpdate().first()) as VariableRow | undefined;
  return row ? toVariable(row) : null;
}

/** Every variable of a workspace, by key and then category. */
export async function listByWorkspace(db: Db, workspaceId: string): Promise<StoredVariable[]> {
  const rows = (await db('variables').select(COLUMNS).where({ workspace_id: workspaceId }).orderBy(['key', 'category']).options({ name: 'variables.listByWorkspace' })) as VariableRow[];
  return rows.map(toVariable);
}

export async function insert(db: Db, v: { id: string; workspaceId: string } & VariableFields): Promise<void> {
  await db('variables').insert({ id: v.id, workspace_id: v.workspaceId, ...toColumns(v) });
}

export async function update(db: Db, id: string, fields: VariableFields): Promise<void> {
  await db('variables')
    .where({ id })
    .update({ ...toColumns(fields), updated_at: db.fn.now() });
}

export async function remove(db: Db, id: string): Promise<boolean> {
  return (await db('variables').where({ id }).delete()) === 1;
}
