// Tables of the pools domain: agent pools and the workspaces they allow, agent tokens, agents.
import type { Knex } from 'knex';
import type { Principal } from '../auth/subject.js';
import { escapeLike, paged, type Db } from '../db/index.js';

// ---------------------------------------------------------------- pools

export interface Pool {
  id: string;
  organizationId: string;
  name: string;
  organizationScoped: boolean;
  nameReleaseSeconds: number;
  allowedWorkspaceIds: string[];
  /** idle, busy and unknown agents */
  agentCount: number;
  createdAt: Date;
}

interface PoolRow {
  id: string;
  organization_id: string;
  name: string;
  organization_scoped: boolean;
  name_release_seconds: number;
  allowed_workspace_ids: string[];
  agent_count: number;
  created_at: Date;
}

function toPool(r: PoolRow): Pool {
  return {
    id: r.id,
    organizationId: r.organization_id,
    name: r.name,
    organizationScoped: r.organization_scoped,
    nameReleaseSeconds: r.name_release_seconds,
    allowedWorkspaceIds: r.allowed_workspace_ids,
    agentCount: r.agent_count,
    createdAt: r.created_at,
  };
}

/** Agents that count as present: not errored, not exited. */
export const LIVE_STATUSES: readonly AgentStatus[] = ['idle', 'busy', 'unknown'];

function selectPools(db: Db): Knex.QueryBuilder {
  return db('agent_pools as p').select(
    'p.id',
    'p.organization_id',
    'p.name',
    'p.organization_scoped',
    'p.name_release_seconds',
    'p.created_at',
    db.raw(`coalesce((SELECT array_agg(a.workspace_id ORDER BY a.workspace_id) FROM agent_pool_allowed_workspaces a WHERE a.pool_id = p.id), '{}') AS allowed_workspace_ids`),
    db.raw(`(SELECT count(*) FROM agents g WHERE g.pool_id = p.id AND g.status IN ('idle', 'busy', 'unknown')) AS agent_count`),
  );
}

/**
 * Locks the pool's row until the transaction ends: "update" by a change of the pool's scope or
 * allowed workspaces, "share" by an assignment of a workspace to the pool. Either then reads the
 * other's work whole (the check of one and the write of the other never overlap), while
 * assignments to the same pool do not wait for each other. False when there is no such pool.
 */
export async function lockPool(trx: Db, id: string, mode: 'update' | 'share'): Promise<boolean> {
  const q = trx('agent_pools').where({ id }).first('id');
  const row: unknown = await (mode === 'update' ? q.forUpdate() : q.forShare());
  return row !== undefined;
}

export async function findPool(db: Db, id: string): Promise<Pool | null> {
  const row = (await selectPools(db).where('p.id', id).first()) as PoolRow | undefined;
  return row ? toPool(row) : null;
}

export interface PoolFilter {
  organizationId: string;
  search?: string;
  /** Pools this workspace may use: organization-scoped ones and those that allow it. */
  allowedWorkspaceId?: string;
  sort: { column: 'name' | 'created_at'; descending: boolean };
  limit: number;
  offset: number;
}

export async function listPools(db: Db, f: PoolFilter): Promise<{ items: Pool[]; total: number }> {
  const q = selectPools(db).where('p.organization_id', f.organizationId);
  if (f.search) q.whereILike('p.name', `%${escapeLike(f.search)}%`);
  if (f.allowedWorkspaceId !== undefined) {
    const id = f.allowedWorkspaceId;
    q.where((w) =>
      w.where('p.organization_scoped', true).orWhereExists((s) => s.select(db.raw('1')).from('agent_pool_allowed_workspaces as a').whereRaw('a.pool_id = p.id').andWhere('a.workspace_id', id)),
    );
  }
  q.orderBy(`p.${f.sort.column}`, f.sort.descending ? 'desc' : 'asc').orderBy('p.id');
  const { rows, total } = await paged<PoolRow>(db, q, f.limit, f.offset);
  return { items: rows.map(toPool), total };
}

