// How teams, organization memberships and team access (to workspaces and projects) look in the API.
import { ORGANIZATION_PERMISSIONS } from '../auth/access.js';
import { isAllowed, isOwner, missingPermission } from '../auth/authorize.js';
import type { Subject } from '../auth/subject.js';
import { timestamp, type ResourceType, type View } from '../api/jsonapi.js';
import type { Organization } from '../orgs/index.js';
import type { Membership } from './memberships.js';
import type { ProjectAccess, Team, TeamAccess } from './service.js';

export const teamType: ResourceType = {
  type: 'teams',
  attributes: ['name', 'users-count', 'visibility', 'sso-team-id', 'allow-member-token-management', 'organization-access', 'permissions', 'is-unified'],
  relationships: { organization: 'organizations', users: 'users', 'organization-memberships': 'organization-memberships' },
  selfLink: (v) => `/api/v2/teams/${v.id}`,
};

export const membershipType: ResourceType = {
  type: 'organization-memberships',
  attributes: ['status', 'email', 'created-at'],
  relationships: { user: 'users', organization: 'organizations', teams: 'teams' },
  selfLink: (v) => `/api/v2/organization-memberships/${v.id}`,
};

export const teamAccessType: ResourceType = {
  type: 'team-workspaces',
  attributes: ['access', 'runs', 'variables', 'state-versions', 'sentinel-mocks', 'workspace-locking', 'run-tasks'],
  relationships: { team: 'teams', workspace: 'workspaces' },
  selfLink: (v) => `/api/v2/team-workspaces/${v.id}`,
};

export const teamProjectAccessType: ResourceType = {
  type: 'team-projects',
  attributes: ['access', 'project-access', 'workspace-access'],
  relationships: { team: 'teams', project: 'projects' },
  selfLink: (v) => `/api/v2/team-projects/${v.id}`,
};

export function presentTeam(team: Team, org: Organization, memberIds: string[], membershipIds: string[], subject: Subject): View {
  const scope = { organizationId: org.id };
  const access: Record<string, boolean> = {};
  for (const p of ORGANIZATION_PERMISSIONS) access[p] = team.isOwners || team.organizationAccess.includes(p);
  const manage = isAllowed(subject, 'team:manage', scope);
  // As TeamService decides: the owners team is changed by owners only, a team's permissions are
  // handed out (members, tokens) only by who holds them, and only users mint team tokens.
  const changeable = !team.isOwners || isOwner(subject, org.id);
  const notStronger = missingPermission(subject, org.id, team.organizationAccess) === null;
  const mintsTokens = subject.kind === 'user' || subject.kind === 'site-admin';
  return {
    id: team.id,
    name: team.name,
    'users-count': memberIds.length,
    visibility: team.visibility,
    'sso-team-id': team.ssoTeamId,
    'allow-member-token-management': team.allowMemberTokenManagement,
    'organization-access': access,
    permissions: {
      'can-update-membership': isAllowed(subject, 'team:manage-membership', scope) && changeable && notStronger,
      'can-destroy': manage && !team.isOwners,
      'can-update-organization-access': isAllowed(subject, 'team:manage-organization-access', scope) && !team.isOwners,
      'can-update-api-token': manage && changeable && notStronger && mintsTokens,
      'can-update-visibility': manage && changeable,
    },
    'is-unified': false,
    organization: { id: org.name },
    users: memberIds.map((id) => ({ id })),
    'organization-memberships': membershipIds.map((id) => ({ id })),
  };
}

export function presentMembership(m: Membership, org: Organization, teamIds: string[]): View {
  return {
    id: m.id,
    status: m.status,
    email: m.email,
    'created-at': timestamp(m.createdAt),
    user: m.userId ? { id: m.userId } : null,
    organization: { id: org.name },
    teams: teamIds.map((id) => ({ id })),
  };
}

export function presentTeamAccess(a: TeamAccess): View {
  return {
    id: a.id,
    access: a.access,
    runs: a.permissions.runs,
    variables: a.permissions.variables,
    'state-versions': a.permissions.stateVersions,
    'sentinel-mocks': a.permissions.sentinelMocks,
    'workspace-locking': a.permissions.workspaceLocking,
    'run-tasks': a.permissions.runTasks,
    team: { id: a.teamId },
    workspace: { id: a.workspaceId },
  };
}

export function presentProjectAccess(a: ProjectAccess): View {
  const p = a.permissions;
  return {
    id: a.id,
    access: a.access,
    'project-access': { settings: p.settings, teams: p.teams },
    'workspace-access': {
      runs: p.workspaces.runs,
      'sentinel-mocks': p.workspaces.sentinelMocks,
      'state-versions': p.workspaces.stateVersions,
      variables: p.workspaces.variables,
      create: p.create,
      locking: p.workspaces.workspaceLocking,
      move: p.move,
      delete: p.delete,
      'run-tasks': p.workspaces.runTasks,
    },
    team: { id: a.teamId },
    project: { id: a.projectId },
  };
}
