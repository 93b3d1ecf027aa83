// Authorization, decided in one place. Services call authorize() before acting; the permission
// blocks of API resources are computed from the same rules (isAllowed).
//
// Whoever cannot see an organization, or a workspace in it, gets 404 for it, as if it did not
// exist; whoever can see it but may not act gets 403 naming what is missing.
import { ForbiddenError, NotFoundError } from '../errors.js';
import {
  ADMIN_ACCESS,
  PROJECT_SETTINGS,
  READ_ACCESS,
  RUNS,
  STATE_VERSIONS,
  VARIABLES,
  atLeast,
  unionAccess,
  type OrganizationPermission,
  type ProjectGrant,
  type WorkspaceAccess,
} from './access.js';
import type { OrganizationGrants, Subject } from './subject.js';

/** Actions on an organization and what belongs to it as a whole. */
export type OrganizationAction =
  | 'organization:read'
  | 'organization:update'
  | 'organization:delete'
  | 'organization:manage-token'
  | 'project:read'
  | 'project:create'
  | 'project:update'
  | 'project:delete'
  | 'project:read-team-access'
  | 'project:manage-team-access'
  | 'tag:read'
  | 'tag:manage'
  | 'workspace:create'
  | 'workspace:move'
  | 'pool:read'
  | 'pool:manage'
  | 'team:read'
  | 'team:manage'
  | 'team:manage-organization-access'
  | 'team:manage-membership'
  | 'membership:read'
  | 'membership:manage'
  | 'ssh-key:read'
  | 'ssh-key:manage'
  | 'vcs-provider:read'
  | 'vcs-provider:manage'
  | 'varset:read'
  | 'varset:manage'
  | 'run-task:manage'
  | 'retention:read'
  | 'retention:manage'
  | 'audit-trail:read';

/** Actions on one workspace and what belongs to it (runs, variables, state). */
export type WorkspaceAction =
  | 'workspace:read'
  | 'workspace:update'
  | 'workspace:delete'
  | 'workspace:lock'
  | 'workspace:unlock'
  | 'workspace:force-unlock'
  | 'workspace:manage-tags'
  | 'workspace:manage-team-access'
  | 'workspace:manage-run-tasks'
  | 'workspace:manage-vcs'
  | 'run:read'
  | 'run:queue'
  | 'run:apply'
  | 'run:cancel'
  | 'run:force-cancel'
  | 'run:force-end'
  | 'run:comment'
  | 'plan:read-json-output'
  | 'run-trigger:read'
  | 'run-trigger:manage'
  | 'variable:read'
  | 'variable:update'
  | 'state:read'
  | 'state:read-outputs'
  | 'state:create'
  | 'state:rollback'
  | 'notification:read'
  | 'notification:manage';

export type Action = OrganizationAction | WorkspaceAction;

/** What an action is about: an organization, and within it perhaps one project, or one workspace (and its project). */
export interface Scope {
  organizationId: string;
  /** The project acted on, or the workspace's project (src/workspaces/ names it; other callers may not). */
  projectId?: string;
  workspaceId?: string;
  /** Workspaces whose runs may read this workspace's state: everyone, or those named. */
  stateReaders?: 'everyone' | string[];
  /** For reads of state: the workspace's current version, or its history (older versions, lists). */
  stateVersion?: 'current' | 'history';
}

/**
 * Who may take each organization action besides owners: every member ('member'), or teams holding
 * one of the organization permissions listed ([] for owners only).
 */