/** Ids of the workspaces assigned to each of the pools, by workspace name. */
export async function assignedWorkspaceIds(db: Db, poolIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map(poolIds.map((id) => [id, [] as string[]]));
  if (poolIds.length === 0) return out;
  // The pool in effect: a workspace that follows its organization (execution_overwritten false) runs on the organization's default pool.
  const rows = await db('workspaces as w')
    .join('organizations as o', 'o.id', 'w.organization_id')
    .select<{ id: string; agent_pool_id: string }[]>(
      'w.id',
      db.raw(`CASE WHEN w.execution_overwritten THEN w.agent_pool_id WHEN o.default_execution_mode = 'agent' THEN o.default_agent_pool_id END AS agent_pool_id`),
    )
    .whereRaw(`(CASE WHEN w.execution_overwritten THEN w.agent_pool_id WHEN o.default_execution_mode = 'agent' THEN o.default_agent_pool_id END) = ANY(?)`, [poolIds])
    .orderBy('w.name');
  for (const r of rows) out.get(r.agent_pool_id)?.push(r.id);
  return out;
}

export async function insertPool(db: Db, p: { id: string; organizationId: string; name: string; organizationScoped: boolean; nameReleaseSeconds: number }): Promise<void> {
  await db('agent_pools').insert({
    id: p.id,
    organization_id: p.organizationId,
    name: p.name,
    organization_scoped: p.organizationScoped,
    name_release_seconds: p.nameReleaseSeconds,
  });
}

export async function updatePool(db: Db, id: string, changes: { name?: string; organizationScoped?: boolean; nameReleaseSeconds?: number }): Promise<void> {
  const row: Record<string, unknown> = {};
  if (changes.name !== undefined) row.name = changes.name;
  if (changes.organizationScoped !== undefined) row.organization_scoped = changes.organizationScoped;
  if (changes.nameReleaseSeconds !== undefined) row.name_release_seconds = changes.nameReleaseSeconds;
  if (Object.keys(row).length) await db('agent_pools').where({ id }).update(row);
}

export async function setAllowedWorkspaces(db: Db, poolId: string, workspaceIds: string[]): Promise<void> {
  await db('agent_pool_allowed_workspaces').where({ pool_id: poolId }).delete();
  if (workspaceIds.length) await db('agent_pool_allowed_workspaces').insert([...new Set(workspaceIds)].map((w) => ({ pool_id: poolId, workspace_id: w })));
}

export async function deletePool(db: Db, id: string): Promise<void> {
  await db('agent_pools').where({ id }).delete();
}

// ---------------------------------------------------------------- agent tokens

export interface AgentToken {
  id: string;
  poolId: string;
  description: string;
  createdBy: Principal | null;
  lastUsedAt: Date | null;
  createdAt: Date;
}

interface TokenRow {
  id: string;
  pool_id: string;
  description: string;
  secret_hash: Buffer;
  created_by_type: Principal['type'] | null;
  created_by_id: string | null;
  last_used_at: Date | null;
  created_at: Date;
}

function toToken(r: TokenRow): AgentToken {
  return {
    id: r.id,
    poolId: r.pool_id,
    description: r.description,
    createdBy: r.created_by_type && r.created_by_id ? { type: r.created_by_type, id: r.created_by_id, name: r.created_by_id } : null,
    lastUsedAt: r.last_used_at,
    createdAt: r.created_at,
  };
}

export async function insertToken(db: Db, t: { id: string; poolId: string; description: string; secretHash: Buffer; createdBy: Principal }): Promise<AgentToken> {
  const [row] = await db('agent_tokens')
    .insert({
      id: t.id,
      pool_id: t.poolId,
      description: t.description,
      secret_hash: t.secretHash,
      created_by_type: t.createdBy.type,
      created_by_id: t.createdBy.id,
    })
    .returning('*');
  return toToken(row as TokenRow);
}

export async function findToken(db: Db, id: string): Promise<(AgentToken & { secretHash: Buffer }) | null> {
  const row = await db<TokenRow>('agent_tokens').where({ id }).first();
  return row ? { ...toToken(row), secretHash: row.secret_hash } : null;
}

