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
    'assessments-schedule',
    'is-in-degraded-mode',
    'trial-expires-at',
    'owners-team-saml-role-id',
    'send-passing-statuses-for-untriggered-speculative-plans',
    'plan-timeout',
    'apply-timeout',
    'permissions',
  ],
  relationships: { 'default-project': 'projects', 'default-agent-pool': 'agent-pools' },
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

/**
 * An organization as the subject sees it. Its default project is given when known (the projects
 * domain holds it; see OrganizationService.defaultProjectId), else the relationship is left out.
 */
export function presentOrganization(org: Organization, subject: Subject, defaultProjectId?: string | null): View {
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
    'assessments-enforced': org.assessmentsEnforced,
    // An extension: when this organization's health assessments are due (null: otfd's --assessments-schedule).
    'assessments-schedule': org.assessmentsSchedule,
    'is-in-degraded-mode': false,
    'trial-expires-at': null,
    'owners-team-saml-role-id': null,
    'send-passing-statuses-for-untriggered-speculative-plans': false,
    // otf's own: seconds, null when otfd's --plan-timeout / --apply-timeout apply (docs/timeouts-and-hooks.md).
    'plan-timeout': org.planTimeoutSeconds,
    'apply-timeout': org.applyTimeoutSeconds,
    permissions,
    ...(defaultProjectId !== undefined ? { 'default-project': defaultProjectId && { id: defaultProjectId } } : {}),
    'default-agent-pool': org.defaultAgentPoolId && { id: org.defaultAgentPoolId },
  };
}

/**
 * What this server does, as Terraform Cloud's entitlement set names it: remote operations, state
 * storage, teams, agents, VCS integrations, health assessments and the audit trail. Everything else
 * Terraform Cloud sells (Sentinel, run tasks, the private registry, SAML SSO, cost estimation) is not built here,
 * so it is false: clients such as the tfe provider read these flags to decide what to offer.
 */
export const ENTITLEMENTS: Readonly<Record<string, boolean>> = {
  agents: true,
  assessments: true,
  'audit-logging': true,
  'configuration-designer': false,
  'cost-estimation': false,
  'global-run-tasks': false,
  'module-tests-generation': false,
  operations: true,
  'private-module-registry': false,
  'private-run-tasks': false,
  'run-tasks': false,
  sentinel: false,
  sso: false,
  'state-storage': true,
  teams: true,
  'vcs-integrations': true,
};

export const entitlementSetType: ResourceType = { type: 'entitlement-sets', attributes: [...Object.keys(ENTITLEMENTS), 'user-limit'] };
export const capacityType: ResourceType = { type: 'organization-capacity', attributes: ['pending', 'running'] };