const ORGANIZATION_RULES: Record<OrganizationAction, 'member' | OrganizationPermission[]> = {
  'organization:read': 'member',
  'organization:update': [],
  'organization:delete': [],
  'organization:manage-token': [],
  'project:read': 'member',
  'project:create': ['manage-projects'],
  'project:update': ['manage-projects'],
  'project:delete': ['manage-projects'],
  'project:read-team-access': 'member',
  'project:manage-team-access': ['manage-projects'],
  'tag:read': 'member',
  'tag:manage': ['manage-workspaces'],
  'workspace:create': ['manage-workspaces'],
  'workspace:move': ['manage-workspaces'],
  'pool:read': 'member',
  'pool:manage': ['manage-agent-pools'],
  'team:read': 'member',
  'team:manage': ['manage-teams', 'manage-organization-access'],
  'team:manage-organization-access': ['manage-organization-access'],
  'team:manage-membership': ['manage-membership', 'manage-teams', 'manage-organization-access'],
  'membership:read': 'member',
  'membership:manage': ['manage-membership', 'manage-teams', 'manage-organization-access'],
  'ssh-key:read': ['manage-vcs-settings'],
  'ssh-key:manage': ['manage-vcs-settings'],
  'vcs-provider:read': ['manage-vcs-settings'],
  'vcs-provider:manage': ['manage-vcs-settings'],
  // Creating or changing variable sets needs manage-workspaces; reading them, see IN_SOME_WORKSPACE.
  'varset:read': [],
  'varset:manage': ['manage-workspaces'],
  'run-task:manage': ['manage-run-tasks'],
  // Data retention policies delete history: owners only, reading included, as in Terraform Cloud.
  'retention:read': [],
  'retention:manage': [],
  // The audit trail names every member's doings and addresses: owners (and the organization token) only.
  'audit-trail:read': [],
};

/**
 * Organization actions also allowed to whoever may take a workspace action in at least one of the
 * organization's workspaces, as Terraform Cloud has it: workspace admins list and read SSH keys, so
 * that they can choose one; the "read variables" permission on a workspace shows the organization's
 * variable sets.
 */
const IN_SOME_WORKSPACE: Partial<Record<OrganizationAction, WorkspaceAction>> = {
  'ssh-key:read': 'workspace:update',
  // Workspace admins connect their workspace to a repository through one of the organization's VCS providers.
  'vcs-provider:read': 'workspace:update',
  'varset:read': 'variable:read',
};

/**
 * Organization actions that a grant on the project of the scope allows too (besides the
 * organization permissions above): Terraform Cloud's project settings and teams permissions, and
 * creating workspaces in the project.
 */
const PROJECT_RULES: Partial<Record<OrganizationAction, (p: ProjectGrant) => boolean>> = {
  'project:update': (p) => atLeast(PROJECT_SETTINGS, p.permissions.settings, 'update'),
  'project:delete': (p) => p.permissions.settings === 'delete',
  'project:manage-team-access': (p) => p.permissions.teams === 'manage',
  'workspace:create': (p) => p.permissions.create,
  'workspace:move': (p) => p.permissions.move,
};

/** What each workspace action needs of the access a subject has to the workspace. */
const WORKSPACE_RULES: Record<WorkspaceAction, (a: WorkspaceAccess) => boolean> = {
  'workspace:read': () => true,
  'workspace:update': (a) => a.admin,
  'workspace:delete': (a) => a.admin || a.delete,
  'workspace:lock': (a) => a.workspaceLocking,
  'workspace:unlock': (a) => a.workspaceLocking,
  'workspace:force-unlock': (a) => a.admin,
  'workspace:manage-tags': (a) => a.admin || a.runs === 'apply',
  'workspace:manage-team-access': (a) => a.admin,
  'workspace:manage-run-tasks': (a) => a.runTasks,
  // Terraform Cloud: a workspace's VCS settings are its settings (admin access). manage-vcs-settings
  // is about the organization's providers and SSH keys, not about which workspace uses them.
  'workspace:manage-vcs': (a) => a.admin,
  'run:read': () => true,
  'run:queue': (a) => atLeast(RUNS, a.runs, 'plan'),
  'run:apply': (a) => a.runs === 'apply',
  'run:cancel': (a) => a.runs === 'apply',
  'run:force-cancel': (a) => a.admin,
  // Owners only (and the site administrator), who pass before any rule: no workspace access allows it.
  'run:force-end': () => false,
  // Terraform Cloud lets whoever may read a run comment on it (its runs' can-comment).
  'run:comment': () => true,
  'plan:read-json-output': (a) => a.admin,
  // As Terraform Cloud: run triggers are the target workspace's settings (creating one also needs
  // the right to read the source's runs, checked by the service).
  'run-trigger:read': (a) => a.admin,
  'run-trigger:manage': (a) => a.admin,
  'variable:read': (a) => atLeast(VARIABLES, a.variables, 'read'),
  'variable:update': (a) => a.variables === 'write',
  'state:read': (a) => atLeast(STATE_VERSIONS, a.stateVersions, 'read'),
  'state:read-outputs': (a) => atLeast(STATE_VERSIONS, a.stateVersions, 'read-outputs'),
  'state:create': (a) => a.stateVersions === 'write',
  'state:rollback': (a) => a.stateVersions === 'write',
  // Terraform Cloud: notification configurations are the workspace's settings (admin access).
  'notification:read': (a) => a.admin,
  'notification:manage': (a) => a.admin,
};