export async function listTokens(db: Db, poolId: string, descending: boolean, limit: number, offset: number): Promise<{ items: AgentToken[]; total: number }> {
  const q = db('agent_tokens').select('*').where({ pool_id: poolId }).orderBy('created_at', descending ? 'desc' : 'asc').orderBy('id');
  const { rows, total } = await paged<TokenRow>(db, q, limit, offset);
  return { items: rows.map(toToken), total };
}

export async function touchToken(db: Db, id: string): Promise<void> {
  await db('agent_tokens').where({ id }).update({ last_used_at: db.fn.now() });
}

export async function deleteToken(db: Db, id: string): Promise<void> {
  await db('agent_tokens').where({ id }).delete();
}

// ---------------------------------------------------------------- agents

export type AgentStatus = 'idle' | 'busy' | 'unknown' | 'errored' | 'exited';

export interface Agent {
  id: string;
  poolId: string;
  tokenId: string;
  name: string;
  status: AgentStatus;
  ipAddress: string | null;
  version: string | null;
  hostname: string | null;
  os: string | null;
  arch: string | null;
  concurrency: number;
  lastPingAt: Date;
  statusChangedAt: Date;
  createdAt: Date;
}

interface AgentRow {
  id: string;
  pool_id: string;
  token_id: string;
  name: string;
  status: AgentStatus;
  access_hash: Buffer;
  ip_address: string | null;
  version: string | null;
  hostname: string | null;
  os: string | null;
  arch: string | null;
  concurrency: number;
  last_ping_at: Date;
  status_changed_at: Date;
  created_at: Date;
}

function toAgent(r: AgentRow): Agent {
  return {
    id: r.id,
    poolId: r.pool_id,
    tokenId: r.token_id,
    name: r.name,
    status: r.status,
    ipAddress: r.ip_address,
    version: r.version,
    hostname: r.hostname,
    os: r.os,
    arch: r.arch,
    concurrency: r.concurrency,
    lastPingAt: r.last_ping_at,
    statusChangedAt: r.status_changed_at,
    createdAt: r.created_at,
  };
}

const AGENT_COLUMNS = [
  'id',
  'pool_id',
  'token_id',
  'name',
  'status',
  'ip_address',
  'version',
  'hostname',
  'os',
  'arch',
  'concurrency',
  'last_ping_at',
  'status_changed_at',
  'created_at',
] as const;

export async function insertAgent(
  db: Db,
  a: Omit<Agent, 'status' | 'lastPingAt' | 'statusChangedAt' | 'createdAt'> & { accessHash: Buffer },
): Promise<Agent> {
  const [row] = await db('agents')
    .insert({
      id: a.id,
      pool_id: a.poolId,
      token_id: a.tokenId,
      name: a.name,
      status: 'idle',
      access_hash: a.accessHash,
      ip_address: a.ipAddress,
      version: a.version,
      hostname: a.hostname,
      os: a.os,
      arch: a.arch,
      concurrency: a.concurrency,
    })
    .returning(AGENT_COLUMNS);
  return toAgent(row as AgentRow);
}

export async function findAgent(db: Db, id: string): Promise<Agent | null> {
  const row = await db<AgentRow>('agents').where({ id }).first(...AGENT_COLUMNS);
  return row ? toAgent(row as AgentRow) : null;
}

/** The agent with its access hash, and whether the agent token it registered with still exists. */
export async function agentForAuth(db: Db, id: string): Promise<{ agent: Agent; accessHash: Buffer; organizationId: string; tokenExists: boolean } | null> {
  const row = await db('agents as g')
    .join('agent_pools as p', 'p.id', 'g.pool_id')
    .leftJoin('agent_tokens as t', 't.id', 'g.token_id')
    .where('g.id', id)
    .first(...AGENT_COLUMNS.map((c) => `g.${c}`), 'g.access_hash', 'p.organization_id', db.raw('t.id IS NOT NULL AS token_exists'))
    .options({ name: 'agents.forAuth' });
  if (!row) return null;
  const r = row as AgentRow & { organization_id: string; token_exists: boolean };
  return { agent: toAgent(r), accessHash: r.access_hash, organizationId: r.organization_id, tokenExists: r.token_exists };
}

