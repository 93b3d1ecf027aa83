// Tables of the vcs domain: oauth_clients and oauth_tokens. Tokens (and their SSH keys) are held
// only sealed; the service does the sealing.
import type { Db } from '../db/index.js';
import type { ServiceProvider } from './types.js';

export interface StoredClient {
  id: string;
  organizationId: string;
  serviceProvider: ServiceProvider;
  name: string | null;
  apiUrl: string;
  httpUrl: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface StoredToken {
  id: string;
  oauthClientId: string;
  encryptedToken: Buffer;
  encryptedSshKey: Buffer | null;
  createdAt: Date;
  updatedAt: Date;
}

interface ClientRow {
  id: string;
  organization_id: string;
  service_provider: ServiceProvider;
  name: string | null;
  api_url: string;
  http_url: string;
  created_at: Date;
  updated_at: Date;
}

interface TokenRow {
  id: string;
  oauth_client_id: string;
  encrypted_token: Buffer;
  encrypted_ssh_key: Buffer | null;
  created_at: Date;
  updated_at: Date;
}

function toClient(r: ClientRow): StoredClient {
  return {
    id: r.id,
    organizationId: r.organization_id,
    serviceProvider: r.service_provider,
    name: r.name,
    apiUrl: r.api_url,
    httpUrl: r.http_url,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toToken(r: TokenRow): StoredToken {
  return {
    id: r.id,
    oauthClientId: r.oauth_client_id,
    encryptedToken: r.encrypted_token,
    encryptedSshKey: r.encrypted_ssh_key,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export async function findClient(db: Db, id: string): Promise<StoredClient | null> {
  const row = (await db('oauth_clients').where({ id }).first()) as ClientRow | undefined;
  return row ? toClient(row) : null;
}

/** One page of an organization's clients, oldest first, and how many there are. */
export async function listClients(db: Db, organizationId: string, page: { offset: number; limit: number }): Promise<{ items: StoredClient[]; total: number }> {
  const [rows, count] = await Promise.all([
    db('oauth_clients').where({ organization_id: organizationId }).orderBy([{ column: 'created_at' }, { column: 'id' }]).offset(page.offset).limit(page.limit) as Promise<ClientRow[]>,
    db('oauth_clients').where({ organization_id: organizationId }).count<Array<{ count: string }>>({ count: '*' }),
  ]);
  return { items: rows.map(toClient), total: Number(count[0].count) };
}

export async function insertClient(
  db: Db,
  c: { id: string; organizationId: string; serviceProvider: ServiceProvider; name: string | null; apiUrl: string; httpUrl: string },
): Promise<void> {
  await db('oauth_clients').insert({
    id: c.id,
    organization_id: c.organizationId,
    service_provider: c.serviceProvider,
    name: c.name,
    api_url: c.apiUrl,
    http_url: c.httpUrl,
  });
}

export async function updateClient(db: Db, id: string, changes: { name?: string | null }): Promise<void> {
  const row: Record<string, unknown> = { updated_at: db.fn.now() };
  if (changes.name !== undefined) row.name = changes.name;
  await db('oauth_clients').where({ id }).update(row);
}

/** Removes the client and, by ON DELETE CASCADE, its tokens. */
export async function removeClient(db: Db, id: string): Promise<boolean> {
  return (await db('oauth_clients').where({ id }).delete()) === 1;
}

export async function findToken(db: Db, id: string): Promise<StoredToken | null> {
  const row = (await db('oauth_tokens').where({ id }).first()) as TokenRow | undefined;
  return row ? toToken(row) : null;
}

/** A token with its client, in one query: what every use of a token (an adapter, a check of its organization) needs. */
export async function findTokenWithClient(db: Db, id: string): Promise<{ token: StoredToken; client: StoredClient } | null> {
  const row = (await db('oauth_tokens as t')
    .join('oauth_clients as c', 'c.id', 't.oauth_client_id')
    .where('t.id', id)
    .first('t.*', {
      organization_id: 'c.organization_id',
      service_provider: 'c.service_provider',
      name: 'c.name',
      api_url: 'c.api_url',
      http_url: 'c.http_url',
      client_created_at: 'c.created_at',
      client_updated_at: 'c.updated_at',
    })) as (TokenRow & Omit<ClientRow, 'id' | 'created_at' | 'updated_at'> & { client_created_at: Date; client_updated_at: Date }) | undefined;
  if (!row) return null;
  const client = toClient({ ...row, id: row.oauth_client_id, created_at: row.client_created_at, updated_at: row.client_updated_at });
  return { token: toToken(row), client };
}

/** The tokens of some clients, oldest first. */
export async function tokensOf(db: Db, clientIds: string[]): Promise<StoredToken[]> {
  if (clientIds.length === 0) return [];
  const rows = (await db('oauth_tokens').whereIn('oauth_client_id', clientIds).orderBy([{ column: 'created_at' }, { column: 'id' }])) as TokenRow[];
  return rows.map(toToken);
}

export async function insertToken(db: Db, t: { id: string; oauthClientId: string; encryptedToken: Buffer }): Promise<void> {
  await db('oauth_tokens').insert({ id: t.id, oauth_client_id: t.oauthClientId, encrypted_token: t.encryptedToken });
}

export async function updateToken(db: Db, id: string, changes: { encryptedToken?: Buffer; encryptedSshKey?: Buffer | null }): Promise<void> {
  const row: Record<string, unknown> = { updated_at: db.fn.now() };
  if (changes.encryptedToken !== undefined) row.encrypted_token = changes.encryptedToken;
  if (changes.encryptedSshKey !== undefined) row.encrypted_ssh_key = changes.encryptedSshKey;
  await db('oauth_tokens').where({ id }).update(row);
}

export async function removeToken(db: Db, id: string): Promise<boolean> {
  return (await db('oauth_tokens').where({ id }).delete()) === 1;
}