/** What each action is, and what it needs, for the detail of a 403. */
const DESCRIPTIONS: Record<Action, { what: string; needs: string }> = {
  'organization:read': { what: 'read the organization', needs: 'membership of the organization' },
  'organization:update': { what: 'change the organization', needs: 'membership of the owners team' },
  'organization:delete': { what: 'delete the organization', needs: 'membership of the owners team' },
  'organization:manage-token': { what: "manage the organization's token", needs: 'membership of the owners team' },
  'project:read': { what: 'read projects', needs: 'membership of the organization' },
  'project:create': { what: 'manage projects', needs: 'the manage-projects organization permission' },
  'project:update': { what: "change the project's settings", needs: 'the manage-projects organization permission, or project settings: update' },
  'project:delete': { what: 'delete the project', needs: 'the manage-projects organization permission, or project settings: delete (admin access)' },
  'project:read-team-access': { what: "read the project's team access", needs: 'membership of the organization' },
  'project:manage-team-access': { what: 'manage team access to the project', needs: 'the manage-projects organization permission, or project teams: manage (admin access)' },
  'tag:read': { what: 'read tags', needs: 'membership of the organization' },
  'tag:manage': { what: "delete the organization's tags", needs: 'the manage-workspaces organization permission' },
  'workspace:create': { what: 'create workspaces', needs: 'the manage-workspaces organization permission, or maintain access to the project' },
  'workspace:move': {
    what: 'move workspaces out of or into the project',
    needs: 'the manage-workspaces organization permission, or workspace move on both projects (admin access to them)',
  },
  'pool:read': { what: 'read agent pools', needs: 'membership of the organization' },
  'pool:manage': { what: 'manage agent pools and their tokens', needs: 'the manage-agent-pools organization permission' },
  'team:read': { what: 'read teams', needs: 'membership of the organization' },
  'team:manage': { what: 'manage teams', needs: 'the manage-teams organization permission' },
  'team:manage-organization-access': { what: "change teams' organization access", needs: 'the manage-organization-access organization permission' },
  'team:manage-membership': { what: 'manage team members', needs: 'the manage-membership organization permission' },
  'membership:read': { what: 'read organization memberships', needs: 'membership of the organization' },
  'membership:manage': { what: 'manage organization memberships', needs: 'the manage-membership organization permission' },
  'ssh-key:read': { what: 'read SSH keys', needs: 'the manage-vcs-settings organization permission, or admin access to a workspace' },
  'ssh-key:manage': { what: 'manage SSH keys', needs: 'the manage-vcs-settings organization permission' },
  'vcs-provider:read': { what: 'read VCS providers', needs: 'the manage-vcs-settings organization permission, or admin access to a workspace' },
  'vcs-provider:manage': { what: 'manage VCS providers', needs: 'the manage-vcs-settings organization permission' },
  'varset:read': { what: 'read variable sets', needs: 'read access to the variables of a workspace' },
  'varset:manage': { what: 'manage variable sets', needs: 'the manage-workspaces organization permission' },
  'run-task:manage': { what: 'manage run tasks', needs: 'the manage-run-tasks organization permission' },
  'retention:read': { what: 'read data retention policies', needs: 'membership of the owners team' },
  'retention:manage': { what: 'manage data retention policies', needs: 'membership of the owners team' },
  'audit-trail:read': { what: "read the organization's audit trail", needs: 'membership of the owners team' },
  'workspace:read': { what: 'read the workspace', needs: 'read access to the workspace' },
  'workspace:update': { what: "change the workspace's settings", needs: 'admin access to the workspace' },
  'workspace:delete': { what: 'delete the workspace', needs: 'admin access to the workspace, or workspace delete on its project' },
  'workspace:lock': { what: 'lock the workspace', needs: 'workspace-locking (write access to the workspace)' },
  'workspace:unlock': { what: 'unlock the workspace', needs: 'workspace-locking (write access to the workspace)' },
  'workspace:force-unlock': { what: 'force-unlock the workspace', needs: 'admin access to the workspace' },
  'workspace:manage-tags': { what: "manage the workspace's tags", needs: 'write access to the workspace' },
  'workspace:manage-team-access': { what: 'manage team access to the workspace', needs: 'admin access to the workspace' },
  'workspace:manage-run-tasks': { what: "manage the workspace's run tasks", needs: 'run-tasks (admin access to the workspace)' },
  'workspace:manage-vcs': { what: 'connect the workspace to a repository or disconnect it', needs: 'admin access to the workspace' },
  'run:read': { what: 'read runs', needs: 'read access to the workspace' },
  'run:queue': { what: 'queue plans', needs: 'runs: plan (plan access to the workspace)' },
  'run:apply': { what: 'apply runs', needs: 'runs: apply (write access to the workspace)' },
  'run:cancel': { what: 'cancel or discard runs', needs: 'runs: apply (write access to the workspace)' },
  'run:force-cancel': { what: 'force-cancel runs', needs: 'admin access to the workspace' },
  'run:force-end': { what: 'force-end runs', needs: 'membership of the owners team' },
  'run:comment': { what: 'comment on runs', needs: 'read access to the workspace' },
  'plan:read-json-output': { what: "read a plan's unredacted JSON output", needs: 'admin access to the workspace' },
  'run-trigger:read': { what: "read the workspace's run triggers", needs: 'admin access to the workspace' },
  'run-trigger:manage': { what: "manage the workspace's run triggers", needs: 'admin access to the workspace' },
  'variable:read': { what: 'read variables', needs: 'variables: read (read access to the workspace)' },
  'variable:update': { what: 'change variables', needs: 'variables: write (write access to the workspace)' },
  'state:read': { what: 'read state versions', needs: 'state-versions: read (read access to the workspace)' },
  'state:read-outputs': { what: 'read state outputs', needs: 'state-versions: read-outputs' },
  'state:create': { what: 'create state versions', needs: 'state-versions: write (write access to the workspace)' },
  'state:rollback': { what: 'roll back state', needs: 'state-versions: write (write access to the workspace)' },
  'notification:read': { what: "read the workspace's notification configurations", needs: 'admin access to the workspace' },
  'notification:manage': { what: "manage the workspace's notification configurations", needs: 'admin access to the workspace' },
};

