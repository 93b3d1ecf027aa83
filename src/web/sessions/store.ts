// The web_sessions table.
import type { Db } from '../../db/index.js';
import type { Principal } from '../../auth/subject.js';

export interface SessionRow {
  id: string;
  principal: Principal;
  createdAt: Date;
  expiresAt: Date;
}

interface Row {
  id: string;
  principal_type: Principal['type'];
  principal_id: string;
  principal_name: string;
  created_at: Date;
  expires_at: Date;
}

const toSession = (r: Row): SessionRow => ({
  id: r.id,
  principal: { type: r.principal_type, id: r.principal_id, name: r.principal_name },
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});

export async function insert(db: Db, s: { id: string; tokenHash: Buffer; principal: Principal; expiresAt: Date; address: string | null }): Promise<void> {
  await db('web_sessions').insert({
    id: s.id,
    token_hash: s.tokenHash,
    principal_type: s.principal.type,
    principal_id: s.principal.id,
    principal_name: s.principal.name,
    expires_at: s.expiresAt,
    address: s.address,
  });
}

/** The session whose token hashes to this, if it has not expired. */
export async function findLive(db: Db, tokenHash: Buffer): Promise<SessionRow | null> {
  const row = await db('web_sessions').where({ token_hash: tokenHash }).andWhere('expires_at', '>', db.fn.now()).first<Row | undefined>();
  return row ? toSession(row) : null;
}

export async function remove(db: Db, id: string): Promise<boolean> {
  return (await db('web_sessions').where({ id }).del()) > 0;
}

export async function removeOfPrincipal(db: Db, principal: Pick<Principal, 'type' | 'id'>): Promise<string[]> {
  const rows = await db('web_sessions').where({ principal_type: principal.type, principal_id: principal.id }).del().returning<{ id: string }[]>('id');
  return rows.map((r) => r.id);
}

/** The session with this id, if it has not expired. */
export async function findLiveById(db: Db, id: string): Promise<SessionRow | null> {
  const row = await db('web_sessions').where({ id }).andWhere('expires_at', '>', db.fn.now()).first<Row | undefined>();
  return row ? toSession(row) : null;
}

export async function removeExpired(db: Db): Promise<number> {
  return db('web_sessions').where('expires_at', '<=', db.fn.now()).del();
}
