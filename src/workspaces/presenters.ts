// How the workspaces domain shows its resources: JSON:API types and presenters of workspaces, tags
// and tag bindings, and the hook by which other domains add their resources to include=. Route
// files of this and other domains import them from here.
import { isAllowed, type Action } from '../auth/authorize.js';
import type { Subject } from '../auth/subject.js';
import { timestamp, type Resource, type ResourceType, type View } from '../api/jsonapi.js';
import { workspaceScope, type TagBinding, type Workspace, type WorkspaceConnection } from './service.js';

export const workspaceType: ResourceType = {
  type: 'workspaces',
  attributes: [
    'name',
    'description',
    'environment',
    'execution-mode',
    'engine',
    'operations',
    'auto-apply',
    'auto-apply-run-trigger',
    'allow-destroy-plan',
    'file-triggers-enabled',
    'global-remote-state',
    'queue-all-runs',
    'assessments-enabled',
    'plan-timeout',
    'apply-timeout',
    'speculative-enabled',
    'structured-run-output-enabled',
    'terraform-version',
    'working-directory',
    'trigger-prefixes',
    'trigger-patterns',
    'tag-names',
    'source',
    'source-name',
    'source-url',
    'vcs-repo',
    'vcs-repo-identifier',
    'locked',
    'locked-reason',
    'resource-count',
    'runs-count',
    'setting-overwrites',
    'created-at',
    'updated-at',
    'latest-change-at',
    'permissions',
    'actions',
  ],
  relationships: {
    organization: 'organizations',
    project: 'projects',
    'current-run': 'runs',
    'latest-run': 'runs',
    'current-state-version': 'state-versions',
    'current-assessment-result': 'assessment-results',
    'current-configuration-version': 'configuration-versions',
    'locked-by': 'users',
    'agent-pool': 'agent-pools',
    'ssh-key': 'ssh-keys',
    outputs: 'workspace-outputs',
  },
  selfLink: (v) => `/api/v2/organizations/${(v.organization as { id: string }).id}/workspaces/${v.name as string}`,
  // Where Terraform Cloud's UI shows it (the tfe provider's html_url); otfd has no web UI there.
  htmlLink: (v) => `/app/${(v.organization as { id: string }).id}/workspaces/${v.name as string}`,
};

const WORKSPACE_PERMISSIONS: Record<string, Action> = {
  'can-update': 'workspace:update',
  'can-destroy': 'workspace:delete',
  'can-force-delete': 'workspace:delete',
  'can-queue-run': 'run:queue',
  'can-read-run': 'run:read',
  'can-queue-apply': 'run:apply',
  'can-queue-destroy': 'run:apply',
  'can-read-variable': 'variable:read',
  'can-update-variable': 'variable:update',
  'can-read-state-versions': 'state:read',
  'can-read-state-outputs': 'state:read-outputs',
  'can-create-state-versions': 'state:create',
  'can-lock': 'workspace:lock',
  'can-unlock': 'workspace:unlock',
  'can-force-unlock': 'workspace:force-unlock',
  'can-read-settings': 'workspace:read',
  'can-manage-tags': 'workspace:manage-tags',
  'can-manage-run-tasks': 'workspace:manage-run-tasks',
};

/**
 * The active run holds the workspace lock; that is the run the CLI waits behind. With none active,
 * the last run that was admitted stays current, as in TFC (a pending run is not current yet).
 */
export function currentRunId(ws: Workspace): string | null {
  return ws.lock?.holder.type === 'runs' ? ws.lock.holder.id : ws.currentRunId;
}

/**
 * Related resources of workspaces that another domain presents, asked for with include= (e.g.
 * latest_run): those the subject may read.
 */
export type WorkspaceIncluder = (subject: Subject, workspaces: Workspace[]) => Promise<Resource[]>;