/** The detail of a 403: what the subject may not do, and what it would need. */
function refusal(subject: Subject, action: Action): string {
  const { what, needs } = DESCRIPTIONS[action];
  switch (subject.kind) {
    case 'organization-token':
      return `an organization token may not ${what}: use a user or team token`;
    case 'job':
      return `the job token of run ${subject.runId} may not ${what}`;
    default:
      return `insufficient permissions: to ${what} you need ${needs}`;
  }
}

function isWorkspaceAction(action: Action): action is WorkspaceAction {
  return action in WORKSPACE_RULES;
}

/**
 * What an organization token may not do: Terraform Cloud keeps runs and state writes to users and
 * teams; and a token that could read or replace itself, or mint other tokens, could outlive its
 * revocation or hand out rights it is refused (see also the owners team in src/teams/service.ts).
 */
const ORGANIZATION_TOKEN_DENIED: ReadonlySet<Action> = new Set<Action>([
  'organization:update',
  'organization:delete',
  'organization:manage-token',
  'run:queue',
  'run:apply',
  'run:cancel',
  'run:force-cancel',
  'run:force-end',
  'run:comment',
  'plan:read-json-output',
  'state:create',
  'state:rollback',
  // Terraform Cloud: the SSH keys API "cannot be accessed with organization tokens".
  'ssh-key:read',
  'ssh-key:manage',
  // The runs a repository's commits queue act with the rights of whoever connected it, and an
  // organization token may queue none: connected by one, the workspace could never plan a push.
  'workspace:manage-vcs',
]);

/**
 * What a job token may do, and only in the workspace of its run. Writing state is for apply jobs:
 * a plan runs the configuration's code too (data sources, providers), and a plan may be queued by
 * somebody who may not apply.
 */
