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

/** What one or more grants allow in a workspace: the permissions, and whether it is administered. */
export interface WorkspaceAccess extends WorkspacePermissions {
  admin: boolean;
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

export const READ_ACCESS: WorkspaceAccess = { ...LEVEL_PERMISSIONS.read, admin: false };
export const ADMIN_ACCESS: WorkspaceAccess = { ...LEVEL_PERMISSIONS.admin, admin: true };

export function accessOf(level: AccessLevel, permissions: WorkspacePermissions): WorkspaceAccess {
  return level === 'custom' ? { ...permissions, admin: false } : { ...LEVEL_PERMISSIONS[level], admin: level === 'admin' };
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
  };
}

/** Whether a permission is at least the given value in its order. */
export function atLeast<T extends string>(order: readonly T[], value: T, minimum: T): boolean {
  return order.indexOf(value) >= order.indexOf(minimum);
}
