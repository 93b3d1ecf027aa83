// What a user token or a team token holds: the query that gathers a caller's rights from the
// users domain's tables (users, user tokens) and the teams domain's (organization memberships,
// teams, team members, team tokens, workspace grants, project grants), folded into a Subject.
//
// It lives here, below both domains, because a user's rights come from its teams and a team's
// members are users: in either domain it would make the two call each other. It only reads; each
// domain's store still makes every write to its own tables. One query per token: a request by a
// user or team token costs one round trip to authenticate.
import type { Knex } from 'knex';
import type { Db } from '../db/index.js';
import {
  accessOf,
  projectGrantOf,
  unionAccess,
  unionProjectGrant,
  type AccessLevel,
  type OrganizationPermission,
  type ProjectAccessLevel,
  type ProjectGrant,
  type ProjectPermissions,
  type WorkspaceAccess,
  type WorkspacePermissions,
} from './access.js';
import type { TokenSubject } from './cache.js';
import type { OrganizationGrants, Subject } from './subject.js';

/** The subject of the user token with this id, with what checking the token needs; null when there is no such token. */
export async function userTokenSubject(db: Db, id: string): Promise<TokenSubject | null> {
  const rows = await joinGrants(db, db('user_tokens as ut').join('users as u', 'u.id', 'ut.user_id'))
    .where('ut.id', id)
    .select<Array<UserGrantRow & TokenColumns>>('u.id as user_id', 'ut.secret_hash', 'ut.expired_at', ...USER_GRANT_COLUMNS, ...GRANT_COLUMNS);
  if (rows.length === 0) return null;
  return { subject: userSubjectOf(rows), secretHash: rows[0].secret_hash, expiredAt: rows[0].expired_at };
}

/** The user's subject as its tokens would have it now (work done on its behalf later); null when there is no such user. */
export async function userSubject(db: Db, userId: string): Promise<Subject | null> {
  const rows = await joinGrants(db, db('users as u'))
    .where('u.id', userId)
    .select<UserGrantRow[]>('u.id as user_id', ...USER_GRANT_COLUMNS, ...GRANT_COLUMNS);
  return rows.length === 0 ? null : userSubjectOf(rows);
}

/** The subject of the team token with this id, with what checking the token needs; null when there is no such token. */
export async function teamTokenSubject(db: Db, id: string): Promise<TokenSubject | null> {
  const rows = await db('team_tokens as tt')
    .join('teams as t', 't.id', 'tt.team_id')
    .leftJoin(grantsOfTeams(db), 'tw.team_id', 't.id')
    .where('tt.id', id)
    .select<Array<GrantRow & TokenColumns & { team_name: string }>>('tt.secret_hash', 'tt.expired_at', 't.name as team_name', 't.organization_id', ...GRANT_COLUMNS);
  if (rows.length === 0) return null;
  return { subject: teamSubjectOf(id, rows), secretHash: rows[0].secret_hash, expiredAt: rows[0].expired_at };
}

/** The team's subject as its tokens would have it now; null when there is no such team. */
export async function teamSubject(db: Db, teamId: string): Promise<Subject | null> {
  const rows = await db('teams as t')
    .leftJoin(grantsOfTeams(db), 'tw.team_id', 't.id')
    .where('t.id', teamId)
    .select<Array<GrantRow & { team_name: string }>>('t.name as team_name', 't.organization_id', ...GRANT_COLUMNS);
  return rows.length === 0 ? null : teamSubjectOf('', rows);
}

interface TokenColumns {
  secret_hash: Buffer;
  expired_at: Date | null;
}

/** A user (`u`) joined to what it holds: one row per team grant in each organization, or one row with no organization. */
function joinGrants(db: Db, q: Knex.QueryBuilder): Knex.QueryBuilder {
  return q
    .leftJoin('organization_memberships as m', (j) => j.on('m.user_id', 'u.id').andOnVal('m.status', '=', 'active'))
    .leftJoin('team_memberships as tm', 'tm.user_id', 'm.user_id')
    .leftJoin('teams as t', (j) => j.on('t.id', 'tm.team_id').andOn('t.organization_id', 'm.organization_id'))
    .leftJoin(grantsOfTeams(db), 'tw.team_id', 't.id');
}

/**
 * Every grant of every team (`tw`), one row each: a grant on a workspace (project_id null), or a
 * grant on a project once with each of the project's workspaces (a project without workspaces
 * still has its row, with workspace_id null). Joined on team_id, PostgreSQL reads only the rows of
 * the teams asked for.
 *
 * A project's grant is so expanded to its workspaces when the token is checked, for the actions
 * that name a workspace but not its project; a workspace created in, or moved out of, the project
 * afterwards changes what the grant covers: the workspaces table announces it like a change to a
 * grant (migration 0019), and actions through src/workspaces/ name the workspace's project anyway.
 */