const JOB_ALLOWED: ReadonlySet<Action> = new Set<Action>([
  'organization:read',
  'workspace:read',
  'run:read',
  'variable:read',
  'state:read',
  'state:read-outputs',
  'state:create',
]);

/** What a run of another workspace may read of a workspace that shares its state with it. */
const STATE_READING: ReadonlySet<Action> = new Set<Action>(['state:read', 'state:read-outputs']);

/** The grants of a user or team in the organization; null when not a member. */
function grantsOf(subject: Subject, organizationId: string): OrganizationGrants | null {
  if (subject.kind === 'user') return subject.organizations.get(organizationId) ?? null;
  if (subject.kind === 'team') return subject.organizationId === organizationId ? subject.grants : null;
  return null;
}

/**
 * What the grants allow in a workspace, or null when they do not show it at all: the union of
 * the grants on the workspace and on its project (the most permissive wins), and of the
 * organization permissions over every workspace.
 */
export function workspaceAccess(grants: OrganizationGrants, workspaceId: string, projectId?: string): WorkspaceAccess | null {
  if (grants.owner || grants.access.has('manage-workspaces')) return ADMIN_ACCESS;
  let granted = grants.workspaces.get(workspaceId);
  const project = projectId === undefined ? undefined : grants.projects.get(projectId);
  if (project) granted = unionAccess(granted, project.workspace);
  if (grants.access.has('read-workspaces')) return unionAccess(granted, READ_ACCESS);
  return granted ?? null;
}

/**
 * Whether the grants allow the workspace action in at least one workspace of the organization:
 * through the organization permissions over every workspace, or a grant on a workspace or project.
 */
function allowedInSomeWorkspace(grants: OrganizationGrants, action: WorkspaceAction): boolean {
  const allows = WORKSPACE_RULES[action];
  const everywhere = workspaceAccess(grants, '');
  if (everywhere && allows(everywhere)) return true;
  for (const access of grants.workspaces.values()) if (allows(access)) return true;
  for (const project of grants.projects.values()) if (allows(project.workspace)) return true;
  return false;
}

/** Whether the subject can see anything of the organization at all. */
export function canSeeOrganization(subject: Subject, organizationId: string): boolean {
  switch (subject.kind) {
    case 'site-admin':
      return true;
    case 'user':
    case 'team':
      return grantsOf(subject, organizationId) !== null;
    case 'organization-token':
    case 'job':
      return subject.organizationId === organizationId;
    // Agents speak the agent protocol only; to the API they see nothing.
    case 'agent-token':
    case 'agent':
      return false;
  }
}

/**
 * Whether the subject can see the scope for this action. A user or team sees the workspaces its
 * grants name. A job sees its organization (to read it: the CLI checks its entitlements), its own
 * workspace, and of the other workspaces only what terraform_remote_state reads of those that
 * share their state with the job's workspace: the workspace looked up by name, and its current
 * state. Everything else is not there for it (404), which terraform_remote_state reports as "not
 * found" (it then tries to create the workspace, and is refused the same way).
 */
function canSee(subject: Subject, action: Action, scope: Scope): boolean {
  if (!canSeeOrganization(subject, scope.organizationId)) return false;
  if (subject.kind === 'job') {
    if (scope.workspaceId === undefined) return action === 'organization:read' || isWorkspaceAction(action);
    if (scope.workspaceId === subject.workspaceId) return true;
    const readers = scope.stateReaders ?? [];
    const shared = readers === 'everyone' || readers.includes(subject.workspaceId);
    // terraform_remote_state reads the current state; the history is not shared.
    return shared && (action === 'workspace:read' || (STATE_READING.has(action) && scope.stateVersion !== 'history'));
  }
  if (scope.workspaceId === undefined || !isWorkspaceAction(action)) return true;
  const grants = grantsOf(subject, scope.organizationId);
  if (grants) return workspaceAccess(grants, scope.workspaceId, scope.projectId) !== null;
  return true;
}

