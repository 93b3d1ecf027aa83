// How the runs domain shows its resources: JSON:API types and presenters of configuration
// versions, runs, plans and applies, and the runs and configuration versions it adds to include=
// on workspaces. Route files import them from here.
import { isAllowed } from '../auth/authorize.js';
import { principalOf, SITE_ADMIN, type Principal, type Subject } from '../auth/subject.js';
import { resources, timestamp, type Resource, type ResourceType, type View } from '../api/jsonapi.js';
import { paths } from '../web/paths.js';
import { currentRunId, type Workspace, type WorkspaceIncluder, workspaceScope } from '../workspaces/index.js';
import type { ConfigurationVersion, ConfigurationVersionService } from './configs.js';
import { canHappen } from './machine.js';
import type { Run, RunService } from './service.js';
import type { Phase } from './store.js';
import { presentWaiting, type Waiting } from './waiting.js';

export const configurationVersionType: ResourceType = {
  type: 'configuration-versions',
  attributes: ['status', 'error', 'error-message', 'source', 'speculative', 'provisional', 'auto-queue-runs', 'upload-url', 'size', 'status-timestamps', 'changed-files'],
  relationships: { 'ingress-attributes': 'ingress-attributes' },
  selfLink: (v) => `/api/v2/configuration-versions/${v.id}`,
};

export function presentConfigurationVersion(cv: ConfigurationVersion, uploadUrl: string | null): View {
  return {
    id: cv.id,
    status: cv.status,
    error: cv.status === 'errored' ? 'rejected' : null,
    'error-message': cv.errorMessage,
    source: cv.source,
    speculative: cv.speculative,
    provisional: cv.provisional,
    'auto-queue-runs': cv.autoQueueRuns,
    'upload-url': uploadUrl,
    size: cv.size,
    'status-timestamps': cv.statusTimestamps,
    'changed-files': [],
    'ingress-attributes': cv.ingress ? { id: cv.ingress.id } : null,
  };
}

export const ingressAttributesType: ResourceType = {
  type: 'ingress-attributes',
  attributes: [
    'branch',
    'clone-url',
    'commit-message',
    'commit-sha',
    'commit-url',
    'compare-url',
    'identifier',
    'is-pull-request',
    'on-default-branch',
    'pull-request-number',
    'pull-request-url',
    'pull-request-title',
    'pull-request-body',
    'tag',
    'sender-username',
    'sender-avatar-url',
    'sender-html-url',
  ],
  selfLink: (v) => `/api/v2/ingress-attributes/${v.id}`,
};

/** Where a configuration version from a commit came from, as TFC's ingress-attributes show it. */
export function presentIngressAttributes(ia: NonNullable<ConfigurationVersion['ingress']>): View {
  return {
    id: ia.id,
    branch: ia.branch,
    'clone-url': ia.cloneUrl,
    'commit-message': ia.commitMessage,
    'commit-sha': ia.commitSha,
    'commit-url': ia.commitUrl,
    'compare-url': ia.compareUrl,
    identifier: ia.identifier,
    'is-pull-request': ia.isPullRequest,
    'on-default-branch': ia.onDefaultBranch,
    'pull-request-number': ia.pullRequestNumber,
    'pull-request-url': ia.pullRequestUrl,
    'pull-request-title': ia.pullRequestTitle,
    'pull-request-body': null,
    tag: ia.tag,
    'sender-username': ia.senderUsername,
    'sender-avatar-url': null,
    'sender-html-url': null,
  };
}

/** A configuration version's ingress attributes as an included resource; none for an upload. */
export function includedIngress(cv: ConfigurationVersion): Resource[] {
  return cv.ingress ? resources(ingressAttributesType, [presentIngressAttributes(cv.ingress)]) : [];
}

