// HTTP routes of the runs domain: configuration versions (and their signed upload URL), runs and
// their actions, plans and applies (and their signed log URLs), the organization's run queue.
import type Router from '@koa/router';
import { isAllowed, type Action } from '../auth/authorize.js';
import type { Subject } from '../auth/subject.js';
import { encode, listParam, pageOffset, paginate, parseIncludes, parsePage, queryValue, resources, timestamp, type Query, type Resource, type ResourceType, type View } from '../api/jsonapi.js';
import { limitedBody } from '../api/body.js';
import { body, query, requestUrl, send, subjectOf, type ApiRouter, type AppState, type Ctx, type Site } from '../api/http.js';
import { resourceDocument, toOne, validator, type Schema } from '../api/validate.js';
import type { BlobStore } from '../blobs/store.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import type { WorkspaceService } from '../workspaces/service.js';
import { currentRunId, presentWorkspace, workspaceType, type WorkspaceIncluder } from '../workspaces/routes.js';
import { workspaceScope, type Workspace } from '../workspaces/service.js';
import { artifactKey } from './artifacts.js';
import { redactPlan } from './redact.js';
import { UPLOAD_PURPOSE, type ConfigurationVersion, type ConfigurationVersionService } from './configs.js';
import { LOG_PURPOSE, type RunLogService } from './logs.js';
import { canHappen, RUN_STATUSES, type RunStatus } from './machine.js';
import type { ListFilter, Run, RunService } from './service.js';
import type { Phase } from './store.js';

// ---------------------------------------------------------------- presenters

export const configurationVersionType: ResourceType = {
  type: 'configuration-versions',
  attributes: ['status', 'error', 'error-message', 'source', 'speculative', 'provisional', 'auto-queue-runs', 'upload-url', 'size', 'status-timestamps', 'changed-files'],
  relationships: { 'ingress-attributes': 'ingress-attributes' },
  selfLink: (v) => `/api/v2/configuration-versions/${v.id}`,
};

function presentConfigurationVersion(cv: ConfigurationVersion, uploadUrl: string | null): View {
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
    'ingress-attributes': null,
  };
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
    'position-in-queue',
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
};

