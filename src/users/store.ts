// Tables of the users domain: users and their tokens. What users hold in organizations (their
// memberships and teams) is the teams domain's; the query that gathers it for a token is
// src/auth/grants.ts.
import { escapeLike, paged, type Db } from '../db/index.js';

// ---------------------------------------------------------------- users

export interface User {
  id: string;
  username: string;
  email: string;
  /** Made for an email invited into an organization; the user created with that email takes it over. */
  invited: boolean;
  createdAt: Date;
}

interface UserRow {
  id: string;
  username: string;
  email: string;
  invited: boolean;
  created_at: Date;
}

function toUser(r: UserRow): User {
  return { id: r.id, username: r.username, email: r.email, invited: r.invited, createdAt: r.created_at };
}

export async function insertUser(db: Db, user: { id: string; username: string; email: string; invited?: boolean }): Promise<User> {
  const [row] = await db<UserRow>('users').insert(user).returning('*');
  return toUser(row);
}

/** The invited user of this email, if there is one. */
export async function findInvitee(db: Db, email: string): Promise<User | null> {
  const row = await db<UserRow>('users').where({ invited: true }).whereRaw('lower(email) = lower(?)', [email]).first();
  return row ? toUser(row) : null;
}

/** The invited user becomes the user created with its email: its name and email as given, no longer invited. */
export async function claimInvitee(db: Db, id: string, user: { username: string; email: string }): Promise<User> {
  const [row] = await db<UserRow>('users').where({ id }).update({ username: user.username, email: user.email, invited: false }).returning('*');
  return toUser(row);
}

export async function updateUser(db: Db, id: string, changes: { username?: string; email?: string }): Promise<User> {
  const [row] = await db<UserRow>('users').where({ id }).update(changes).returning('*');
  return toUser(row as UserRow);
}

export async function findUser(db: Db, id: string): Promise<User | null> {
  const row = await db<UserRow>('users').where({ id }).first();
  return row ? toUser(row) : null;
}

/** The users with these ids that exist, by username. */
export async function findUsers(db: Db, ids: string[]): Promise<User[]> {
  if (ids.length === 0) return [];
  const rows = await db<UserRow>('users').whereIn('id', [...new Set(ids)]).orderBy('username');
  return rows.map(toUser);
}

/** A user by id, or by username (the API accepts both where it names users). */
export async function findUserByIdOrName(db: Db, idOrName: string): Promise<User | null> {
  const row = await db<UserRow>('users').where({ id: idOrName }).orWhere({ username: idOrName }).first();
  return row ? toUser(row) : null;
}

/** A user by username only (a username that looks like an id must not find that id's user). */
/** The user single sign-on linked to this identity of the provider (issuer and subject), if any. */
export async function findUserByIdentity(db: Db, issuer: string, subject: string): Promise<User | null> {
  const row = await db<UserRow>('users')
    .join('sso_identities', 'sso_identities.user_id', 'users.id')
    .where({ 'sso_identities.issuer': issuer, 'sso_identities.subject': subject })
    .first('users.*');
  return row ? toUser(row) : null;
}

export async function insertIdentity(db: Db, identity: { issuer: string; subject: string; userId: string }): Promise<void> {
  await db('sso_identities').insert({ issuer: identity.issuer, subject: identity.subject, user_id: identity.userId });
}

export async function findUserByUsername(db: Db, username: string): Promise<User | null> {
  const row = await db<UserRow>('users').where({ username }).first();
  return row ? toUser(row) : null;
}

export async function findUserByEmail(db: Db, email: string): Promise<User | null> {
  const row = await db<UserRow>('users').whereRaw('lower(email) = lower(?)', [email]).first();
  return row ? toUser(row) : null;
}

export async function listUsers(db: Db, opts: { search?: string; limit: number; offset: number }): Promise<{ items: User[]; total: number }> {
  const q = db<UserRow>('users').select('*').orderBy('username');
  if (opts.search) {
    const pattern = `%${escapeLike(opts.search)}%`;
    q.where((w) => w.whereILike('username', pattern).orWhereILike('email', pattern));
  }
  const { rows, total } = await paged<UserRow>(db, q, opts.limit, opts.offset);
  return { items: rows.map(toUser), total };
}

export async function deleteUser(db: Db, id: string): Promise<boolean> {
  return (await db('users').where({ id }).delete()) > 0;
}

// ---------------------------------------------------------------- user tokens

export interface Token {
  id: string;
  description: string | null;
  expiredAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
}

export interface UserToken extends Token {
  userId: string;
}

interface TokenRow {
  id: string;
  description: string | null;
  secret_hash: Buffer;
  expired_at: Date | null;
  last_used_at: Date | null;
  created_at: Date;
}

interface UserTokenRow extends TokenRow {
  user_id: string;
}

function toToken(r: TokenRow): Token {
  return { id: r.id, description: r.description, expiredAt: r.expired_at, lastUsedAt: r.last_used_at, createdAt: r.created_at };
}

function toUserToken(r: UserTokenRow): UserToken {
  return { ...toToken(r), userId: r.user_id };
}

export async function insertUserToken(
  db: Db,
  t: { id: string; userId: string; description: string | null; secretHash: Buffer; expiredAt: Date | null },
): Promise<UserToken> {
  const [row] = await db<UserTokenRow>('user_tokens')
    .insert({ id: t.id, user_id: t.userId, description: t.description, secret_hash: t.secretHash, expired_at: t.expiredAt })
    .returning('*');
  return toUserToken(row);
}

export async function listUserTokens(db: Db, userId: string, limit: number, offset: number): Promise<{ items: UserToken[]; total: number }> {
  const q = db('user_tokens').select('*').where({ user_id: userId }).orderBy('created_at', 'desc');
  const { rows, total } = await paged<UserTokenRow>(db, q, limit, offset);
  return { items: rows.map(toUserToken), total };
}

export async function findUserToken(db: Db, id: string): Promise<UserToken | null> {
  const row = await db<UserTokenRow>('user_tokens').where({ id }).first();
  return row ? toUserToken(row) : null;
}

export async function deleteUserToken(db: Db, id: string): Promise<boolean> {
  return (await db('user_tokens').where({ id }).delete()) > 0;
}

export async function touchUserToken(db: Db, id: string): Promise<void> {
  await db('user_tokens').where({ id }).update({ last_used_at: db.fn.now() });
}
