// Tables of the users domain: users and their tokens, organization memberships, teams with their
// members, tokens and organization access, and team access to workspaces.
import type { Knex } from 'knex';
import {
  accessOf,
  unionAccess,
  type AccessLevel,
  type OrganizationPermission,
  type WorkspaceAccess,
  type WorkspacePermissions,
} from '../auth/access.js';
import type { OrganizationGrants, Principal } from '../auth/subject.js';
import { escapeLike, paged, type Db } from '../db/index.js';

// ---------------------------------------------------------------- users

export interface User {
  id: string;
  username: string;
  email: string;
  createdAt: Date;
}

interface UserRow {
  id: string;
  username: string;
  email: string;
  created_at: Date;
}

function toUser(r: UserRow): User {
  return { id: r.id, username: r.username, email: r.email, createdAt: r.created_at };
}

export async function insertUser(db: Db, user: { id: string; username: string; email: string }): Promise<User> {
  const [row] = await db<UserRow>('users').insert(user).returning('*');
  return toUser(row);
}

export async function findUser(db: Db, id: string): Promise<User | null> {
  const row = await db<UserRow>('users').where({ id }).first();
  return row ? toUser(row) : null;
}

/** The users with these ids, by id (ids of no user are not in the map). */
export async function findUsers(db: Db, ids: string[]): Promise<Map<string, User>> {
  const rows = await db<UserRow>('users').whereIn('id', ids);
  return new Map(rows.map((r) => [r.id, toUser(r)]));
}