export function presentWorkspace(ws: Workspace, subject: Subject): View {
  const scope = workspaceScope(ws);
  // Health assessments (src/assessments): read with the runs, run by hand with admin access.
  const permissions: Record<string, boolean> = {
    'can-manage-assessments': isAllowed(subject, 'workspace:update', scope),
    'can-read-assessments': isAllowed(subject, 'run:read', scope),
  };
  for (const [key, action] of Object.entries(WORKSPACE_PERMISSIONS)) permissions[key] = isAllowed(subject, action, scope);
  // A run's job token sees another workspace only to read the state it shares
  // (terraform_remote_state): what names it and that state, not its settings or other runs.
  if (subject.kind === 'job' && subject.workspaceId !== ws.id) {
    return {
      id: ws.id,
      name: ws.name,
      'terraform-version': ws.terraformVersion,
      permissions,
      organization: { id: ws.organizationName },
      'current-state-version': ws.currentStateVersionId ? { id: ws.currentStateVersionId } : null,
    };
  }
  return {
    id: ws.id,
    name: ws.name,
    description: ws.description,
    environment: 'default',
    'execution-mode': ws.executionMode,
    engine: ws.engine,
    operations: ws.executionMode !== 'local',
    'auto-apply': ws.autoApply,
    'auto-apply-run-trigger': ws.autoApplyRunTrigger,
    'allow-destroy-plan': ws.allowDestroyPlan,
    'file-triggers-enabled': ws.fileTriggersEnabled,
    'global-remote-state': ws.globalRemoteState,
    'queue-all-runs': ws.queueAllRuns,
    'assessments-enabled': ws.assessmentsEnabled,
    // otf's own: seconds, null when the organization's timeouts (or otfd's) apply.
    'plan-timeout': ws.planTimeoutSeconds,
    'apply-timeout': ws.applyTimeoutSeconds,
    'speculative-enabled': ws.speculativeEnabled,
    'structured-run-output-enabled': ws.structuredRunOutputEnabled,
    'terraform-version': ws.terraformVersion,
    'working-directory': ws.workingDirectory,
    'trigger-prefixes': ws.triggerPrefixes,
    'trigger-patterns': ws.triggerPatterns,
    'tag-names': ws.tags.filter((t) => t.value === '').map((t) => t.key),
    source: 'tfe-api',
    'source-name': ws.sourceName,
    'source-url': ws.sourceUrl,
    'vcs-repo': ws.vcsRepo ? presentVcsRepo(ws.vcsRepo) : null,
    'vcs-repo-identifier': ws.vcsRepo?.identifier ?? null,
    locked: ws.lock !== null,
    'locked-reason': ws.lock?.reason ?? null,
    'resource-count': ws.resourceCount,
    'runs-count': ws.runsCount,
    // One flag behind both: a workspace follows its organization's mode and pool together.
    'setting-overwrites': { 'execution-mode': ws.executionOverwritten, 'agent-pool': ws.executionOverwritten },
    'created-at': timestamp(ws.createdAt),
    'updated-at': timestamp(ws.updatedAt),
    'latest-change-at': timestamp(ws.updatedAt),
    permissions,
    actions: { 'is-destroyable': true },
    organization: { id: ws.organizationName },
    project: { id: ws.projectId },
    'current-run': currentRunId(ws) ? { id: currentRunId(ws) } : null,
    'latest-run': ws.latestRunId ? { id: ws.latestRunId } : null,
    'current-state-version': ws.currentStateVersionId ? { id: ws.currentStateVersionId } : null,
    'current-assessment-result': ws.currentAssessmentResultId ? { id: ws.currentAssessmentResultId } : null,
    'current-configuration-version': ws.currentConfigurationVersionId ? { id: ws.currentConfigurationVersionId } : null,
    'locked-by': ws.lock ? { id: ws.lock.holder.id, type: ws.lock.holder.type } : null,
    'agent-pool': ws.agentPoolId ? { id: ws.agentPoolId } : null,
    'ssh-key': ws.sshKeyId ? { id: ws.sshKeyId } : null,
    // The current state's outputs; include=outputs shows them (the state domain's includer).
    outputs: ws.outputIds.map((id) => ({ id })),
  };
}

/**
 * vcs-repo as Terraform Cloud shows it (branch '' when the workspace follows the repository's
 * default branch), with otf-ts's two settings. Never the webhook's secret.
 */
function presentVcsRepo(c: WorkspaceConnection): Record<string, unknown> {
  return {
    identifier: c.identifier,
    'display-identifier': c.identifier,
    branch: c.namedBranch,
    'ingress-submodules': c.ingressSubmodules,
    'oauth-token-id': c.oauthTokenId,
    'tags-regex': c.tagsRegex,
    'repository-http-url': c.repositoryHttpUrl,
    'service-provider': c.serviceProvider,
    'webhook-url': c.webhookUrl,
    'allow-fork-pull-requests': c.allowForkPullRequests,
    'poll-interval-seconds': c.pollIntervalSeconds,
  };
}

export const tagType: ResourceType = { type: 'tags', attributes: ['name', 'created-at', 'instance-count'] };
export const tagBindingType: ResourceType = { type: 'tag-bindings', attributes: ['key', 'value'] };

export function presentBinding(ws: Workspace, b: TagBinding): View {
  // Bindings have no identity of their own; derive a stable id from the workspace and the key.
  return { id: `tb-${ws.id.slice(3)}-${Buffer.from(b.key).toString('base64url')}`, key: b.key, value: b.value };
}