function grantsOfTeams(db: Db): Knex.Raw {
  return db.raw(`(
    SELECT team_id, workspace_id, NULL::text AS project_id, access, runs, variables, state_versions, sentinel_mocks, workspace_locking, run_tasks,
           NULL::text AS settings, NULL::text AS teams, NULL::boolean AS create_workspaces, NULL::boolean AS move_workspaces, NULL::boolean AS delete_workspaces
      FROM team_workspaces
    UNION ALL
    SELECT tp.team_id, w.id, tp.project_id, tp.access, tp.runs, tp.variables, tp.state_versions, tp.sentinel_mocks, tp.workspace_locking, tp.run_tasks,
           tp.settings, tp.teams, tp.create_workspaces, tp.move_workspaces, tp.delete_workspaces
      FROM team_projects tp LEFT JOIN workspaces w ON w.project_id = tp.project_id
  ) AS tw`);
}

type UserGrantRow = { user_id: string; username: string } & Omit<GrantRow, 'organization_id'> & { organization_id: string | null };

const USER_GRANT_COLUMNS = ['u.username', 'm.organization_id'];

function userSubjectOf(rows: UserGrantRow[]): Subject {
  const row = rows[0];
  // A user in no organization has one row, with no organization.
  const organizations = foldGrants(rows.filter((r): r is typeof r & GrantRow => r.organization_id !== null));
  return { kind: 'user', userId: row.user_id, username: row.username, organizations };
}

function teamSubjectOf(tokenId: string, rows: Array<GrantRow & { team_name: string }>): Subject {
  const row = rows[0];
  const grants = foldGrants(rows).get(row.organization_id)!;
  return { kind: 'team', tokenId, teamId: row.team_id!, teamName: row.team_name, organizationId: row.organization_id, grants };
}

/** One row of the grants query: a team of the subject, with one of its workspace or project grants (or none). */
interface GrantRow {
  organization_id: string;
  team_id: string | null;
  is_owners: boolean | null;
  organization_access: OrganizationPermission[] | null;
  workspace_id: string | null;
  project_id: string | null;
  access: AccessLevel | ProjectAccessLevel | null;
  runs: WorkspacePermissions['runs'] | null;
  variables: WorkspacePermissions['variables'] | null;
  state_versions: WorkspacePermissions['stateVersions'] | null;
  sentinel_mocks: WorkspacePermissions['sentinelMocks'] | null;
  workspace_locking: boolean | null;
  run_tasks: boolean | null;
  settings: ProjectPermissions['settings'] | null;
  teams: ProjectPermissions['teams'] | null;
  create_workspaces: boolean | null;
  move_workspaces: boolean | null;
  delete_workspaces: boolean | null;
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
  'tw.project_id',
  'tw.settings',
  'tw.teams',
  'tw.create_workspaces',
  'tw.move_workspaces',
  'tw.delete_workspaces',
];

/** Folds grant rows into what they allow together, per organization. */
function foldGrants(rows: GrantRow[]): Map<string, OrganizationGrants> {
  const byOrg = new Map<
    string,
    { owner: boolean; access: Set<OrganizationPermission>; workspaces: Map<string, WorkspaceAccess>; projects: Map<string, ProjectGrant>; teams: string[] }
  >();
  for (const r of rows) {
    let g = byOrg.get(r.organization_id);
    if (!g) byOrg.set(r.organization_id, (g = { owner: false, access: new Set(), workspaces: new Map(), projects: new Map(), teams: [] }));
    if (r.team_id === null) continue;
    if (!g.teams.includes(r.team_id)) {
      g.teams.push(r.team_id);
      g.owner ||= r.is_owners === true;
      for (const p of r.organization_access ?? []) g.access.add(p);
    }
    if (r.workspace_id === null && r.project_id === null) continue;
    const permissions: WorkspacePermissions = {
      runs: r.runs!,
      variables: r.variables!,
      stateVersions: r.state_versions!,
      sentinelMocks: r.sentinel_mocks!,
      workspaceLocking: r.workspace_locking!,
      runTasks: r.run_tasks!,
    };
    let access: WorkspaceAccess;
    if (r.project_id === null) {
      access = accessOf(r.access as AccessLevel, permissions);
    } else {
      const project = projectGrantOf(r.access as ProjectAccessLevel, {
        settings: r.settings!,
        teams: r.teams!,
        workspaces: permissions,
        create: r.create_workspaces!,
        move: r.move_workspaces!,
        delete: r.delete_workspaces!,
      });
      g.projects.set(r.project_id, unionProjectGrant(g.projects.get(r.project_id), project));
      access = project.workspace;
    }
    if (r.workspace_id !== null) g.workspaces.set(r.workspace_id, unionAccess(g.workspaces.get(r.workspace_id), access));
  }
  return byOrg;
}
