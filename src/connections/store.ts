// Table of the connections domain: repo_hooks, the webhooks otfd made at VCS providers, one per
// oauth client and repository. The secret is held only sealed (encrypted_secret); the service
// seals and opens it.
import { advisoryXactLock, type Db } from '../db/index.js';
import type { ServiceProvider } from '../vcs/types.js';

export interface StoredHook {
  id: string;
  organizationId: string;
  oauthClientId: string;
  /** The token it was made with, and is deleted with. */
  oauthTokenId: string;
  provider: ServiceProvider;
  identifier: string;
  providerHookId: string;
  encryptedSecret: Buffer;
  url: string;
  createdAt: Date;
  /** Set when deleting it at the provider failed: no workspace uses it, a sweep tries again. */
  deletingSince: Date | null;
  deleteAttempts: number;
}

interface HookRow {
  id: string;
  organization_id: string;
  oauth_client_id: string;
  oauth_token_id: string;
  service_provider: ServiceProvider;
  identifier: string;
  provider_hook_id: string;
  encrypted_secret: Buffer;
  url: string;
  created_at: Date;
  deleting_since: Date | null;
  delete_attempts: number;
}

function toHook(r: HookRow): StoredHook {
  return {
    id: r.id,
    organizationId: r.organization_id,
    oauthClientId: r.oauth_client_id,
    oauthTokenId: r.oauth_token_id,
    provider: r.service_provider,
    identifier: r.identifier,
    providerHookId: r.provider_hook_id,
    encryptedSecret: r.encrypted_secret,
    url: r.url,
    createdAt: r.created_at,
    deletingSince: r.deleting_since,
    deleteAttempts: r.delete_attempts,
  };
}

export async function findById(db: Db, id: string): Promise<StoredHook | null> {
  const row = (await db('repo_hooks').where({ id }).first()) as HookRow | undefined;
  return row ? toHook(row) : null;
}

export async function findByRepository(db: Db, oauthClientId: string, identifier: string): Promise<StoredHook | null> {
  const row = (await db('repo_hooks').where({ oauth_client_id: oauthClientId, identifier }).first()) as HookRow | undefined;
  return row ? toHook(row) : null;
}

export async function listByOrganization(db: Db, organizationId: string): Promise<StoredHook[]> {
  const rows = (await db('repo_hooks').where({ organization_id: organizationId }).orderBy('id')) as HookRow[];
  return rows.map(toHook);
}

export async function insert(db: Db, h: Omit<StoredHook, 'createdAt' | 'deletingSince' | 'deleteAttempts'>): Promise<void> {
  await db('repo_hooks').insert({
    id: h.id,
    organization_id: h.organizationId,
    oauth_client_id: h.oauthClientId,
    oauth_token_id: h.oauthTokenId,
    service_provider: h.provider,
    identifier: h.identifier,
    provider_hook_id: h.providerHookId,
    encrypted_secret: h.encryptedSecret,
    url: h.url,
  });
}

/** Marks a hook the provider would not delete, counting the attempt. */
export async function markDeleting(db: Db, id: string): Promise<void> {
  await db('repo_hooks')
    .where({ id })
    .update({ deleting_since: db.raw('coalesce(deleting_since, now())'), delete_attempts: db.raw('delete_attempts + 1') });
}

/** A marked hook that a workspace connects to again is in use again (it still exists at the provider). */
export async function unmarkDeleting(db: Db, id: string): Promise<void> {
  await db('repo_hooks').where({ id }).update({ deleting_since: null, delete_attempts: 0 });
}

/** The ids of hooks marked for deletion, oldest first. */
export async function listDeleting(db: Db, limit: number): Promise<string[]> {
  const rows = (await db('repo_hooks').whereNotNull('deleting_since').orderBy('deleting_since').limit(limit).select('id')) as Array<{ id: string }>;
  return rows.map((r) => r.id);
}

export async function remove(db: Db, id: string): Promise<boolean> {
  return (await db('repo_hooks').where({ id }).delete()) === 1;
}

/**
 * Holds, until trx ends, the lock of one repository of one oauth client: whoever makes or deletes
 * its webhook holds it, so concurrent connects make one webhook and a release cannot delete the
 * webhook a connect is about to use.
 */
export async function lockRepository(trx: Db, oauthClientId: string, identifier: string): Promise<void> {
  await advisoryXactLock(trx, `repo-hook\n${oauthClientId}\n${identifier}`);
}
