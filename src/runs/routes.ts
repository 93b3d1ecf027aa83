// HTTP routes of the runs domain: configuration versions (and their signed upload URL), runs and
// their actions, plans and applies (and their signed log URLs), the organization's run queue.
import type Router from '@koa/router';
import type { Action } from '../auth/authorize.js';
import type { Subject } from '../auth/subject.js';
import { encode, listParam, pageOffset, paginate, parseIncludes, parsePage, queryValue, resources, type Query, type Resource } from '../api/jsonapi.js';
import { limitedBody } from '../api/body.js';
import { body, query, requestUrl, send, subjectOf, type ApiRouter, type AppState, type Ctx, type Site } from '../api/http.js';
import type { BlobStore } from '../blobs/store.js';
import { BadRequestError, InvalidError, NotFoundError } from '../errors.js';
import type { StateService } from '../state/index.js';
import { presentUser, type UserService, userType } from '../users/index.js';
import { presentWorkspace, type WorkspaceService, workspaceType } from '../workspaces/index.js';
import { artifactKey } from './artifacts.js';
import { redactPlan } from './redact.js';
import { UPLOAD_PURPOSE, type ConfigurationVersionService } from './configs.js';
import { LOG_PURPOSE, type RunLogService } from './logs.js';
import { RUN_STATUSES, type RunStatus } from './machine.js';
import { applyType, configurationVersionType, includedIngress, ingressAttributesType, presentIngressAttributes, planType, presentConfigurationVersion, presentPhase, presentPrincipalAsUser, presentRun, runType } from './presenters.js';
import { readAction, readCreateConfigurationVersion, readCreateRun, readForceEnd } from './schemas.js';
import type { ListFilter, Run, RunService } from './service.js';
import type { WaitingService } from './waiting.js';

// ---------------------------------------------------------------- request documents

/** A body that may be absent or empty: the document read, or undefined. */
function readOptional<T>(read: (b: unknown) => T, raw: unknown): T | undefined {
  return raw && typeof raw === 'object' && Object.keys(raw).length > 0 ? read(raw) : undefined;
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
  users: UserService;
  state: StateService;
  blobs: BlobStore;
  site: Site;
  /** Why runs wait, and their position in the queue. */
  waiting: WaitingService;
}

