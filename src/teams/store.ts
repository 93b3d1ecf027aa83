// Tables of the teams domain: organization memberships (who is in an organization, or invited),
// teams with their members, tokens and organization access, and team access to workspaces and
// to projects.
// Users themselves are the users domain's; the query that gathers what a token holds is
// src/auth/grants.ts.
import type { Knex } from 'knex';
import type { AccessLevel, OrganizationPermission, ProjectAccessLevel, ProjectPermissions, WorkspacePermissions } from '../auth/access.js';
import type { Principal } from '../auth/subject.js';
import { escapeLike, paged, type Db } from '../db/index.js';

// ---------------------------------------------------------------- team tokens

export interface Token {
  id: string;
  description: string | null;
  expiredAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
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

interface TeamTokenRow extends TokenRow {
  team_id: string;
  created_by_type: Principal['type'] | null;
  created_by_id: string | null;
}

function toToken(r: TokenRow): Token {
  return { id: r.id, description: r.description, expiredAt: r.expired_at, lastUsedAt: r.last_used_at, createdAt: r.created_at };
}

function toTeamToken(r: TeamTokenRow): TeamToken {
  const createdBy = r.created_by_type && r.created_by_id ? { type: r.created_by_type, id: r.created_by_id, name: r.created_by_id } : null;
  return { ...toToken(r), teamId: r.team_id, createdBy };
}

export async function touchTeamToken(db: Db, id: string): Promise<void> {
  await db('team_tokens').where({ id }).update({ last_used_at: db.fn.now() });
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
  // Users' names are read (never written) here, for the search only.
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
export async function activateInvitations(db: Db, user: { id: string; email: string }): Promise<void> {
  // Invitations name the invited user the user took over; those made before invited users existed name none.
  const invited = await db<MembershipRow>('organization_memberships')
    .where({ status: 'invited' })
    .where((w) => w.where({ user_id: user.id }).orWhere((n) => n.whereNull('user_id').whereRaw('lower(email) = lower(?)', [user.email])));
  for (const m of invited) {
    await db('organization_memberships').where({ id: m.id }).update({ user_id: user.id, status: 'active', invited_team_ids: [] });
    const teams = await db('teams').where({ organization_id: m.organization_id }).whereIn('id', m.invited_team_ids).pluck<string[]>('id');
    await addTeamMembers(db, teams, user.id);
  }
}

/** Whether two users share an organization (then each may look the other up). */
export async function shareAnOrganization(db: Db, a: string, b: string): Promise<boolean> {
  const row = await db('organization_memberships as x')
    .join('organization_memberships as y', 'x.organization_id', 'y.organization_id')
    .where({ 'x.user_id': a, 'y.user_id': b })
    .first('x.id');
  return row !== undefined;
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

export async function findTeams(db: Db, ids: string[]): Promise<Team[]> {
  const rows = await db<TeamRow>('teams').whereIn('id', [...new Set(ids)]);
  return rows.map(toTeam);
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

/** The ids of the members of each of the teams, in one query; a team without members is not in the map. */
export async function memberIdsOfTeams(db: Db, teamIds: string[]): Promise<Map<string, string[]>> {
  const rows = await db('team_memberships').whereIn('team_id', teamIds).select<Array<{ team_id: string; user_id: string }>>('team_id', 'user_id');
  const members = new Map<string, string[]>();
  for (const r of rows) {
    const list = members.get(r.team_id);
    if (list) list.push(r.user_id);
    else members.set(r.team_id, [r.user_id]);
  }
  return members;
}

/**
 * Invitations join a team (or leave it): the team is added to, or taken from, the teams each
 * invited membership joins once its user exists. Active memberships are left alone.
 */
export async function inviteIntoTeam(db: Db, membershipIds: string[], teamId: string): Promise<void> {
  await db('organization_memberships')
    .whereIn('id', membershipIds)
    .where({ status: 'invited' })
    .whereRaw('NOT (? = ANY(invited_team_ids))', [teamId])
    .update({ invited_team_ids: db.raw('array_append(invited_team_ids, ?)', [teamId]) });
}

export async function uninviteFromTeam(db: Db, membershipIds: string[], teamId: string): Promise<void> {
  await db('organization_memberships')
    .whereIn('id', membershipIds)
    .where({ status: 'invited' })
    .update({ invited_team_ids: db.raw('array_remove(invited_team_ids, ?)', [teamId]) });
}

/** The memberships of each of the teams, in one query: of its members, and the invitations into it. */
export async function membershipIdsOfTeams(db: Db, teamIds: string[]): Promise<Map<string, string[]>> {
  const rows = await db
    .select<Array<{ team_id: string; id: string }>>('x.team_id', 'x.id')
    .from(
      db.raw(
        `(SELECT tm.team_id, m.id, m.created_at FROM team_memberships tm
            JOIN teams t ON t.id = tm.team_id
            JOIN organization_memberships m ON m.user_id = tm.user_id AND m.organization_id = t.organization_id AND m.status = 'active'
           WHERE tm.team_id = ANY(?)
          UNION ALL
          SELECT t.id, m.id, m.created_at FROM organization_memberships m
            JOIN teams t ON t.id = ANY(m.invited_team_ids) AND t.organization_id = m.organization_id
           WHERE m.status = 'invited' AND t.id = ANY(?)) AS x`,
        [teamIds, teamIds],
      ),
    )
    .orderBy('x.created_at')
    .orderBy('x.id');
  const out = new Map<string, string[]>();
  for (const r of rows) out.set(r.team_id, [...(out.get(r.team_id) ?? []), r.id]);
  return out;
}

export async function findMemberships(db: Db, ids: string[]): Promise<Membership[]> {
  const rows = await db<MembershipRow>('organization_memberships').whereIn('id', [...new Set(ids)]);
  return rows.map(toMembership);
}

/** The ids of the team's members. */
export async function teamMemberIds(db: Db, teamId: string): Promise<string[]> {
  return (await memberIdsOfTeams(db, [teamId])).get(teamId) ?? [];
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

// ---------------------------------------------------------------- team access to projects

export interface ProjectAccess {
  id: string;
  teamId: string;
  projectId: string;
  access: ProjectAccessLevel;
  permissions: ProjectPermissions;
  createdAt: Date;
}

interface ProjectAccessRow {
  id: string;
  team_id: string;
  project_id: string;
  access: ProjectAccessLevel;
  settings: ProjectPermissions['settings'];
  teams: ProjectPermissions['teams'];
  runs: WorkspacePermissions['runs'];
  variables: WorkspacePermissions['variables'];
  state_versions: WorkspacePermissions['stateVersions'];
  sentinel_mocks: WorkspacePermissions['sentinelMocks'];
  workspace_locking: boolean;
  run_tasks: boolean;
  create_workspaces: boolean;
  move_workspaces: boolean;
  delete_workspaces: boolean;
  created_at: Date;
}

function toProjectAccess(r: ProjectAccessRow): ProjectAccess {
  return {
    id: r.id,
    teamId: r.team_id,
    projectId: r.project_id,
    access: r.access,
    permissions: {
      settings: r.settings,
      teams: r.teams,
      workspaces: {
        runs: r.runs,
        variables: r.variables,
        stateVersions: r.state_versions,
        sentinelMocks: r.sentinel_mocks,
        workspaceLocking: r.workspace_locking,
        runTasks: r.run_tasks,
      },
      create: r.create_workspaces,
      move: r.move_workspaces,
      delete: r.delete_workspaces,
    },
    createdAt: r.created_at,
  };
}

function projectAccessColumns(access: ProjectAccessLevel, p: ProjectPermissions) {
  return {
    access,
    settings: p.settings,
    teams: p.teams,
    runs: p.workspaces.runs,
    variables: p.workspaces.variables,
    state_versions: p.workspaces.stateVersions,
    sentinel_mocks: p.workspaces.sentinelMocks,
    workspace_locking: p.workspaces.workspaceLocking,
    run_tasks: p.workspaces.runTasks,
    create_workspaces: p.create,
    move_workspaces: p.move,
    delete_workspaces: p.delete,
  };
}

export async function insertProjectAccess(
  db: Db,
  a: { id: string; teamId: string; projectId: string; access: ProjectAccessLevel; permissions: ProjectPermissions },
): Promise<ProjectAccess> {
  const [row] = await db<ProjectAccessRow>('team_projects')
    .insert({ id: a.id, team_id: a.teamId, project_id: a.projectId, ...projectAccessColumns(a.access, a.permissions) })
    .returning('*');
  return toProjectAccess(row);
}

export async function updateProjectAccess(db: Db, id: string, access: ProjectAccessLevel, permissions: ProjectPermissions): Promise<ProjectAccess> {
  const [row] = await db<ProjectAccessRow>('team_projects').where({ id }).update(projectAccessColumns(access, permissions)).returning('*');
  return toProjectAccess(row);
}

export async function findProjectAccess(db: Db, id: string): Promise<ProjectAccess | null> {
  const row = await db<ProjectAccessRow>('team_projects').where({ id }).first();
  return row ? toProjectAccess(row) : null;
}

/** Every grant on the project, oldest first (a project has one per team at most). */
export async function listProjectAccess(db: Db, projectId: string): Promise<ProjectAccess[]> {
  const rows = await db<ProjectAccessRow>('team_projects').select('*').where({ project_id: projectId }).orderBy('created_at').orderBy('id');
  return rows.map(toProjectAccess);
}

export async function deleteProjectAccess(db: Db, id: string): Promise<void> {
  await db('team_projects').where({ id }).delete();
}

// ---------------------------------------------------------------- memberships single sign-on made

/** The teams named by (organization name, team name) pairs that exist. */
export async function teamsByOrganizationAndName(db: Db, pairs: Array<{ organization: string; team: string }>): Promise<Team[]> {
  if (pairs.length === 0) return [];
  const rows = await db<TeamRow>('teams as t')
    .join('organizations as o', 'o.id', 't.organization_id')
    .whereIn(['o.name', 't.name'], pairs.map((p) => [p.organization, p.team]))
    .select('t.*');
  return rows.map(toTeam);
}

/** The teams single sign-on made the user a member of. */
export async function ssoTeamIds(db: Db, userId: string): Promise<string[]> {
  const rows = await db('sso_team_memberships').where({ user_id: userId }).select<Array<{ team_id: string }>>('team_id');
  return rows.map((r) => r.team_id);
}

export async function recordSsoTeam(db: Db, userId: string, teamId: string): Promise<void> {
  await db('sso_team_memberships').insert({ user_id: userId, team_id: teamId }).onConflict(['user_id', 'team_id']).ignore();
}

export async function forgetSsoTeam(db: Db, userId: string, teamId: string): Promise<void> {
  await db('sso_team_memberships').where({ user_id: userId, team_id: teamId }).delete();
}

/** The organizations single sign-on made the user a member of. */
export async function ssoOrganizationIds(db: Db, userId: string): Promise<string[]> {
  const rows = await db('sso_organization_memberships').where({ user_id: userId }).select<Array<{ organization_id: string }>>('organization_id');
  return rows.map((r) => r.organization_id);
}

export async function recordSsoOrganization(db: Db, userId: string, organizationId: string): Promise<void> {
  await db('sso_organization_memberships').insert({ user_id: userId, organization_id: organizationId }).onConflict(['user_id', 'organization_id']).ignore();
}

export async function forgetSsoOrganization(db: Db, userId: string, organizationId: string): Promise<void> {
  await db('sso_organization_memberships').where({ user_id: userId, organization_id: organizationId }).delete();
}

/** Whether the user is in a team of the organization. */
export async function inATeamOf(db: Db, organizationId: string, userId: string): Promise<boolean> {
  const row = await db('team_memberships as m').join('teams as t', 't.id', 'm.team_id').where({ 't.organization_id': organizationId, 'm.user_id': userId }).first('m.team_id');
  return row !== undefined;
}