/** Agents of the pool holding `name`: live ones, and departed ones whose name is still reserved. */
export async function holdersOfName(db: Db, poolId: string, name: string, releaseSeconds: number): Promise<Agent[]> {
  const rows = await db('agents')
    .where({ pool_id: poolId, name })
    .andWhere((w) => {
      w.whereIn('status', LIVE_STATUSES);
      if (releaseSeconds > 0) w.orWhereRaw(`status_changed_at > now() - make_interval(secs => ?)`, [releaseSeconds]);
    })
    .select(...AGENT_COLUMNS);
  return (rows as AgentRow[]).map(toAgent);
}

export async function listAgents(db: Db, poolId: string, lastPingSince: Date | null, limit: number, offset: number): Promise<{ items: Agent[]; total: number }> {
  const q = db('agents').select(...AGENT_COLUMNS).where({ pool_id: poolId }).orderBy('created_at', 'desc').orderBy('id');
  if (lastPingSince) q.where('last_ping_at', '>=', lastPingSince);
  const { rows, total } = await paged<AgentRow>(db, q, limit, offset);
  return { items: rows.map(toAgent), total };
}

/** Records contact; an unknown agent is back. Does nothing to an errored or exited agent. */
export async function touchAgent(db: Db, id: string, status: 'idle' | 'busy'): Promise<void> {
  await db('agents')
    .where({ id })
    .whereIn('status', LIVE_STATUSES)
    .update({
      last_ping_at: db.fn.now(),
      status,
      status_changed_at: db.raw('CASE WHEN status = ? THEN status_changed_at ELSE now() END', [status]),
    });
}

export async function setAgentStatus(db: Db, id: string, status: AgentStatus): Promise<void> {
  await db('agents').where({ id }).update({ status, status_changed_at: db.fn.now() });
}

export async function deleteAgent(db: Db, id: string): Promise<void> {
  await db('agents').where({ id }).delete();
}

/** Live agents silent for longer than `seconds` become unknown; returns those that did. */
export async function markUnknown(db: Db, silentBefore: Date): Promise<Array<{ id: string; poolId: string }>> {
  const rows = (await db('agents')
    .whereIn('status', ['idle', 'busy'])
    .andWhere('last_ping_at', '<', silentBefore)
    .update({ status: 'unknown', status_changed_at: db.fn.now() })
    .returning(['id', 'pool_id'])) as Array<{ id: string; pool_id: string }>;
  return rows.map((r) => ({ id: r.id, poolId: r.pool_id }));
}

/** Agents not yet errored or exited whose last ping is older than `silentBefore`. */
export async function silentAgents(db: Db, silentBefore: Date): Promise<Agent[]> {
  const rows = await db('agents')
    .whereIn('status', LIVE_STATUSES)
    .andWhere('last_ping_at', '<', silentBefore)
    .select(AGENT_COLUMNS);
  return (rows as AgentRow[]).map(toAgent);
}

/** Marks the agent errored if its last ping is still older than `silentBefore`; whether it was. */
export async function markErrored(db: Db, id: string, silentBefore: Date): Promise<boolean> {
  const n = await db('agents')
    .where({ id })
    .whereIn('status', LIVE_STATUSES)
    .andWhere('last_ping_at', '<', silentBefore)
    .update({ status: 'errored', status_changed_at: db.fn.now() });
  return n > 0;
}

/** Marks a live agent exited; whether it was live. */
export async function markExited(db: Db, id: string): Promise<boolean> {
  const n = await db('agents').where({ id }).whereIn('status', LIVE_STATUSES).update({ status: 'exited', status_changed_at: db.fn.now() });
  return n > 0;
}

// ---------------------------------------------------------------- server agents

export async function touchServerAgent(db: Db, id: string): Promise<void> {
  await db('server_agents').insert({ id, last_seen_at: db.fn.now() }).onConflict('id').merge(['last_seen_at']);
}