function presentRun(run: Run, subject: Subject, runs: RunService, position?: number): View {
  const executing = run.status === 'planning' || run.status === 'applying';
  const canApply = runs.can(subject, 'run:apply', run);
  const canCancel = runs.can(subject, 'run:cancel', run);
  return {
    id: run.id,
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
    'force-cancel-available-at': executing && run.cancelRequestedAt ? timestamp(run.cancelRequestedAt) : null,
    // otf's own: a state of the apply reached otfd after its job was over (docs/agent-protocol.md).
    'state-saved-late-at': run.stateSavedLateAt ? timestamp(run.stateSavedLateAt) : null,
    'position-in-queue': position ?? null,
    actions: {
      'is-confirmable': canHappen(run.status, 'confirm'),
      'is-discardable': canHappen(run.status, 'discard'),
      // an executing phase is canceled by asking its runner to stop (RunService.cancel)
      'is-cancelable': executing || canHappen(run.status, 'cancel'),
      'is-force-cancelable': executing && run.cancelRequestedAt !== null,
    },
    permissions: {
      'can-apply': canApply,
      'can-discard': canApply,
      'can-cancel': canCancel,
      'can-force-cancel': runs.can(subject, 'run:force-cancel', run),
      'can-force-execute': canApply,
      'can-comment': runs.can(subject, 'run:read', run),
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
  selfLink: (v) => `/api/v2/plans/${v.id}`,
};

export const applyType: ResourceType = {
  type: 'applies',
  attributes: [...phaseAttributes, 'execution-details'],
  selfLink: (v) => `/api/v2/applies/${v.id}`,
};

function presentPhase(phase: Phase, logUrl: string): View {
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

// ---------------------------------------------------------------- request documents

interface ConfigurationVersionDocument {
  data?: { attributes?: { 'auto-queue-runs'?: boolean; speculative?: boolean; provisional?: boolean } };
}

const readCreateConfigurationVersion = validator<ConfigurationVersionDocument>(
  resourceDocument('configuration-versions', {
    'auto-queue-runs': { type: 'boolean' },
    speculative: { type: 'boolean' },
    provisional: { type: 'boolean' },
  }),
);

const ADDRESS = { type: 'string', minLength: 1, maxLength: 1024 };

interface RunDocument {
  data: {
    attributes?: {
      message?: string;
      'is-destroy'?: boolean;
      refresh?: boolean;
      'refresh-only'?: boolean;
      'plan-only'?: boolean;
      'target-addrs'?: string[];
      'replace-addrs'?: string[];
      variables?: Array<{ key: string; value: string }>;
      'auto-apply'?: boolean;
      'allow-empty-apply'?: boolean;
      'save-plan'?: boolean;
    };
    relationships: {
      workspace: { data: { id: string } };
      'configuration-version'?: { data: { id: string } | null };
    };
  };
}

const readCreateRun = validator<RunDocument>(
  resourceDocument(
    'runs',
    {
      message: { type: 'string', maxLength: 10_000 },
      'is-destroy': { type: 'boolean' },
      refresh: { type: 'boolean' },
      'refresh-only': { type: 'boolean' },
      'plan-only': { type: 'boolean' },
      'target-addrs': { type: 'array', items: ADDRESS, maxItems: 1000 },
      'replace-addrs': { type: 'array', items: ADDRESS, maxItems: 1000 },
      variables: {
        type: 'array',
        maxItems: 1000,
        items: {
          type: 'object',
          properties: {
            key: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_-]*$', 'x-message': 'must be a variable name' },
            value: { type: 'string', maxLength: 262_144 },
          },
          required: ['key', 'value'],
        },
      },
      'auto-apply': { type: 'boolean' },
      'allow-empty-apply': { type: 'boolean' },
      'save-plan': { type: 'boolean' },
    },
    {
      relationships: { workspace: toOne('workspaces'), 'configuration-version': toOne('configuration-versions', true) },
      requiredRelationships: ['workspace'],
    },
  ),
);

interface ActionDocument {
  comment?: string;
}

// The CLI sends plain JSON {} or {"comment": "..."} with the JSON:API content type.
const readAction = validator<ActionDocument>({
  type: 'object',
  properties: { comment: { type: ['string', 'null'], maxLength: 10_000 } },
} satisfies Schema);

function readOptional<T>(read: (b: unknown) => T, raw: unknown, empty: T): T {
  return raw && typeof raw === 'object' && Object.keys(raw).length > 0 ? read(raw) : empty;
}

function runFilter(q: Query): Omit<ListFilter, 'limit' | 'offset'> {
  const csv = (name: string) => listParam(q, name);
  const statuses = csv('filter[status]');
  for (const s of statuses ?? []) {
    if (!(RUN_STATUSES as readonly string[]).includes(s)) {
      throw new BadRequestError(`query parameter filter[status]: "${s}" is not a run status`, { parameter: 'filter[status]' });
    }
  }
  return {
    statuses: statuses as RunStatus[] | undefined,
    operations: csv('filter[operation]'),
    search: queryValue(q, 'search[basic]') ?? queryValue(q, 'search[user]'),
  };
}

// ---------------------------------------------------------------- routes

export interface RunRouteDeps {
  runs: RunService;
  configs: ConfigurationVersionService;
  logs: RunLogService;
  workspaces: WorkspaceService;
  blobs: BlobStore;
  site: Site;
}

export function registerRunRoutes(router: ApiRouter, deps: RunRouteDeps): void {
  const { runs, configs, logs, workspaces, blobs, site } = deps;

  // ------------------------------------------------------------ configuration versions

  router.post('/workspaces/:id/configuration-versions', async (ctx) => {
    const doc = readOptional(readCreateConfigurationVersion, body(ctx), {} as ConfigurationVersionDocument);
    const a = doc.data?.attributes ?? {};
    const cv = await configs.create(subjectOf(ctx), ctx.params.id, {
      autoQueueRuns: a['auto-queue-runs'] ?? true,
      speculative: a.speculative ?? false,
      provisional: a.provisional ?? false,
    });
    send(ctx, 201, encode(configurationVersionType, presentConfigurationVersion(cv, configs.uploadUrl(cv))));
  });

  router.get('/workspaces/:id/configuration-versions', async (ctx) => {
    const page = parsePage(query(ctx));
    const { items, total } = await configs.list(subjectOf(ctx), ctx.params.id, page.size, pageOffset(page));
    const views = items.map((cv) => presentConfigurationVersion(cv, configs.uploadUrl(cv)));
    send(ctx, 200, encode(configurationVersionType, views, paginate(page, total, requestUrl(ctx, site))));
  });

  router.get('/configuration-versions/:id', async (ctx) => {
    const { cv } = await configs.get(subjectOf(ctx), ctx.params.id);
    send(ctx, 200, encode(configurationVersionType, presentConfigurationVersion(cv, configs.uploadUrl(cv))));
  });

  router.get('/configuration-versions/:id/download', async (ctx) => {
    const stream = await configs.download(subjectOf(ctx), ctx.params.id);
    ctx.type = 'application/gzip';
    ctx.body = stream;
  });

  // ------------------------------------------------------------ runs

  /** Related resources asked for with include=. Unknown includes are ignored. */
  async function included(ctx: Ctx, subject: Subject, list: Run[]): Promise<Resource[]> {
    const wanted = parseIncludes(query(ctx));
    // Runs of a page mostly share their workspace: each workspace and configuration is loaded once.
    const wss = wanted.has('workspace') ? await loadOnce(list.map((r) => r.workspaceId), (ids) => workspaces.byIds(ids)) : new Map<string, null>();
    const cvs = wanted.has('configuration_version') ? await loadOnce(list.map((r) => r.configurationVersionId), (ids) => configs.byIds(ids)) : new Map<string, null>();
    const out: Resource[] = [];
    for (const run of list) {
      if (wanted.has('plan')) out.push(...resources(planType, [presentPhase(run.plan, logs.url(run.plan.id))]));
      if (wanted.has('apply')) out.push(...resources(applyType, [presentPhase(run.apply, logs.url(run.apply.id))]));
      const ws = wss.get(run.workspaceId);
      if (ws) out.push(...resources(workspaceType, [presentWorkspace(ws, subject)]));
      const cv = cvs.get(run.configurationVersionId);
      if (cv) out.push(...resources(configurationVersionType, [presentConfigurationVersion(cv, null)]));
    }
    return out;
  }

  async function respond(ctx: Ctx, status: number, run: Run): Promise<void> {
    const subject = subjectOf(ctx);
    send(ctx, status, encode(runType, presentRun(run, subject, runs), { included: await included(ctx, subject, [run]) }));
  }

  router.post('/runs', async (ctx) => {
    const doc = readCreateRun(body(ctx));
    const a = doc.data.attributes ?? {};
    const rels = doc.data.relationships;
    const run = await runs.create(subjectOf(ctx), {
      workspaceId: rels.workspace.data.id,
      configurationVersionId: rels['configuration-version']?.data?.id,
      message: a.message,
      isDestroy: a['is-destroy'],
      refresh: a.refresh,
      refreshOnly: a['refresh-only'],
      planOnly: a['plan-only'],
      targetAddrs: a['target-addrs'],
      replaceAddrs: a['replace-addrs'],
      variables: a.variables,
      autoApply: a['auto-apply'],
      allowEmptyApply: a['allow-empty-apply'],
      savePlan: a['save-plan'],
    });
    await respond(ctx, 201, run);
  });

  router.get('/runs/:id', async (ctx) => respond(ctx, 200, await runs.get(subjectOf(ctx), ctx.params.id)));

  router.get('/workspaces/:id/runs', async (ctx) => {
    const subject = subjectOf(ctx);
    const page = parsePage(query(ctx));
    const { items, total } = await runs.listForWorkspace(subject, ctx.params.id, { ...runFilter(query(ctx)), limit: page.size, offset: pageOffset(page) });
    const views = items.map((r) => presentRun(r, subject, runs));
    send(ctx, 200, encode(runType, views, { ...paginate(page, total, requestUrl(ctx, site)), included: await included(ctx, subject, items) }));
  });

  router.get('/organizations/:org/runs', async (ctx) => {
    const subject = subjectOf(ctx);
    const page = parsePage(query(ctx));
    const { items, total } = await runs.listForOrganization(subject, ctx.params.org, { ...runFilter(query(ctx)), limit: page.size, offset: pageOffset(page) });
    const views = items.map((r) => presentRun(r, subject, runs));
    send(ctx, 200, encode(runType, views, { ...paginate(page, total, requestUrl(ctx, site)), included: await included(ctx, subject, items) }));
  });

  router.get('/organizations/:org/runs/queue', async (ctx) => {
    const subject = subjectOf(ctx);
    const page = parsePage(query(ctx));
    const { items, total } = await runs.queue(subject, ctx.params.org, page.size, pageOffset(page));
    const views = items.map(({ run, position }) => presentRun(run, subject, runs, position));
    send(ctx, 200, encode(runType, views, paginate(page, total, requestUrl(ctx, site))));
  });

  const actions = {
    apply: (s: Subject, id: string, c?: string) => runs.confirm(s, id, c),
    discard: (s: Subject, id: string, c?: string) => runs.discard(s, id, c),
    cancel: (s: Subject, id: string, c?: string) => runs.cancel(s, id, c),
    'force-cancel': (s: Subject, id: string, c?: string) => runs.forceCancel(s, id, c),
  };
  for (const [name, act] of Object.entries(actions)) {
    router.post(`/runs/:id/actions/${name}`, async (ctx) => {
      const doc = readOptional(readAction, body(ctx), {} as ActionDocument);
      await act(subjectOf(ctx), ctx.params.id, doc.comment ?? undefined);
      // TFC answers 202 Accepted with no body (set the body first: koa turns a null body into 204).
      ctx.body = null;
      ctx.status = 202;
    });
  }

  // The CLI reads run events and task stages on every remote plan; we have none of either.
  router.get('/runs/:id/run-events', async (ctx) => {
    await runs.get(subjectOf(ctx), ctx.params.id);
    send(ctx, 200, { data: [] });
  });
  router.get('/runs/:id/task-stages', async (ctx) => {
    await runs.get(subjectOf(ctx), ctx.params.id);
    send(ctx, 200, { data: [] });
  });

  // ------------------------------------------------------------ plans and applies

  const sendPlan = (ctx: Ctx, run: Run) =>
    send(ctx, 200, encode(planType, { ...presentPhase(run.plan, logs.url(run.plan.id)), 'has-changes': run.hasChanges, 'generated-configuration': false }));
  const sendApply = (ctx: Ctx, run: Run) => send(ctx, 200, encode(applyType, presentPhase(run.apply, logs.url(run.apply.id))));
  router.get('/plans/:id', async (ctx) => sendPlan(ctx, await runs.byPhase(subjectOf(ctx), ctx.params.id)));
  router.get('/runs/:id/plan', async (ctx) => sendPlan(ctx, await runs.get(subjectOf(ctx), ctx.params.id)));
  router.get('/applies/:id', async (ctx) => sendApply(ctx, await runs.byPhase(subjectOf(ctx), ctx.params.id)));
  router.get('/runs/:id/apply', async (ctx) => sendApply(ctx, await runs.get(subjectOf(ctx), ctx.params.id)));

  // The JSON plan as terraform show -json wrote it, and its redacted form without sensitive values.
  /** The JSON plan; unredacted, it holds sensitive values, so only workspace admins read it. */
  async function jsonPlan(ctx: Ctx, action: Action): Promise<Buffer> {
    const run = await runs.byPhase(subjectOf(ctx), ctx.params.id, action);
    const plan = await blobs.read(artifactKey(run.id, 'plan-json'));
    if (!plan) throw new NotFoundError(`plan ${ctx.params.id} has no JSON output yet (its status is ${run.plan.status})`);
    return plan;
  }
  router.get('/plans/:id/json-output', async (ctx) => {
    const plan = await jsonPlan(ctx, 'plan:read-json-output');
    ctx.type = 'application/json';
    ctx.body = plan;
  });
  router.get('/plans/:id/json-output-redacted', async (ctx) => {
    const plan = JSON.parse((await jsonPlan(ctx, 'run:read')).toString('utf8')) as Parameters<typeof redactPlan>[0];
    ctx.type = 'application/json';
    ctx.body = redactPlan(plan);
  });
}

/** Each distinct id loaded once, all in one statement, by id. */
async function loadOnce<T extends { id: string }>(ids: string[], load: (ids: string[]) => Promise<T[]>): Promise<Map<string, T>> {
  return new Map((await load([...new Set(ids)])).map((r) => [r.id, r]));
}

function nonNegative(q: Query, name: string, fallback: number): number {
  const raw = queryValue(q, name);
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new BadRequestError(`query parameter ${name} must be a whole number, got "${raw}"`, { parameter: name });
  return Number(raw);
}

/** Routes without a bearer token: the configuration upload and log reads, authorised by signature. */
export function registerRunPublicRoutes(router: Router<AppState>, deps: Pick<RunRouteDeps, 'runs' | 'configs' | 'logs'>): void {
  const { runs, configs, logs } = deps;

  router.put(`/_signed/${UPLOAD_PURPOSE}/:id/:signature`, async (ctx) => {
    await configs.upload(ctx.params.id, ctx.params.signature, limitedBody(ctx, configs.maxSize, 'a configuration'));
    ctx.body = null;
    ctx.status = 200;
  });

  router.get(`/_signed/${LOG_PURPOSE}/:id/:signature`, async (ctx) => {
    logs.verify(ctx.params.id, ctx.params.signature);
    const run = await runs.runOfPhase(ctx.params.id);
    if (!run) throw new NotFoundError(`no plan or apply ${ctx.params.id}`);
    const phase = run.plan.id === ctx.params.id ? run.plan : run.apply;
    const q = query(ctx);
    const offset = nonNegative(q, 'offset', 0);
    const limit = Math.min(nonNegative(q, 'limit', 65_536), 1024 * 1024);
    ctx.type = 'text/plain';
    ctx.body = await logs.read(phase.id, phase.status, offset, limit);
  });
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
