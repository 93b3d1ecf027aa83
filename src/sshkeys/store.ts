// Table of the SSH keys domain: ssh_keys. The private key is held only sealed (encrypted_value);
// the service does the sealing.
import type { Db } from '../db/index.js';

export interface StoredSshKey {
  id: string;
  organizationId: string;
  name: string;
  encryptedValue: Buffer;
  createdAt: Date;
  updatedAt: Date;
}

interface SshKeyRow {
  id: string;
  organization_id: string;
  name: string;
  encrypted_value: Buffer;
  created_at: Date;
  updated_at: Date;
}

function toKey(r: SshKeyRow): StoredSshKey {
  return {
    id: r.id,
    organizationId: r.organization_id,
    name: r.name,
    encryptedValue: r.encrypted_value,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export async function findById(db: Db, id: string): Promise<StoredSshKey | null> {
  const row = (await db('ssh_keys').where({ id }).first()) as SshKeyRow | undefined;
  return row ? toKey(row) : null;
}

/** Every key of an organization, by name (Terraform Cloud does not page this list). */
export async function listByOrganization(db: Db, organizationId: string): Promise<StoredSshKey[]> {
  const rows = (await db('ssh_keys').where({ organization_id: organizationId }).orderBy(['name', 'id'])) as SshKeyRow[];
  return rows.map(toKey);
}

export async function insert(db: Db, k: { id: string; organizationId: string; name: string; encryptedValue: Buffer }): Promise<void> {
  await db('ssh_keys').insert({ id: k.id, organization_id: k.organizationId, name: k.name, encrypted_value: k.encryptedValue });
}

export async function update(db: Db, id: string, changes: { name?: string; encryptedValue?: Buffer }): Promise<void> {
  const row: Record<string, unknown> = { updated_at: db.fn.now() };
  if (changes.name !== undefined) row.name = changes.name;
  if (changes.encryptedValue !== undefined) row.encrypted_value = changes.encryptedValue;
  await db('ssh_keys').where({ id }).update(row);
}

/** Removes the key; the workspaces that used it lose it (ON DELETE SET NULL). */
export async function remove(db: Db, id: string): Promise<boolean> {
  return (await db('ssh_keys').where({ id }).delete()) === 1;
}