export async function deleteServerAgent(db: Db, id: string): Promise<void> {
  await db('server_agents').where({ id }).delete();
}

/** Server agents not seen since `silentBefore`, except those named (deleteSilentServerAgent forgets one). */
export async function silentServerAgents(db: Db, silentBefore: Date, except: string[]): Promise<string[]> {
  const rows = await db('server_agents').where('last_seen_at', '<', silentBefore).whereNotIn('id', except).select<{ id: string }[]>('id');
  return rows.map((r) => r.id);
}

/** Forgets the server agent if it is still not seen since `silentBefore`. */
export async function deleteSilentServerAgent(db: Db, id: string, silentBefore: Date): Promise<void> {
  await db('server_agents').where({ id }).andWhere('last_seen_at', '<', silentBefore).delete();
}

/** The database's clock: the one every last-ping instant is written with. */
export async function databaseNow(db: Db): Promise<Date> {
  const r = await db.raw<{ rows: Array<{ now: Date }> }>('SELECT now() AS now');
  return r.rows[0].now;
}

// ---------------------------------------------------------------- what runs wait for, and /metrics

export interface PoolRunners {
  /** Agents of the pool by status (every status, zero when none). */
  agents: Record<AgentStatus, number>;
  /** Job slots of the pool's idle and busy agents (the sum of their --concurrency). */
  slots: number;
  /** Jobs those agents hold now. */
  held: number;
}

/** A pool's agents by status, their slots and the jobs they hold: two statements. */
export async function poolRunners(db: Db, poolId: string): Promise<PoolRunners> {
  const rows = await db('agents')
    .where({ pool_id: poolId })
    .groupBy('status')
    .select<Array<{ status: AgentStatus; n: string; slots: string }>>('status', db.raw('count(*) AS n'), db.raw('sum(concurrency) AS slots'));
  const agents: Record<AgentStatus, number> = { idle: 0, busy: 0, unknown: 0, errored: 0, exited: 0 };
  let slots = 0;
  for (const r of rows) {
    agents[r.status] = Number(r.n);
    if (r.status === 'idle' || r.status === 'busy') slots += Number(r.slots);
  }
  const held = await db('jobs')
    .whereIn('status', ['claimed', 'running'])
    .whereIn('runner_id', db('agents').select('id').where({ pool_id: poolId }).whereIn('status', ['idle', 'busy']))
    .count<{ n: string }[]>({ n: '*' })
    .first();
  return { agents, slots, held: Number(held?.n ?? 0) };
}

/** Server agents (one per otfd with --concurrency above 0) heard from in the last `seconds`. */
export async function liveServerAgents(db: Db, seconds: number): Promise<number> {
  const row = await db('server_agents').whereRaw('last_seen_at >= now() - make_interval(secs => ?)', [seconds]).count<{ n: string }[]>({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/** Agents per pool and status, and the server agents (idle or busy by the jobs they hold), for /metrics. */
export async function agentCounts(db: Db): Promise<Array<{ poolId: string | null; poolName: string | null; status: string; n: number }>> {
  const pools = await db('agents as a')
    .join('agent_pools as p', 'p.id', 'a.pool_id')
    .groupBy('a.pool_id', 'p.name', 'a.status')
    .select<Array<{ pool_id: string; name: string; status: string; n: string }>>('a.pool_id', 'p.name', 'a.status', db.raw('count(*) AS n'));
  const servers = await db.raw<{ rows: Array<{ status: string; n: string }> }>(
    `SELECT CASE WHEN EXISTS (SELECT 1 FROM jobs j WHERE j.runner_id = s.id AND j.status IN ('claimed', 'running')) THEN 'busy' ELSE 'idle' END AS status, count(*) AS n
       FROM server_agents s GROUP BY 1`,
  );
  return [
    ...pools.map((r) => ({ poolId: r.pool_id, poolName: r.name, status: r.status, n: Number(r.n) })),
    ...servers.rows.map((r) => ({ poolId: null, poolName: null, status: r.status, n: Number(r.n) })),
  ];
}