export const runType: ResourceType = {
  type: 'runs',
  attributes: [
    'status',
    'status-timestamps',
    'message',
    'source',
    'trigger-reason',
    'created-at',
    'has-changes',
    'is-destroy',
    'refresh',
    'refresh-only',
    'plan-only',
    'save-plan',
    'auto-apply',
    'allow-empty-apply',
    'allow-config-generation',
    'target-addrs',
    'replace-addrs',
    'variables',
    'terraform-version',
    'error-message',
    'canceled-at',
    'force-cancel-available-at',
    'state-saved-late-at',
    'force-end-reason',
    'position-in-queue',
    'status-explanation',
    'actions',
    'permissions',
  ],
  relationships: {
    workspace: 'workspaces',
    'configuration-version': 'configuration-versions',
    plan: 'plans',
    apply: 'applies',
    'created-by': 'users',
    'cost-estimate': 'cost-estimates',
    'policy-checks': 'policy-checks',
    'task-stages': 'task-stages',
    'run-events': 'run-events',
    comments: 'comments',
  },
  selfLink: (v) => `/api/v2/runs/${v.id}`,
  // The run's page in the web UI, as TFC's runs link to theirs.
  htmlLink: (v) => v['html-path'] as string,
};

/**
 * A run. `position` and `waiting` are computed only where one run is shown (GET /runs/:id) or the
 * queue asks for positions; lists show null.
 */
export function presentRun(run: Run, subject: Subject, runs: RunService, position?: number | null, waiting?: Waiting | null): View {
  const executing = run.status === 'planning' || run.status === 'applying';
  const forceCancelAt = runs.forceCancelAvailableAt(run);
  const canApply = runs.can(subject, 'run:apply', run);
  const canCancel = runs.can(subject, 'run:cancel', run);
  return {
    id: run.id,
    'html-path': paths.run(run.organizationName, run.workspaceName, run.id),
    status: run.status,
    'status-timestamps': run.statusTimestamps,
    message: run.message,
    source: run.source,
    'trigger-reason': 'manual',
    'created-at': timestamp(run.createdAt),
    'has-changes': run.hasChanges,
    'is-destroy': run.isDestroy,
    refresh: run.refresh,
    'refresh-only': run.refreshOnly,
    'plan-only': run.speculative,
    'save-plan': run.savePlan,
    'auto-apply': run.autoApply,
    'allow-empty-apply': run.allowEmptyApply,
    'allow-config-generation': false,
    'target-addrs': run.targetAddrs,
    'replace-addrs': run.replaceAddrs,
    variables: run.variables,
    'terraform-version': run.engineVersion,
    'error-message': run.errorMessage,
    'canceled-at': run.statusTimestamps['canceled-at'] ?? null,
    // Set by any cancel request, as in TFC; force-cancel itself is for an executing run only.
    'force-cancel-available-at': forceCancelAt ? timestamp(forceCancelAt) : null,
    // otf's own: a state of the apply reached otfd after its job was over (docs/agent-protocol.md).
    'state-saved-late-at': run.stateSavedLateAt ? timestamp(run.stateSavedLateAt) : null,
    // otf's own: why an owner force-ended the run (docs/timeouts-and-hooks.md); null when nobody did.
    'force-end-reason': run.forceEndReason,
    'position-in-queue': position ?? null,
    // otf's own (docs/waiting-runs.md): what a pending or queued run waits for.
    'status-explanation': presentWaiting(waiting ?? null),
    actions: {
      'is-confirmable': canHappen(run.status, 'confirm'),
      'is-discardable': canHappen(run.status, 'discard'),
      // an executing phase is canceled by asking its runner to stop (RunService.cancel)
      'is-cancelable': executing || canHappen(run.status, 'cancel'),
      'is-force-cancelable': executing && forceCancelAt !== null && forceCancelAt.getTime() <= Date.now(),
      // otf's own: an owner may force-end it (actions/force-end).
      'is-force-endable': canHappen(run.status, 'force_end'),
    },
    permissions: {
      'can-apply': canApply,
      'can-discard': canApply,
      'can-cancel': canCancel,
      'can-force-cancel': runs.can(subject, 'run:force-cancel', run),
      'can-force-end': runs.can(subject, 'run:force-end', run),
      'can-force-execute': canApply,
      'can-comment': runs.can(subject, 'run:comment', run),
      'can-override-policy-check': false,
    },
    workspace: { id: run.workspaceId },
    'configuration-version': { id: run.configurationVersionId },
    plan: { id: run.plan.id },
    apply: { id: run.apply.id },
    'created-by': run.createdBy?.type === 'users' ? { id: run.createdBy.id } : null,
    'cost-estimate': null,
    'policy-checks': [],
    'task-stages': [],
    'run-events': [],
    comments: [],
  };
}

