// How organizations look in the API: organizations, their entitlement sets and capacity.
import { isAllowed, type Action } from '../auth/authorize.js';
import type { Subject } from '../auth/subject.js';
import { timestamp, type ResourceType, type View } from '../api/jsonapi.js';
import type { Organization } from './service.js';

export const organizationType: ResourceType = {
  type: 'organizations',
  attributes: [
    'name',
    'email',
    'external-id',
    'created-at',
    'session-timeout',
    'session-remember',
    'collaborator-auth-policy',
    'cost-estimation-enabled',
    'allow-force-delete-workspaces',
    'default-execution-mode',
    'two-factor-conformant',
    'saml-enabled',
    'fair-run-queuing-enabled',
    'assessments-enforced',
    'is-in-degraded-mode',
    'trial-expires-at',
    'owners-team-saml-role-id',
    'permissions',
  ],
  selfLink: (v) => `/api/v2/organizations/${v.id}`,
};

const ORG_PERMISSIONS: Record<string, Action> = {
  'can-update': 'organization:update',
  'can-destroy': 'organization:delete',
  'can-create-workspace': 'workspace:create',
  'can-create-project': 'project:create',
  'can-update-api-token': 'organization:manage-token',
  'can-read-projects': 'project:read',
  'can-manage-tags': 'workspace:manage-tags',
  'can-create-team': 'team:manage',
  'can-manage-users': 'membership:manage',
  'can-update-agent-pools': 'pool:manage',
  // A right, as Terraform Cloud reports it; whether run tasks exist here is the entitlement set's run-tasks.
  'can-manage-run-tasks': 'run-task:manage',
};

export function presentOrganization(org: Organization, subject: Subject): View {
  const permissions: Record<string, boolean> = { 'can-access-via-teams': subject.kind === 'user' || subject.kind === 'team', 'can-traverse': true };
  for (const [key, action] of Object.entries(ORG_PERMISSIONS)) permissions[key] = isAllowed(subject, action, { organizationId: org.id });
  return {
    id: org.name,
    name: org.name,
    email: org.email,
    'external-id': org.id,
    'created-at': timestamp(org.createdAt),
    'session-timeout': org.sessionTimeout,
    'session-remember': org.sessionRemember,
    'collaborator-auth-policy': org.collaboratorAuthPolicy,
    'cost-estimation-enabled': org.costEstimationEnabled,
    'allow-force-delete-workspaces': org.allowForceDeleteWorkspaces,
    'default-execution-mode': org.defaultExecutionMode,
    'two-factor-conformant': true,
    'saml-enabled': false,
    'fair-run-queuing-enabled': true,
    'assessments-enforced': false,
    'is-in-degraded-mode': false,
    'trial-expires-at': null,
    'owners-team-saml-role-id': null,
    permissions,
  };
}

export const ENTITLEMENTS = [
  'agents',
  'assessments',
  'audit-logging',
  'configuration-designer',
  'cost-estimation',
  'global-run-tasks',
  'module-tests-generation',
  'operations',
  'private-module-registry',
  'private-run-tasks',
  'run-tasks',
  'sentinel',
  'sso',
  'state-storage',
  'teams',
  'vcs-integrations',
] as const;

export const entitlementSetType: ResourceType = { type: 'entitlement-sets', attributes: [...ENTITLEMENTS, 'user-limit'] };
export const capacityType: ResourceType = { type: 'organization-capacity', attributes: ['pending', 'running'] };
