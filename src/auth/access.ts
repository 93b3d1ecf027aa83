// What a team may do in an organization and in a workspace, as Terraform Cloud defines it: the
// organization-level permissions a team holds ("organization-access"), and a workspace access
// level (read, plan, write, admin) or a custom set of workspace permissions.

export const ORGANIZATION_PERMISSIONS = [
  'manage-policies',
  'manage-policy-overrides',
  'manage-run-tasks',
  'manage-workspaces',
  'manage-vcs-settings',
  'manage-agent-pools',
  'manage-providers',
  'manage-modules',
  'manage-projects',
  'read-projects',
  'read-workspaces',
  'manage-membership',
  'manage-teams',
  'manage-organization-access',
  'access-secret-teams',
] as const;

export type OrganizationPermission = (typeof ORGANIZATION_PERMISSIONS)[number];

export const ACCESS_LEVELS = ['read', 'plan', 'write', 'admin', 'custom'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

export const RUNS = ['read', 'plan', 'apply'] as const;
export const VARIABLES = ['none', 'read', 'write'] as const;
export const STATE_VERSIONS = ['none', 'read-outputs', 'read', 'write'] as const;
export const SENTINEL_MOCKS = ['none', 'read'] as const;

/** The workspace permissions of a team-workspace grant; each list above is in increasing order. */
export interface WorkspacePermissions {
  runs: (typeof RUNS)[number];
  variables: (typeof VARIABLES)[number];
  stateVersions: (typeof STATE_VERSIONS)[number];
  sentinelMocks: (typeof SENTINEL_MOCKS)[number];
  workspaceLocking: boolean;
  runTasks: boolean;
}

/** What one or more grants allow in a workspace: the permissions, whether it is administered, whether it may be deleted. */
export interface WorkspaceAccess extends WorkspacePermissions {
  admin: boolean;
  /** Admin access deletes the workspace; so does a custom project grant with "delete". */
  delete: boolean;
}

/** The permissions each fixed level stands for. */
export const LEVEL_PERMISSIONS: Record<Exclude<AccessLevel, 'custom'>, WorkspacePermissions> = {
  read: { runs: 'read', variables: 'read', stateVersions: 'read', sentinelMocks: 'none', workspaceLocking: false, runTasks: false },
  plan: { runs: 'plan', variables: 'read', stateVersions: 'read', sentinelMocks: 'none', workspaceLocking: false, runTasks: false },
  write: { runs: 'apply', variables: 'write', stateVersions: 'write', sentinelMocks: 'read', workspaceLocking: true, runTasks: false },
  admin: { runs: 'apply', variables: 'write', stateVersions: 'write', sentinelMocks: 'read', workspaceLocking: true, runTasks: true },
};

/** Custom access starts from nothing but reading runs (Terraform Cloud's defaults). */
export const CUSTOM_DEFAULTS: WorkspacePermissions = {
  runs: 'read',
  variables: 'none',
  stateVersions: 'none',
  sentinelMocks: 'none',
  workspaceLocking: false,
  runTasks: false,
};

export const READ_ACCESS: WorkspaceAccess = { ...LEVEL_PERMISSIONS.read, admin: false, delete: false };
export const ADMIN_ACCESS: WorkspaceAccess = { ...LEVEL_PERMISSIONS.admin, admin: true, delete: true };

export function accessOf(level: AccessLevel, permissions: WorkspacePermissions): WorkspaceAccess {
  const admin = level === 'admin';
  return level === 'custom' ? { ...permissions, admin: false, delete: false } : { ...LEVEL_PERMISSIONS[level], admin, delete: admin };
}

function higher<T extends string>(order: readonly T[], a: T, b: T): T {
  return order.indexOf(a) >= order.indexOf(b) ? a : b;
}

/** What two grants allow together: each permission at the higher of the two. */
export function unionAccess(a: WorkspaceAccess | undefined, b: WorkspaceAccess): WorkspaceAccess {
  if (!a) return b;
  return {
    runs: higher(RUNS, a.runs, b.runs),
    variables: higher(VARIABLES, a.variables, b.variables),
    stateVersions: higher(STATE_VERSIONS, a.stateVersions, b.stateVersions),
    sentinelMocks: higher(SENTINEL_MOCKS, a.sentinelMocks, b.sentinelMocks),
    workspaceLocking: a.workspaceLocking || b.workspaceLocking,
    runTasks: a.runTasks || b.runTasks,
    admin: a.admin || b.admin,
    delete: a.delete || b.delete,
  };
}

/** Whether a permission is at least the given value in its order. */
export function atLeast<T extends string>(order: readonly T[], value: T, minimum: T): boolean {
  return order.indexOf(value) >= order.indexOf(minimum);
}

// ---------------------------------------------------------------- projects

// A team's access to a project, as Terraform Cloud defines it: a level (read, write, maintain,
// admin) or custom permissions, some over the project itself (its settings, its teams' access),
// the others over every workspace in it.

export const PROJECT_ACCESS_LEVELS = ['read', 'write', 'maintain', 'admin', 'custom'] as const;
export type ProjectAccessLevel = (typeof PROJECT_ACCESS_LEVELS)[number];

export const PROJECT_SETTINGS = ['read', 'update', 'delete'] as const;
export const PROJECT_TEAMS = ['none', 'read', 'manage'] as const;

/** The permissions of a team-project grant; `workspaces` holds what it gives in each of the project's workspaces. */
export interface ProjectPermissions {
  settings: (typeof PROJECT_SETTINGS)[number];
  teams: (typeof PROJECT_TEAMS)[number];
  workspaces: WorkspacePermissions;
  /** Create workspaces in the project. */
  create: boolean;
  /** Move workspaces of the project to other projects (and into it). */
  move: boolean;
  /** Delete the project's workspaces. */
  delete: boolean;
}

const NOTHING_MORE = { create: false, move: false, delete: false };

/**
 * The permissions each fixed project level stands for: read and write give their workspace level
 * in every workspace of the project; maintain gives admin in them and creating and deleting
 * workspaces; admin gives all that and the project itself (settings, deleting it, its team access).
 */
export const PROJECT_LEVEL_PERMISSIONS: Record<Exclude<ProjectAccessLevel, 'custom'>, ProjectPermissions> = {
  read: { settings: 'read', teams: 'none', workspaces: LEVEL_PERMISSIONS.read, ...NOTHING_MORE },
  write: { settings: 'read', teams: 'none', workspaces: LEVEL_PERMISSIONS.write, ...NOTHING_MORE },
  maintain: { settings: 'read', teams: 'none', workspaces: LEVEL_PERMISSIONS.admin, create: true, move: false, delete: true },
  admin: { settings: 'delete', teams: 'manage', workspaces: LEVEL_PERMISSIONS.admin, create: true, move: true, delete: true },
};

/** Custom project access starts from reading the project and its workspaces' runs (Terraform Cloud's defaults). */
export const PROJECT_CUSTOM_DEFAULTS: ProjectPermissions = { settings: 'read', teams: 'none', workspaces: CUSTOM_DEFAULTS, ...NOTHING_MORE };

/** What a project grant gives in each workspace of the project: maintain and admin administer them. */
export function projectWorkspaceAccess(level: ProjectAccessLevel, p: ProjectPermissions): WorkspaceAccess {
  return { ...p.workspaces, admin: level === 'maintain' || level === 'admin', delete: p.delete };
}

/** What two project grants allow together: each permission at the higher of the two. */
export function unionProjectAccess(a: ProjectPermissions | undefined, b: ProjectPermissions): ProjectPermissions {
  if (!a) return b;
  const ws = unionAccess({ ...a.workspaces, admin: false, delete: false }, { ...b.workspaces, admin: false, delete: false });
  return {
    settings: higher(PROJECT_SETTINGS, a.settings, b.settings),
    teams: higher(PROJECT_TEAMS, a.teams, b.teams),
    workspaces: {
      runs: ws.runs,
      variables: ws.variables,
      stateVersions: ws.stateVersions,
      sentinelMocks: ws.sentinelMocks,
      workspaceLocking: ws.workspaceLocking,
      runTasks: ws.runTasks,
    },
    create: a.create || b.create,
    move: a.move || b.move,
    delete: a.delete || b.delete,
  };
}

/** What one or more project grants allow: over the project, and in each of its workspaces. */
export interface ProjectGrant {
  permissions: ProjectPermissions;
  workspace: WorkspaceAccess;
}

export function projectGrantOf(level: ProjectAccessLevel, permissions: ProjectPermissions): ProjectGrant {
  const p = level === 'custom' ? permissions : PROJECT_LEVEL_PERMISSIONS[level];
  return { permissions: p, workspace: projectWorkspaceAccess(level, p) };
}

export function unionProjectGrant(a: ProjectGrant | undefined, b: ProjectGrant): ProjectGrant {
  if (!a) return b;
  return { permissions: unionProjectAccess(a.permissions, b.permissions), workspace: unionAccess(a.workspace, b.workspace) };
}
