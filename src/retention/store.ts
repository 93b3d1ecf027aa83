// The retention domain's table: data_retention_policies (migration 0035).
import type { Db } from '../db/index.js';

export type PolicyKind = 'delete-older' | 'dont-delete';

export interface RetentionPolicy {
  id: string;
  organizationId: string;
  /** null for the organization's own policy */
  workspaceId: string | null;
  kind: PolicyKind;
  /** set for delete-older, null for dont-delete */
  deleteOlderThanNDays: number | null;
  createdAt: Date;
}

interface Row {
  id: string;
  organization_id: string;
  workspace_id: string | null;
  kind: PolicyKind;
  delete_older_than_n_days: number | null;
  created_at: Date;
}

function toPolicy(r: Row): RetentionPolicy {
  return {
    id: r.id,
    organizationId: r.organization_id,
    workspaceId: r.workspace_id,
    kind: r.kind,
    deleteOlderThanNDays: r.delete_older_than_n_days,
    createdAt: r.created_at,
  };
}

/** The policy of the organization (workspaceId null) or of the workspace, if any. */
export async function find(db: Db, organizationId: string, workspaceId: string | null): Promise<RetentionPolicy | null> {
  const q = db('data_retention_policies').where({ organization_id: organizationId });
  if (workspaceId === null) q.whereNull('workspace_id');
  else q.where({ workspace_id: workspaceId });
  const row = (await q.first()) as Row | undefined;
  return row ? toPolicy(row) : null;
}

/** Replaces the organization's or the workspace's policy with this one. */
export async function replace(db: Db, p: Omit<RetentionPolicy, 'createdAt'>): Promise<void> {
  await db.transaction(async (trx) => {
    await remove(trx, p.organizationId, p.workspaceId);
    await trx('data_retention_policies').insert({
      id: p.id,
      organization_id: p.organizationId,
      workspace_id: p.workspaceId,
      kind: p.kind,
      delete_older_than_n_days: p.deleteOlderThanNDays,
    });
  });
}

export async function remove(db: Db, organizationId: string, workspaceId: string | null): Promise<number> {
  const q = db('data_retention_policies').where({ organization_id: organizationId });
  if (workspaceId === null) q.whereNull('workspace_id');
  else q.where({ workspace_id: workspaceId });
  return q.delete();
}

/** Every policy, organizations' and workspaces', for enforcement. */
export async function all(db: Db): Promise<RetentionPolicy[]> {
  return ((await db('data_retention_policies').orderBy('id')) as Row[]).map(toPolicy);
}