/** A user by id, or by username (the API accepts both where it names users). */
export async function findUserByIdOrName(db: Db, idOrName: string): Promise<User | null> {
  const row = await db<UserRow>('users').where({ id: idOrName }).orWhere({ username: idOrName }).first();
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

/** Whether two users share an organization (then each may look the other up). */
export async function shareAnOrganization(db: Db, a: string, b: string): Promise<boolean> {
  const row = await db('organization_memberships as x')
    .join('organization_memberships as y', 'x.organization_id', 'y.organization_id')
    .where({ 'x.user_id': a, 'y.user_id': b })
    .first('x.id');
  return row !== undefined;
}

// ---------------------------------------------------------------- tokens (users' and teams')

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

export interface TeamToken extends Token {
  teamId: string;
  createdBy: Principal | null;
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

interface TeamTokenRow extends TokenRow {
  team_id: string;
  created_by_type: Principal['type'] | null;
  created_by_id: string | null;
}

function toToken(r: TokenRow): Token {
  return { id: r.id, description: r.description, expiredAt: r.expired_at, lastUsedAt: r.last_used_at, createdAt: r.created_at };
}

function toUserToken(r: UserTokenRow): UserToken {
  return { ...toToken(r), userId: r.user_id };
}

function toTeamToken(r: TeamTokenRow): TeamToken {
  const createdBy = r.created_by_type && r.created_by_id ? { type: r.created_by_type, id: r.created_by_id, name: r.created_by_id } : null;
  return { ...toToken(r), teamId: r.team_id, createdBy };
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

/**
 * A user token with its user and what the user holds in each organization it is an active member
 * of (its teams there and their workspace grants), in one query: a request by a user token costs
 * one round trip to authenticate.
 */
export async function userTokenForAuth(
  db: Db,
  id: string,
): Promise<{ token: UserToken; secretHash: Buffer; user: User; organizations: Map<string, OrganizationGrants> } | null> {
  const rows = await joinGrants(db('user_tokens as ut').join('users as u', 'u.id', 'ut.user_id'))
    .where('ut.id', id)
    .select<Array<UserTokenRow & UserGrantRow>>('ut.*', ...USER_GRANT_COLUMNS, ...GRANT_COLUMNS);
  if (rows.length === 0) return null;
  return { token: toUserToken(rows[0]), secretHash: rows[0].secret_hash, ...foldUserGrants(rows) };
}

/** The user and what it holds in each organization, gathered as for its tokens (work done on its behalf later). */
export async function userWithGrants(db: Db, userId: string): Promise<{ user: User; organizations: Map<string, OrganizationGrants> } | null> {
  const rows = await joinGrants(db('users as u'))
    .where('u.id', userId)
    .select<UserGrantRow[]>('u.id as user_id', ...USER_GRANT_COLUMNS, ...GRANT_COLUMNS);
  return rows.length === 0 ? null : foldUserGrants(rows);
}

/** A user (`u`) joined to what it holds: one row per team grant in each organization, or one row with no organization. */
function joinGrants(q: Knex.QueryBuilder): Knex.QueryBuilder {
  return q
    .leftJoin('organization_memberships as m', (j) => j.on('m.user_id', 'u.id').andOnVal('m.status', '=', 'active'))
    .leftJoin('team_memberships as tm', 'tm.user_id', 'm.user_id')
    .leftJoin('teams as t', (j) => j.on('t.id', 'tm.team_id').andOn('t.organization_id', 'm.organization_id'))
    .leftJoin('team_workspaces as tw', 'tw.team_id', 't.id');
}

type UserGrantRow = { user_id: string; username: string; email: string; user_created_at: Date } & Omit<GrantRow, 'organization_id'> & { organization_id: string | null };

const USER_GRANT_COLUMNS = ['u.username', 'u.email', 'u.created_at as user_created_at', 'm.organization_id'];

function foldUserGrants(rows: UserGrantRow[]): { user: User; organizations: Map<string, OrganizationGrants> } {
  const row = rows[0];
  return {
    user: { id: row.user_id, username: row.username, email: row.email, createdAt: row.user_created_at },
    // A user in no organization has one row, with no organization.
    organizations: foldGrants(rows.filter((r): r is typeof r & GrantRow => r.organization_id !== null)),
  };
}

/** The team and what it holds in its organization, as its tokens would. */
export async function teamWithGrants(db: Db, teamId: string): Promise<{ team: { id: string; name: string; organizationId: string }; grants: OrganizationGrants } | null> {
  const rows = await db('teams as t')
    .leftJoin('team_workspaces as tw', 'tw.team_id', 't.id')
    .where('t.id', teamId)
    .select<Array<GrantRow & { team_name: string }>>('t.name as team_name', 't.organization_id', ...GRANT_COLUMNS);
  if (rows.length === 0) return null;
  const row = rows[0];
  return { team: { id: teamId, name: row.team_name, organizationId: row.organization_id }, grants: foldGrants(rows).get(row.organization_id)! };
}

export async function deleteUserToken(db: Db, id: string): Promise<boolean> {
  return (await db('user_tokens').where({ id }).delete()) > 0;
}

export async function touchToken(db: Db, table: 'user_tokens' | 'team_tokens', id: string): Promise<void> {
  await db(table).where({ id }).update({ last_used_at: db.fn.now() });
}

export async function insertTeamToken(
  db: Db,
  t: { id: string; teamId: string; description: string | null; secretHash: Buffer; expiredAt: Date | null; createdBy: Principal },
): Promise<TeamToken> {
  const [row] = await db<TeamTokenRow>('team_tokens')
    .insert({
      id: t.id,
      team_id: t.teamId,
      description: t.description,
      secret_hash: t.secretHash,
      expired_at: t.expiredAt,
      created_by_type: t.createdBy.type,
      created_by_id: t.createdBy.id,
    })
    .returning('*');
  return toTeamToken(row);
}

/** The team's legacy token (the one without a description). */
export async function findLegacyTeamToken(db: Db, teamId: string): Promise<TeamToken | null> {
  const row = await db<TeamTokenRow>('team_tokens').where({ team_id: teamId }).whereNull('description').first();
  return row ? toTeamToken(row) : null;
}

export async function deleteLegacyTeamToken(db: Db, teamId: string): Promise<boolean> {
  return (await db('team_tokens').where({ team_id: teamId }).whereNull('description').delete()) > 0;
}

export async function listTeamTokens(db: Db, teamId: string, limit: number, offset: number): Promise<{ items: TeamToken[]; total: number }> {
  const q = db('team_tokens').select('*').where({ team_id: teamId }).orderBy('created_at', 'desc');
  const { rows, total } = await paged<TeamTokenRow>(db, q, limit, offset);
  return { items: rows.map(toTeamToken), total };
}

export async function findTeamToken(db: Db, id: string): Promise<TeamToken | null> {
  const row = await db<TeamTokenRow>('team_tokens').where({ id }).first();
  return row ? toTeamToken(row) : null;
}

/**
 * A team token with its team and what the team holds in its organization, in one query: a request
 * by a team token costs one round trip to authenticate.
 */
export async function teamTokenForAuth(
  db: Db,
  id: string,
): Promise<{ token: TeamToken; secretHash: Buffer; team: { id: string; name: string; organizationId: string }; grants: OrganizationGrants } | null> {
  const rows = await db('team_tokens as tt')
    .join('teams as t', 't.id', 'tt.team_id')
    .leftJoin('team_workspaces as tw', 'tw.team_id', 't.id')
    .where('tt.id', id)
    .select<Array<TeamTokenRow & GrantRow & { team_name: string }>>('tt.*', 't.name as team_name', 't.organization_id', ...GRANT_COLUMNS);
  if (rows.length === 0) return null;
  const row = rows[0];
  return {
    token: toTeamToken(row),
    secretHash: row.secret_hash,
    team: { id: row.team_id, name: row.team_name, organizationId: row.organization_id },
    grants: foldGrants(rows).get(row.organization_id)!,
  };
}

export async function deleteTeamToken(db: Db, id: string): Promise<boolean> {
  return (await db('team_tokens').where({ id }).delete()) > 0;
}

// ---------------------------------------------------------------- organization memberships

export type MembershipStatus = 'invited' | 'active';

export interface Membership {
  id: string;
  organizationId: string;
  userId: string | null;
  email: string;
  status: MembershipStatus;
  /** Teams an invited member joins once it is a user. */
  invitedTeamIds: string[];
  createdAt: Date;
}

interface MembershipRow {
  id: string;
  organization_id: string;
  user_id: string | null;
  email: string;
  status: MembershipStatus;
  invited_team_ids: string[];
  created_at: Date;
}

function toMembership(r: MembershipRow): Membership {
  return {
    id: r.id,
    organizationId: r.organization_id,
    userId: r.user_id,
    email: r.email,
    status: r.status,
    invitedTeamIds: r.invited_team_ids,
    createdAt: r.created_at,
  };
}

export async function insertMembership(db: Db, m: Omit<Membership, 'createdAt'>): Promise<Membership> {
  const [row] = await db<MembershipRow>('organization_memberships')
    .insert({ id: m.id, organization_id: m.organizationId, user_id: m.userId, email: m.email, status: m.status, invited_team_ids: m.invitedTeamIds })
    .returning('*');
  return toMembership(row);
}

export async function findMembership(db: Db, id: string): Promise<Membership | null> {
  const row = await db<MembershipRow>('organization_memberships').where({ id }).first();
  return row ? toMembership(row) : null;
}

export async function membershipOf(db: Db, organizationId: string, userId: string): Promise<Membership | null> {
  const row = await db<MembershipRow>('organization_memberships').where({ organization_id: organizationId, user_id: userId }).first();
  return row ? toMembership(row) : null;
}

export interface MembershipFilter {
  organizationId?: string;
  userId?: string;
  search?: string;
  statuses?: MembershipStatus[];
  emails?: string[];
  limit: number;
  offset: number;
}

export async function listMemberships(db: Db, f: MembershipFilter): Promise<{ items: Membership[]; total: number }> {
  const q = db('organization_memberships as m').leftJoin('users as u', 'u.id', 'm.user_id').select('m.*').orderBy('m.created_at').orderBy('m.id');
  if (f.organizationId) q.where('m.organization_id', f.organizationId);
  if (f.userId) q.where('m.user_id', f.userId);
  if (f.statuses) q.whereIn('m.status', f.statuses);
  if (f.emails) q.whereRaw('lower(m.email) = any(?)', [f.emails.map((e) => e.toLowerCase())]);
  if (f.search) {
    const pattern = `%${escapeLike(f.search)}%`;
    q.where((w) => w.whereILike('m.email', pattern).orWhereILike('u.username', pattern));
  }
  const { rows, total } = await paged<MembershipRow>(db, q, f.limit, f.offset);
  return { items: rows.map(toMembership), total };
}

export async function statusCounts(db: Db, organizationId: string): Promise<Record<MembershipStatus, number>> {
  const rows = await db('organization_memberships').where({ organization_id: organizationId }).groupBy('status').select<Array<{ status: MembershipStatus; n: string }>>('status', db.raw('count(*) as n'));
  const counts = { invited: 0, active: 0 };
  for (const r of rows) counts[r.status] = Number(r.n);
  return counts;
}

/**
 * Invitations by email become active memberships of the user who has that email now, and the user
 * joins the teams it was invited into (those that still exist).
 */
export async function activateInvitations(db: Db, user: User): Promise<void> {
  const invited = await db<MembershipRow>('organization_memberships').whereNull('user_id').whereRaw('lower(email) = lower(?)', [user.email]);
  for (const m of invited) {
    await db('organization_memberships').where({ id: m.id }).update({ user_id: user.id, status: 'active', invited_team_ids: [] });
    const teams = await db('teams').where({ organization_id: m.organization_id }).whereIn('id', m.invited_team_ids).pluck<string[]>('id');
    await addTeamMembers(db, teams, user.id);
  }
}

export async function deleteMembership(db: Db, id: string): Promise<void> {
  await db('organization_memberships').where({ id }).delete();
}

// ---------------------------------------------------------------- teams

export interface Team {
  id: string;
  organizationId: string;
  name: string;
  isOwners: boolean;
  visibility: 'secret' | 'organization';
  ssoTeamId: string | null;
  allowMemberTokenManagement: boolean;
  organizationAccess: OrganizationPermission[];
  createdAt: Date;
}

interface TeamRow {
  id: string;
  organization_id: string;
  name: string;
  is_owners: boolean;
  visibility: 'secret' | 'organization';
  sso_team_id: string | null;
  allow_member_token_management: boolean;
  organization_access: OrganizationPermission[];
  created_at: Date;
}

function toTeam(r: TeamRow): Team {
  return {
    id: r.id,
    organizationId: r.organization_id,
    name: r.name,
    isOwners: r.is_owners,
    visibility: r.visibility,
    ssoTeamId: r.sso_team_id,
    allowMemberTokenManagement: r.allow_member_token_management,
    organizationAccess: r.organization_access,
    createdAt: r.created_at,
  };
}

export type TeamChanges = Partial<Pick<Team, 'name' | 'visibility' | 'ssoTeamId' | 'allowMemberTokenManagement' | 'organizationAccess'>>;

function teamColumns(c: TeamChanges): Partial<TeamRow> {
  const row: Partial<TeamRow> = {};
  if (c.name !== undefined) row.name = c.name;
  if (c.visibility !== undefined) row.visibility = c.visibility;
  if (c.ssoTeamId !== undefined) row.sso_team_id = c.ssoTeamId;
  if (c.allowMemberTokenManagement !== undefined) row.allow_member_token_management = c.allowMemberTokenManagement;
  if (c.organizationAccess !== undefined) row.organization_access = c.organizationAccess;
  return row;
}

export async function insertTeam(db: Db, t: { id: string; organizationId: string; name: string; isOwners: boolean } & TeamChanges): Promise<Team> {
  const [row] = await db<TeamRow>('teams')
    .insert({ id: t.id, organization_id: t.organizationId, is_owners: t.isOwners, ...teamColumns(t) })
    .returning('*');
  return toTeam(row);
}

export async function updateTeam(db: Db, id: string, changes: TeamChanges): Promise<Team> {
  const columns = teamColumns(changes);
  if (Object.keys(columns).length === 0) return (await findTeam(db, id))!;
  const [row] = await db<TeamRow>('teams').where({ id }).update(columns).returning('*');
  return toTeam(row);
}

export async function findTeam(db: Db, id: string): Promise<Team | null> {
  const row = await db<TeamRow>('teams').where({ id }).first();
  return row ? toTeam(row) : null;
}

export async function ownersTeam(db: Db, organizationId: string): Promise<Team | null> {
  const row = await db<TeamRow>('teams').where({ organization_id: organizationId, is_owners: true }).first();
  return row ? toTeam(row) : null;
}

export interface TeamFilter {
  organizationId: string;
  search?: string;
  names?: string[];
  /** Secret teams are listed only when they are among these (null: all of them). */
  secretVisible: string[] | null;
  limit: number;
  offset: number;
}

export async function listTeams(db: Db, f: TeamFilter): Promise<{ items: Team[]; total: number }> {
  const q = db<TeamRow>('teams').select('*').where({ organization_id: f.organizationId }).orderBy('name');
  if (f.search) q.whereILike('name', `%${escapeLike(f.search)}%`);
  if (f.names) q.whereIn('name', f.names);
  if (f.secretVisible) {
    const visible = f.secretVisible;
    q.where((w) => w.where('visibility', 'organization').orWhereIn('id', visible));
  }
  const { rows, total } = await paged<TeamRow>(db, q, f.limit, f.offset);
  return { items: rows.map(toTeam), total };
}

export async function deleteTeam(db: Db, id: string): Promise<void> {
  await db('teams').where({ id }).delete();
}

/** Members of each of the teams, by username, in one query; a team without members is not in the map. */
export async function membersOfTeams(db: Db, teamIds: string[]): Promise<Map<string, User[]>> {
  const rows = await db('team_memberships as m')
    .join('users as u', 'u.id', 'm.user_id')
    .whereIn('m.team_id', teamIds)
    .orderBy('u.username')
    .select<Array<UserRow & { team_id: string }>>('u.*', 'm.team_id');
  const members = new Map<string, User[]>();
  for (const r of rows) {
    const list = members.get(r.team_id);
    if (list) list.push(toUser(r));
    else members.set(r.team_id, [toUser(r)]);
  }
  return members;
}

/** Members of the team, by username. */
export async function teamMembers(db: Db, teamId: string): Promise<User[]> {
  return (await membersOfTeams(db, [teamId])).get(teamId) ?? [];
}

/** Puts the user into the teams (those it is in already stay as they are). */
export async function addTeamMembers(db: Db, teamIds: string[], userId: string): Promise<void> {
  if (teamIds.length === 0) return;
  await db('team_memberships')
    .insert(teamIds.map((teamId) => ({ team_id: teamId, user_id: userId })))
    .onConflict(['team_id', 'user_id'])
    .ignore();
}

export async function removeTeamMembers(db: Db, teamId: string, userIds: string[]): Promise<void> {
  await db('team_memberships').where({ team_id: teamId }).whereIn('user_id', userIds).delete();
}

/** Takes the user out of every team of the organization (when the membership ends). */
export async function leaveTeams(db: Db, organizationId: string, userId: string): Promise<void> {
  await db('team_memberships').where({ user_id: userId }).whereIn('team_id', db('teams').select('id').where({ organization_id: organizationId })).delete();
}

/**
 * The ids of the teams each user is in, in the organization named with it, by team name, in one
 * query: for each (organization, user) pair, in the order given.
 */
export async function teamIdsOfUsers(db: Db, pairs: Array<{ organizationId: string; userId: string }>): Promise<string[][]> {
  if (pairs.length === 0) return [];
  const rows = await db('teams as t')
    .join('team_memberships as m', 'm.team_id', 't.id')
    .whereIn('t.organization_id', [...new Set(pairs.map((p) => p.organizationId))])
    .whereIn('m.user_id', [...new Set(pairs.map((p) => p.userId))])
    .orderBy('t.name')
    .select<Array<{ id: string; organization_id: string; user_id: string }>>('t.id', 't.organization_id', 'm.user_id');
  const byPair = new Map<string, string[]>();
  for (const r of rows) {
    const key = `${r.organization_id}/${r.user_id}`;
    byPair.set(key, [...(byPair.get(key) ?? []), r.id]);
  }
  return pairs.map((p) => byPair.get(`${p.organizationId}/${p.userId}`) ?? []);
}

/** Locks the owners team's row, so that concurrent removals cannot both leave it empty. */
export async function lockTeam(trx: Knex.Transaction, teamId: string): Promise<void> {
  await trx('teams').where({ id: teamId }).forUpdate().first('id');
}

// ---------------------------------------------------------------- team access to workspaces

export interface TeamAccess {
  id: string;
  teamId: string;
  workspaceId: string;
  access: AccessLevel;
  permissions: WorkspacePermissions;
  createdAt: Date;
}

interface TeamAccessRow {
  id: string;
  team_id: string;
  workspace_id: string;
  access: AccessLevel;
  runs: WorkspacePermissions['runs'];
  variables: WorkspacePermissions['variables'];
  state_versions: WorkspacePermissions['stateVersions'];
  sentinel_mocks: WorkspacePermissions['sentinelMocks'];
  workspace_locking: boolean;
  run_tasks: boolean;
  created_at: Date;
}

function toTeamAccess(r: TeamAccessRow): TeamAccess {
  return {
    id: r.id,
    teamId: r.team_id,
    workspaceId: r.workspace_id,
    access: r.access,
    permissions: {
      runs: r.runs,
      variables: r.variables,
      stateVersions: r.state_versions,
      sentinelMocks: r.sentinel_mocks,
      workspaceLocking: r.workspace_locking,
      runTasks: r.run_tasks,
    },
    createdAt: r.created_at,
  };
}

function accessColumns(access: AccessLevel, p: WorkspacePermissions) {
  return {
    access,
    runs: p.runs,
    variables: p.variables,
    state_versions: p.stateVersions,
    sentinel_mocks: p.sentinelMocks,
    workspace_locking: p.workspaceLocking,
    run_tasks: p.runTasks,
  };
}

export async function insertTeamAccess(
  db: Db,
  a: { id: string; teamId: string; workspaceId: string; access: AccessLevel; permissions: WorkspacePermissions },
): Promise<TeamAccess> {
  const [row] = await db<TeamAccessRow>('team_workspaces')
    .insert({ id: a.id, team_id: a.teamId, workspace_id: a.workspaceId, ...accessColumns(a.access, a.permissions) })
    .returning('*');
  return toTeamAccess(row);
}

export async function updateTeamAccess(db: Db, id: string, access: AccessLevel, permissions: WorkspacePermissions): Promise<TeamAccess> {
  const [row] = await db<TeamAccessRow>('team_workspaces').where({ id }).update(accessColumns(access, permissions)).returning('*');
  return toTeamAccess(row);
}

export async function findTeamAccess(db: Db, id: string): Promise<TeamAccess | null> {
  const row = await db<TeamAccessRow>('team_workspaces').where({ id }).first();
  return row ? toTeamAccess(row) : null;
}

export async function listTeamAccess(db: Db, workspaceId: string, limit: number, offset: number): Promise<{ items: TeamAccess[]; total: number }> {
  const q = db<TeamAccessRow>('team_workspaces').select('*').where({ workspace_id: workspaceId }).orderBy('created_at').orderBy('id');
  const { rows, total } = await paged<TeamAccessRow>(db, q, limit, offset);
  return { items: rows.map(toTeamAccess), total };
}

export async function deleteTeamAccess(db: Db, id: string): Promise<void> {
  await db('team_workspaces').where({ id }).delete();
}

// ---------------------------------------------------------------- grants

/** One row of the grants query: a team of the subject, with one of its workspace grants (or none). */
interface GrantRow {
  organization_id: string;
  team_id: string | null;
  is_owners: boolean | null;
  organization_access: OrganizationPermission[] | null;
  workspace_id: string | null;
  access: AccessLevel | null;
  runs: WorkspacePermissions['runs'] | null;
  variables: WorkspacePermissions['variables'] | null;
  state_versions: WorkspacePermissions['stateVersions'] | null;
  sentinel_mocks: WorkspacePermissions['sentinelMocks'] | null;
  workspace_locking: boolean | null;
  run_tasks: boolean | null;
}

const GRANT_COLUMNS = [
  't.id as team_id',
  't.is_owners',
  't.organization_access',
  'tw.workspace_id',
  'tw.access',
  'tw.runs',
  'tw.variables',
  'tw.state_versions',
  'tw.sentinel_mocks',
  'tw.workspace_locking',
  'tw.run_tasks',
];

/** Folds grant rows into what they allow together, per organization. */
function foldGrants(rows: GrantRow[]): Map<string, OrganizationGrants> {
  const byOrg = new Map<string, { owner: boolean; access: Set<OrganizationPermission>; workspaces: Map<string, WorkspaceAccess>; teams: string[] }>();
  for (const r of rows) {
    let g = byOrg.get(r.organization_id);
    if (!g) byOrg.set(r.organization_id, (g = { owner: false, access: new Set(), workspaces: new Map(), teams: [] }));
    if (r.team_id === null) continue;
    if (!g.teams.includes(r.team_id)) {
      g.teams.push(r.team_id);
      g.owner ||= r.is_owners === true;
      for (const p of r.organization_access ?? []) g.access.add(p);
    }
    if (r.workspace_id === null) continue;
    const permissions: WorkspacePermissions = {
      runs: r.runs!,
      variables: r.variables!,
      stateVersions: r.state_versions!,
      sentinelMocks: r.sentinel_mocks!,
      workspaceLocking: r.workspace_locking!,
      runTasks: r.run_tasks!,
    };
    g.workspaces.set(r.workspace_id, unionAccess(g.workspaces.get(r.workspace_id), accessOf(r.access!, permissions)));
  }
  return byOrg;
}