export function registerRunRoutes(router: ApiRouter, deps: RunRouteDeps): void {
  const { runs, configs, logs, workspaces, users, state, blobs, site, waiting } = deps;

  // ------------------------------------------------------------ configuration versions

  router.post('/workspaces/:id/configuration-versions', async (ctx) => {
    const a = readOptional(readCreateConfigurationVersion, body(ctx))?.data.attributes ?? {};
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
    // The upload URL is in the answer to the create only, as in TFC.
    const views = items.map((cv) => presentConfigurationVersion(cv, null));
    // include=ingress_attributes, as on one configuration version (go-tfe's ConfigVerIngressAttributes).
    const withIngress = parseIncludes(query(ctx)).has('ingress_attributes');
    const included = withIngress ? items.flatMap(includedIngress) : [];
    send(ctx, 200, encode(configurationVersionType, views, { ...paginate(page, total, requestUrl(ctx, site)), ...(included.length > 0 ? { included } : {}) }));
  });

  router.get('/configuration-versions/:id', async (ctx) => {
    const { cv } = await configs.get(subjectOf(ctx), ctx.params.id);
    // include=ingress_attributes, as go-tfe asks for it (ConfigVerIngressAttributes).
    const included = cv.ingress && parseIncludes(query(ctx)).has('ingress_attributes') ? includedIngress(cv) : [];
    send(ctx, 200, encode(configurationVersionType, presentConfigurationVersion(cv, null), included.length > 0 ? { included } : {}));
  });

  // Where a configuration version from a commit came from; TFC answers 404 for one uploaded.
  router.get('/configuration-versions/:id/ingress-attributes', async (ctx) => {
    const { cv } = await configs.get(subjectOf(ctx), ctx.params.id);
    if (!cv.ingress) throw new NotFoundError(`configuration version ${cv.id} was uploaded, not made from a commit: it has no ingress attributes`);
    send(ctx, 200, encode(ingressAttributesType, presentIngressAttributes(cv.ingress)));
  });

  router.get('/configuration-versions/:id/download', async (ctx) => {
    const stream = await configs.download(subjectOf(ctx), ctx.params.id);
    ctx.type = 'application/gzip';
    ctx.body = stream;
  });

  router.get('/runs/:id/configuration-version/download', async (ctx) => {
    const subject = subjectOf(ctx);
    const run = await runs.get(subject, ctx.params.id);
    const stream = await configs.download(subject, run.configurationVersionId);
    ctx.type = 'application/gzip';
    ctx.body = stream;
  });

  router.post('/configuration-versions/:id/actions/archive', async (ctx) => {
    await configs.archive(subjectOf(ctx), ctx.params.id);
    // TFC answers 202 Accepted with no body (set the body first: koa turns a null body into 204).
    ctx.body = null;
    ctx.status = 202;
  });

  // ------------------------------------------------------------ runs

  /** Related resources asked for with include=. Unknown includes are ignored. */
  async function included(ctx: Ctx, subject: Subject, list: Run[]): Promise<Resource[]> {
    const wanted = parseIncludes(query(ctx));
    // Runs of a page mostly share their workspace: each workspace and configuration is loaded once.
    const wss = wanted.has('workspace') ? await loadOnce(list.map((r) => r.workspaceId), (ids) => workspaces.byIds(ids)) : new Map<string, null>();
    // configuration_version.ingress_attributes (go-tfe's RunConfigVerIngress) includes both, as JSON:API has it.
    const withIngress = wanted.has('configuration_version.ingress_attributes');
    const cvs = wanted.has('configuration_version') || withIngress ? await loadOnce(list.map((r) => r.configurationVersionId), (ids) => configs.byIds(ids)) : new Map<string, null>();
    // created-by names a user only for runs a user created (a team's or organization's token is no user).
    const creators = list.flatMap((r) => (r.createdBy?.type === 'users' ? [r.createdBy] : []));
    const out: Resource[] = [];
    if (wanted.has('created_by')) {
      const found = await loadOnce(creators.map((c) => c.id), (ids) => users.byIds(ids));
      const shown = new Set<string>();
      for (const creator of creators) {
        if (shown.has(creator.id)) continue;
        shown.add(creator.id);
        const user = found.get(creator.id);
        // The site administrator (and a user deleted since) has no row: shown by the name the run kept.
        out.push(...resources(userType, [user ? presentUser(user, subject) : presentPrincipalAsUser(creator)]));
      }
    }
    for (const run of list) {
      if (wanted.has('plan')) out.push(...resources(planType, [presentPhase(run.plan, logs.url(run.plan.id))]));
      if (wanted.has('apply')) out.push(...resources(applyType, [presentPhase(run.apply, logs.url(run.apply.id))]));
      const ws = wss.get(run.workspaceId);
      if (ws) out.push(...resources(workspaceType, [presentWorkspace(ws, subject)]));
      const cv = cvs.get(run.configurationVersionId);
      if (cv) out.push(...resources(configurationVersionType, [presentConfigurationVersion(cv, null)]));
      if (cv && withIngress) out.push(...includedIngress(cv));
    }
    return out;
  }

  async function respond(ctx: Ctx, status: number, run: Run): Promise<void> {
    const subject = subjectOf(ctx);
    // One run shown: its true position in the organization's queue and what it waits for.
    const [position, why] = await Promise.all([waiting.position(run), waiting.explain(run)]);
    send(ctx, status, encode(runType, presentRun(run, subject, runs, position, why), { included: await included(ctx, subject, [run]) }));
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
      terraformVersion: a['terraform-version'],
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
  // otf's own (docs/timeouts-and-hooks.md): an owner ends the run now, with a reason; 200 with the run as it ended.
  router.post('/runs/:id/actions/force-end', async (ctx) => {
    const { reason } = readForceEnd(body(ctx));
    const trimmed = reason.trim();
    if (trimmed === '') throw new InvalidError('reason must say why the run is ended: it is blank', { pointer: '/reason' });
    // Tabs and line breaks are text; other control characters are not (they would garble the run's events and logs).
    if ([...trimmed].some((c) => (c < ' ' && c !== '\t' && c !== '\n' && c !== '\r') || c === '\u007f')) throw new InvalidError('reason must not contain control characters', { pointer: '/reason' });
    const subject = subjectOf(ctx);
    const run = await runs.forceEnd(subject, ctx.params.id, trimmed);
    send(ctx, 200, encode(runType, presentRun(run, subject, runs)));
  });
  router.post('/runs/:id/actions/force-execute', async (ctx) => {
    await runs.forceExecute(subjectOf(ctx), ctx.params.id);
    ctx.body = null;
    ctx.status = 202;
  });

  for (const [name, act] of Object.entries(actions)) {
    router.post(`/runs/:id/actions/${name}`, async (ctx) => {
      const doc = readOptional(readAction, body(ctx));
      await act(subjectOf(ctx), ctx.params.id, doc?.comment ?? undefined);
      // TFC answers 202 Accepted with no body (set the body first: koa turns a null body into 204).
      ctx.body = null;
      ctx.status = 202;
    });
  }

  // The CLI reads run events (comment-routes.ts) and task stages on every remote plan; we have no task stages.
  router.get('/runs/:id/task-stages', async (ctx) => {
    await runs.get(subjectOf(ctx), ctx.params.id);
    send(ctx, 200, { data: [] });
  });

  // ------------------------------------------------------------ plans and applies

  const sendPlan = (ctx: Ctx, run: Run) =>
    send(ctx, 200, encode(planType, { ...presentPhase(run.plan, logs.url(run.plan.id)), 'has-changes': run.hasChanges, 'generated-configuration': false, exports: [] }));
  // An apply names the state versions it wrote, as TFC's do (to those who may read state).
  const sendApply = async (ctx: Ctx, run: Run) => {
    const written = runs.can(subjectOf(ctx), 'state:read', run) ? await state.idsOfRun(run.workspaceId, run.id) : [];
    send(ctx, 200, encode(applyType, { ...presentPhase(run.apply, logs.url(run.apply.id)), 'state-versions': written.map((id) => ({ id })) }));
  };
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