const phaseAttributes = [
  'status',
  'status-timestamps',
  'log-read-url',
  'resource-additions',
  'resource-changes',
  'resource-destructions',
  'resource-imports',
] as const;

export const planType: ResourceType = {
  type: 'plans',
  attributes: [...phaseAttributes, 'has-changes', 'generated-configuration', 'execution-details'],
  relationships: { exports: 'plan-exports' },
  selfLink: (v) => `/api/v2/plans/${v.id}`,
};

export const applyType: ResourceType = {
  type: 'applies',
  attributes: [...phaseAttributes, 'execution-details'],
  relationships: { 'state-versions': 'state-versions' },
  selfLink: (v) => `/api/v2/applies/${v.id}`,
};

export function presentPhase(phase: Phase, logUrl: string): View {
  return {
    id: phase.id,
    status: phase.status,
    'status-timestamps': phase.statusTimestamps,
    'log-read-url': logUrl,
    'resource-additions': phase.additions,
    'resource-changes': phase.changes,
    'resource-destructions': phase.destructions,
    'resource-imports': phase.imports,
    'execution-details': { mode: 'remote' },
  };
}

/** The runs and configuration versions a workspace names, for include= on workspaces. */
export function workspaceIncluders(runs: RunService, configs: ConfigurationVersionService): Record<string, WorkspaceIncluder> {
  /** The ids that pick names in the workspaces whose runs the subject may read. */
  const named = (subject: Subject, list: Workspace[], pick: (ws: Workspace) => string | null): string[] => {
    const ids = list.filter((ws) => isAllowed(subject, 'run:read', workspaceScope(ws))).map(pick);
    return [...new Set(ids.filter((id): id is string => id !== null))];
  };
  const includeRuns =
    (pick: (ws: Workspace) => string | null): WorkspaceIncluder =>
    async (subject, list) => {
      const found = await runs.byIds(named(subject, list, pick));
      return resources(runType, found.map((r) => presentRun(r, subject, runs)));
    };
  return {
    latest_run: includeRuns((ws) => ws.latestRunId),
    current_run: includeRuns(currentRunId),
    current_configuration_version: async (subject, list) => {
      const found = await configs.byIds(named(subject, list, (ws) => ws.currentConfigurationVersionId));
      return resources(configurationVersionType, found.map((cv) => presentConfigurationVersion(cv, null)));
    },
  };
}

/** The users id Terraform Cloud gives whoever acted: a user's own, or a service account's. */
export function principalUserId(p: Principal): string {
  return p.type === 'users' ? p.id : `user-api-${p.id}`;
}

/**
 * Whoever created a run or acted in it, shown as a user from what the run kept (its id and name),
 * without its account: the site administrator, a service account, a user deleted since. Keeps runs
 * independent of the users domain for history.
 */
export function presentPrincipalAsUser(p: Principal): View {
  const id = principalUserId(p);
  return {
    id,
    username: p.name,
    email: null,
    'avatar-url': null,
    'is-service-account': p.type !== 'users' || id.startsWith('user-api-'),
    'is-site-admin': p.id === principalOf(SITE_ADMIN).id,
  };
}