export function isAllowed(subject: Subject, action: Action, scope: Scope): boolean {
  if (!canSee(subject, action, scope)) return false;
  switch (subject.kind) {
    case 'site-admin':
      return true;
    case 'organization-token':
      return !ORGANIZATION_TOKEN_DENIED.has(action);
    case 'job':
      return JOB_ALLOWED.has(action) && (action !== 'state:create' || subject.phase === 'apply');
    case 'agent-token':
    case 'agent':
      return false;
    case 'user':
    case 'team': {
      const grants = grantsOf(subject, scope.organizationId)!;
      if (grants.owner) return true;
      if (isWorkspaceAction(action)) {
        // Without a workspace the action is asked of the organization: listing, which shows
        // only the workspaces the subject can see.
        if (scope.workspaceId === undefined) return action === 'workspace:read' || action === 'run:read';
        return WORKSPACE_RULES[action](workspaceAccess(grants, scope.workspaceId, scope.projectId)!);
      }
      const rule = ORGANIZATION_RULES[action];
      const inSome = IN_SOME_WORKSPACE[action];
      if (inSome && allowedInSomeWorkspace(grants, inSome)) return true;
      if (rule === 'member' || rule.some((p) => grants.access.has(p))) return true;
      const project = scope.projectId === undefined ? undefined : grants.projects.get(scope.projectId);
      return project !== undefined && (PROJECT_RULES[action]?.(project) ?? false);
    }
  }
}

/** The organizations the subject may list; null means all of them. */
export function visibleOrganizations(subject: Subject): string[] | null {
  if (subject.kind === 'site-admin') return null;
  switch (subject.kind) {
    case 'user':
      return [...subject.organizations.keys()];
    case 'team':
    case 'organization-token':
    case 'job':
      return [subject.organizationId];
    default:
      return [];
  }
}

/**
 * The workspaces of an organization the subject may list; null means all of them. A job lists
 * its own; a user or team those its grants show.
 */
export function visibleWorkspaces(subject: Subject, organizationId: string): string[] | null {
  if (subject.kind === 'job') return [subject.workspaceId];
  const grants = grantsOf(subject, organizationId);
  if (!grants) return null;
  if (grants.owner || grants.access.has('manage-workspaces') || grants.access.has('read-workspaces')) return null;
  return [...grants.workspaces.keys()];
}

/** Whether the subject acts as a member of the team (a member user, or the team's own token). */
export function actsAsTeam(subject: Subject, organizationId: string, teamId: string): boolean {
  return grantsOf(subject, organizationId)?.teams.includes(teamId) ?? false;
}

/**
 * The first of these organization permissions the subject does not hold, or null when it holds
 * them all: owners, the site administrator and organization tokens hold every one. Whoever hands a
 * team's permissions out (its membership, its tokens) must hold them itself.
 */
export function missingPermission(subject: Subject, organizationId: string, permissions: readonly OrganizationPermission[]): OrganizationPermission | null {
  if (isOwner(subject, organizationId) || subject.kind === 'organization-token') return null;
  const held = grantsOf(subject, organizationId)?.access;
  return permissions.find((p) => !held?.has(p)) ?? null;
}

/** Whether the subject is an owner of the organization (or above it: the site administrator). */
export function isOwner(subject: Subject, organizationId: string): boolean {
  return subject.kind === 'site-admin' || (grantsOf(subject, organizationId)?.owner ?? false);
}

/**
 * Throws NotFoundError when the subject cannot see the scope (so its resources do not leak),
 * ForbiddenError naming the missing permission when it can see but may not act.
 */
export function authorize(subject: Subject, action: Action, scope: Scope, notFound: () => NotFoundError): void {
  if (!canSee(subject, action, scope)) throw notFound();
  if (!isAllowed(subject, action, scope)) throw new ForbiddenError(refusal(subject, action));
}

/**
 * Whether the subject's token is a credential for the API (/api/v2) at all. Agent-pool tokens and
 * agents' access tokens are good for the agent protocol only: to the API they are no credentials
 * (401), whatever they ask.
 */
export function isApiCredential(subject: Subject): boolean {
  return subject.kind !== 'agent-token' && subject.kind !== 'agent';
}

/** Only site administrators may act across all organizations (and manage users). */
export function requireSiteAdmin(subject: Subject, what: string): void {
  if (subject.kind !== 'site-admin') throw new ForbiddenError(`only a site administrator may ${what}`);
}
