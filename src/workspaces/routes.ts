// HTTP routes of the workspaces domain: workspaces by id and by name, locks, tags, tag bindings.
import { isAllowed, type Action } from '../auth/authorize.js';
import type { Subject } from '../auth/subject.js';
import {
  encode,
  pageOffset,
  paginate,
  listParam,
  MAX_LIST_VALUES,
  parseIncludes,
  parsePage,
  queryValue,
  resources,
  timestamp,
  type Query,
  type Resource,
  type ResourceType,
  type View,
} from '../api/jsonapi.js';
import { body, noContent, query, requestUrl, send, subjectOf, type ApiRouter, type Ctx, type Site } from '../api/http.js';
import { nameSchema, resourceDocument, toMany, toOne, validator, type Schema } from '../api/validate.js';
import { BadRequestError, InvalidError } from '../errors.js';
import type { OrganizationService } from '../orgs/service.js';
import { organizationType, presentOrganization } from '../orgs/routes.js';
import type { ProjectService } from '../projects/service.js';
import { presentProject, projectType } from '../projects/routes.js';
import { workspaceScope, type EngineName, type ListOptions, type TagBinding, type TagRef, type Workspace, type WorkspaceService, type WorkspaceSettings } from './service.js';

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
    'current-configuration-version': 'configuration-versions',
    'locked-by': 'users',
    'agent-pool': 'agent-pools',
  },
  selfLink: (v) => `/api/v2/organizations/${(v.organization as { id: string }).id}/workspaces/${v.name as string}`,
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
};

/** The active run holds the workspace lock; that is the run the CLI waits behind. */
export function currentRunId(ws: Workspace): string | null {
  return ws.lock?.holder.type === 'runs' ? ws.lock.holder.id : null;
}

/**
 * Related resources of workspaces that another domain presents, asked for with include= (e.g.
 * latest_run): those the subject may read.
 */
export type WorkspaceIncluder = (subject: Subject, workspaces: Workspace[]) => Promise<Resource[]>;

export function presentWorkspace(ws: Workspace, subject: Subject): View {
  const scope = workspaceScope(ws);
  const permissions: Record<string, boolean> = { 'can-manage-run-tasks': false, 'can-manage-assessments': false, 'can-read-assessments': false };
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
    'vcs-repo': null,
    'vcs-repo-identifier': null,
    locked: ws.lock !== null,
    'locked-reason': ws.lock?.reason ?? null,
    'resource-count': ws.resourceCount,
    'setting-overwrites': { 'execution-mode': false, 'agent-pool': false },
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
    'current-configuration-version': ws.currentConfigurationVersionId ? { id: ws.currentConfigurationVersionId } : null,
    'locked-by': ws.lock ? { id: ws.lock.holder.id, type: ws.lock.holder.type } : null,
    'agent-pool': ws.agentPoolId ? { id: ws.agentPoolId } : null,
  };
}

const tagType: ResourceType = { type: 'tags', attributes: ['name', 'created-at', 'instance-count'] };
const tagBindingType: ResourceType = { type: 'tag-bindings', attributes: ['key', 'value'] };

function presentBinding(ws: Workspace, b: TagBinding): View {
  // Bindings have no identity of their own; derive a stable id from the workspace and the key.
  return { id: `tb-${ws.id.slice(3)}-${Buffer.from(b.key).toString('base64url')}`, key: b.key, value: b.value };
}

// ---------------------------------------------------------------- request documents

const TAG_NAME = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern: '^[A-Za-z0-9]([A-Za-z0-9:_-]*[A-Za-z0-9])?$',
  'x-message': 'must be letters, digits, ":", "-" or "_", starting and ending with a letter or digit',
};

const tagRefSchema: Schema = {
  type: 'object',
  properties: {
    type: { type: 'string', const: 'tags' },
    id: { type: 'string', minLength: 1 },
    attributes: { type: 'object', properties: { name: TAG_NAME }, required: ['name'] },
  },
  required: ['type'],
  anyOf: [{ required: ['id'] }, { required: ['attributes'] }],
  'x-message': 'must be a tag with an id or with attributes.name',
};

const bindingSchema: Schema = {
  type: 'object',
  properties: {
    type: { type: 'string', const: 'tag-bindings' },
    attributes: {
      type: 'object',
      properties: {
        key: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f]+$', 'x-message': 'must be 1 to 128 printable characters' },
        value: { type: 'string', maxLength: 256, pattern: '^[^\\u0000-\\u001f]*$', 'x-message': 'must be at most 256 printable characters' },
      },
      required: ['key'],
    },
  },
  required: ['type', 'attributes'],
};

const flag = { type: 'boolean' };
const stringList = { type: 'array', items: { type: 'string', maxLength: 255 }, maxItems: 100 };

const workspaceAttributes: Record<string, Schema> = {
  name: nameSchema,
  description: { type: 'string', maxLength: 10_000 },
  'execution-mode': { type: 'string', enum: ['remote', 'local', 'agent'] },
  engine: { type: 'string', enum: ['terraform', 'tofu'] },
  operations: flag,
  'auto-apply': flag,
  'auto-apply-run-trigger': flag,
  'allow-destroy-plan': flag,
  'file-triggers-enabled': flag,
  'global-remote-state': flag,
  'queue-all-runs': flag,
  'speculative-enabled': flag,
  'structured-run-output-enabled': flag,
  'terraform-version': { type: 'string', minLength: 1 },
  'working-directory': { type: ['string', 'null'] },
  'trigger-prefixes': stringList,
  'trigger-patterns': stringList,
  'source-name': { type: ['string', 'null'], maxLength: 255 },
  'source-url': { type: ['string', 'null'], maxLength: 2048 },
  'tag-names': { type: 'array', items: TAG_NAME, maxItems: 100 },
  'agent-pool-id': { type: ['string', 'null'], maxLength: 100 },
};

const workspaceRelationships: Record<string, Schema> = {
  project: toOne('projects'),
  'agent-pool': toOne('agent-pools', true),
  tags: { type: 'object', properties: { data: { type: 'array', items: tagRefSchema, maxItems: 100 } }, required: ['data'] },
  'tag-bindings': { type: 'object', properties: { data: { type: 'array', items: bindingSchema, maxItems: 100 } }, required: ['data'] },
};

interface TagRefDoc {
  id?: string;
  attributes?: { name: string };
}

interface BindingDoc {
  attributes: { key: string; value?: string };
}

interface WorkspaceDocument {
  data: {
    attributes?: {
      name?: string;
      description?: string;
      'execution-mode'?: 'remote' | 'local' | 'agent';
      engine?: 'terraform' | 'tofu';
      operations?: boolean;
      'auto-apply'?: boolean;
      'auto-apply-run-trigger'?: boolean;
      'allow-destroy-plan'?: boolean;
      'file-triggers-enabled'?: boolean;
      'global-remote-state'?: boolean;
      'queue-all-runs'?: boolean;
      'speculative-enabled'?: boolean;
      'structured-run-output-enabled'?: boolean;
      'terraform-version'?: string;
      'working-directory'?: string | null;
      'trigger-prefixes'?: string[];
      'trigger-patterns'?: string[];
      'source-name'?: string | null;
      'source-url'?: string | null;
      'tag-names'?: string[];
      'agent-pool-id'?: string | null;
    };
    relationships?: {
      project?: { data: { id: string } };
      'agent-pool'?: { data: { id: string } | null };
      tags?: { data: TagRefDoc[] };
      'tag-bindings'?: { data: BindingDoc[] };
    };
  };
}

const readCreate = validator<WorkspaceDocument>(
  resourceDocument('workspaces', workspaceAttributes, { required: ['name'], relationships: workspaceRelationships }),
);
const readUpdate = validator<WorkspaceDocument>(resourceDocument('workspaces', workspaceAttributes, { relationships: workspaceRelationships }));

function settingsFrom(doc: WorkspaceDocument): Partial<WorkspaceSettings> {
  const a = doc.data.attributes ?? {};
  // The legacy boolean `operations: false` means local execution.
  const executionMode = a['execution-mode'] ?? (a.operations === undefined ? undefined : a.operations ? 'remote' : 'local');
  return {
    name: a.name,
    description: a.description,
    executionMode,
    engine: a.engine,
    autoApply: a['auto-apply'],
    autoApplyRunTrigger: a['auto-apply-run-trigger'],
    allowDestroyPlan: a['allow-destroy-plan'],
    fileTriggersEnabled: a['file-triggers-enabled'],
    globalRemoteState: a['global-remote-state'],
    queueAllRuns: a['queue-all-runs'],
    speculativeEnabled: a['speculative-enabled'],
    structuredRunOutputEnabled: a['structured-run-output-enabled'],
    terraformVersion: a['terraform-version'],
    workingDirectory: a['working-directory'] === null ? '' : a['working-directory'],
    triggerPrefixes: a['trigger-prefixes'],
    triggerPatterns: a['trigger-patterns'],
    sourceName: a['source-name'],
    sourceUrl: a['source-url'],
    projectId: doc.data.relationships?.project?.data.id,
    agentPoolId: a['agent-pool-id'] !== undefined ? a['agent-pool-id'] : agentPoolRelationship(doc),
  };
}

/**
 * The engine of the CLI making a request. OpenTofu names itself in its User-Agent
 * ("OpenTofu/1.6.2"); terraform's cloud backend sends go-tfe's ("go-tfe") but says its version in a
 * Terraform-Version header (which OpenTofu sends too, with its own version). A workspace that
 * `tofu init` or `terraform init` creates without naming an engine runs that engine: the CLI then
 * takes the workspace's version for its own, a version that means nothing to the other engine.
 */
function engineOfClient(ctx: Ctx): EngineName | undefined {
  const agent = ctx.get('User-Agent');
  if (/(^|\s)OpenTofu\/\d/i.test(agent)) return 'tofu';
  if (/(^|\s)Terraform\/\d/i.test(agent) || ctx.get('Terraform-Version')) return 'terraform';
  return undefined;
}

/** The agent-pool relationship: its id, null when it is cleared, undefined when absent. */
function agentPoolRelationship(doc: WorkspaceDocument): string | null | undefined {
  const rel = doc.data.relationships?.['agent-pool'];
  return rel === undefined ? undefined : (rel.data?.id ?? null);
}

function tagRefsFrom(items: TagRefDoc[]): TagRef[] {
  return items.map((t) => (t.id ? { id: t.id } : { name: t.attributes!.name }));
}

function bindingsFrom(items: BindingDoc[]): TagBinding[] {
  return items.map((b) => ({ key: b.attributes.key, value: b.attributes.value ?? '' }));
}

interface TagListDocument {
  data: TagRefDoc[];
}

const readTagList = validator<TagListDocument>({
  type: 'object',
  properties: { data: { type: 'array', items: tagRefSchema, maxItems: 100 } },
  required: ['data'],
});

interface BindingListDocument {
  data: BindingDoc[];
}

const readBindingList = validator<BindingListDocument>({
  type: 'object',
  properties: { data: { type: 'array', items: bindingSchema, maxItems: 100 } },
  required: ['data'],
});

interface WorkspaceListDocument {
  data: Array<{ id: string }>;
}

const readWorkspaceList = validator<WorkspaceListDocument>(toMany('workspaces'));

interface LockDocument {
  data?: { attributes?: { reason?: string } };
}

const readLock = validator<LockDocument>(resourceDocument(null, { reason: { type: 'string', maxLength: 1000 } }));

// ---------------------------------------------------------------- list filters

const SORTS: Record<string, ListOptions['sort']['column']> = { name: 'name', 'created-at': 'created_at', 'updated-at': 'updated_at' };

function listOptions(q: Query): Omit<ListOptions, 'limit' | 'offset'> {
  const csv = (name: string) => listParam(q, name);
  const tagged: Array<{ key: string; value?: string }> = [];
  for (let i = 0; ; i++) {
    const key = queryValue(q, `filter[tagged][${i}][key]`);
    if (key === undefined) break;
    if (i >= MAX_LIST_VALUES) {
      throw new InvalidError(`query parameter filter[tagged] may list at most ${MAX_LIST_VALUES} tags`, { parameter: 'filter[tagged]' });
    }
    tagged.push({ key, value: queryValue(q, `filter[tagged][${i}][value]`) });
  }
  const sortParam = queryValue(q, 'sort') ?? 'name';
  const column = SORTS[sortParam.replace(/^-/, '')];
  if (!column) throw new BadRequestError(`query parameter sort must be one of name, created-at, updated-at (prefix - to reverse), got "${sortParam}"`, { parameter: 'sort' });
  return {
    search: queryValue(q, 'search[name]'),
    wildcardName: queryValue(q, 'search[wildcard-name]'),
    tags: csv('search[tags]'),
    excludeTags: csv('search[exclude-tags]'),
    tagged,
    projectId: queryValue(q, 'filter[project][id]'),
    sort: { column, descending: sortParam.startsWith('-') },
  };
}

// ---------------------------------------------------------------- routes

export interface WorkspaceRouteDeps {
  workspaces: WorkspaceService;
  orgs: OrganizationService;
  projects: ProjectService;
  site: Site;
  /** By include= name: latest_run, current_state_version, ... */
  includers?: Record<string, WorkspaceIncluder>;
}

export function registerWorkspaceRoutes(router: ApiRouter, deps: WorkspaceRouteDeps): void {
  const { workspaces, orgs, projects, site, includers = {} } = deps;

  /** Related resources asked for with include=: organization and project here, the rest from the includers. */
  async function included(ctx: Ctx, subject: Subject, list: Workspace[]): Promise<Resource[]> {
    const wanted = parseIncludes(query(ctx));
    const out: Resource[] = [];
    if (list.length === 0) return out;
    const org = wanted.has('organization') || wanted.has('project') ? await orgs.byId(list[0].organizationId) : null;
    if (org && wanted.has('organization')) out.push(...resources(organizationType, [presentOrganization(org, subject)]));
    if (org && wanted.has('project')) {
      const found = await projects.byIds(list.map((w) => w.projectId));
      out.push(...resources(projectType, found.map((project) => presentProject(project, org, subject))));
    }
    for (const [name, include] of Object.entries(includers)) if (wanted.has(name)) out.push(...(await include(subject, list)));
    return out;
  }

  async function respond(ctx: Ctx, status: number, ws: Workspace): Promise<void> {
    const subject = subjectOf(ctx);
    send(ctx, status, encode(workspaceType, presentWorkspace(ws, subject), { included: await included(ctx, subject, [ws]) }));
  }

  const byName = (ctx: Ctx) => workspaces.getByName(subjectOf(ctx), ctx.params.org, ctx.params.name);
  const byId = (ctx: Ctx) => workspaces.get(subjectOf(ctx), ctx.params.id);

  router.get('/organizations/:org/workspaces', async (ctx) => {
    const subject = subjectOf(ctx);
    const page = parsePage(query(ctx));
    const { items, total } = await workspaces.list(subject, ctx.params.org, {
      ...listOptions(query(ctx)),
      limit: page.size,
      offset: pageOffset(page),
    });
    const views = items.map((w) => presentWorkspace(w, subject));
    send(ctx, 200, encode(workspaceType, views, { ...paginate(page, total, requestUrl(ctx, site)), included: await included(ctx, subject, items) }));
  });

  router.post('/organizations/:org/workspaces', async (ctx) => {
    const doc = readCreate(body(ctx));
    const settings = settingsFrom(doc);
    const rels = doc.data.relationships ?? {};
    const refs = [
      ...tagRefsFrom(rels.tags?.data ?? []),
      ...(doc.data.attributes?.['tag-names'] ?? []).map((name): TagRef => ({ name })),
    ];
    const engine = settings.engine ?? engineOfClient(ctx);
    const ws = await workspaces.create(subjectOf(ctx), ctx.params.org, { ...settings, engine, name: settings.name! }, {
      refs,
      bindings: bindingsFrom(rels['tag-bindings']?.data ?? []),
    });
    await respond(ctx, 201, ws);
  });

  for (const [path, find] of [
    ['/organizations/:org/workspaces/:name', byName],
    ['/workspaces/:id', byId],
  ] as const) {
    router.get(path, async (ctx) => respond(ctx, 200, await find(ctx)));

    router.patch(path, async (ctx) => {
      const doc = readUpdate(body(ctx));
      const rels = doc.data.relationships ?? {};
      const updated = await workspaces.update(subjectOf(ctx), await find(ctx), settingsFrom(doc), {
        refs: tagRefsFrom(rels.tags?.data ?? []),
        bindings: bindingsFrom(rels['tag-bindings']?.data ?? []),
      });
      await respond(ctx, 200, updated);
    });

    router.delete(path, async (ctx) => {
      await workspaces.delete(subjectOf(ctx), await find(ctx));
      noContent(ctx);
    });

    router.post(`${path}/actions/safe-delete`, async (ctx) => {
      await workspaces.safeDelete(subjectOf(ctx), await find(ctx));
      noContent(ctx);
    });
  }

  router.post('/workspaces/:id/actions/lock', async (ctx) => {
    const raw = body(ctx);
    const doc = raw && Object.keys(raw as object).length > 0 ? readLock(raw) : {};
    const ws = await workspaces.lock(subjectOf(ctx), await byId(ctx), doc.data?.attributes?.reason ?? null);
    await respond(ctx, 200, ws);
  });

  router.post('/workspaces/:id/actions/unlock', async (ctx) => {
    await respond(ctx, 200, await workspaces.unlock(subjectOf(ctx), await byId(ctx)));
  });

  router.post('/workspaces/:id/actions/force-unlock', async (ctx) => {
    await respond(ctx, 200, await workspaces.forceUnlock(subjectOf(ctx), await byId(ctx)));
  });

  // ------------------------------------------------------------ remote state consumers

  router.get('/workspaces/:id/relationships/remote-state-consumers', async (ctx) => {
    const subject = subjectOf(ctx);
    const consumers = await workspaces.consumers(subject, await byId(ctx));
    send(ctx, 200, encode(workspaceType, consumers.map((w) => presentWorkspace(w, subject))));
  });

  for (const [method, how] of [
    ['post', 'add'],
    ['patch', 'replace'],
    ['delete', 'remove'],
  ] as const) {
    router[method]('/workspaces/:id/relationships/remote-state-consumers', async (ctx) => {
      const doc = readWorkspaceList(body(ctx));
      await workspaces.changeConsumers(subjectOf(ctx), await byId(ctx), how, doc.data.map((w) => w.id));
      noContent(ctx);
    });
  }

  // ------------------------------------------------------------ tags

  router.get('/workspaces/:id/relationships/tags', async (ctx) => {
    const ws = await byId(ctx);
    const tags = await workspaces.tagsOf(ws);
    send(ctx, 200, encode(tagType, tags.map((t) => ({ id: t.id, name: t.name }))));
  });

  router.post('/workspaces/:id/relationships/tags', async (ctx) => {
    const doc = readTagList(body(ctx));
    await workspaces.addTags(subjectOf(ctx), await byId(ctx), tagRefsFrom(doc.data));
    noContent(ctx);
  });

  router.delete('/workspaces/:id/relationships/tags', async (ctx) => {
    const doc = readTagList(body(ctx));
    await workspaces.removeTags(subjectOf(ctx), await byId(ctx), tagRefsFrom(doc.data));
    noContent(ctx);
  });

  router.get('/workspaces/:id/tag-bindings', async (ctx) => {
    const ws = await byId(ctx);
    send(ctx, 200, encode(tagBindingType, ws.tags.map((b) => presentBinding(ws, b))));
  });

  router.patch('/workspaces/:id/tag-bindings', async (ctx) => {
    const doc = readBindingList(body(ctx));
    const ws = await workspaces.addTagBindings(subjectOf(ctx), await byId(ctx), bindingsFrom(doc.data));
    send(ctx, 200, encode(tagBindingType, ws.tags.map((b) => presentBinding(ws, b))));
  });

  router.get('/organizations/:org/tags', async (ctx) => {
    const page = parsePage(query(ctx));
    const { items, total } = await workspaces.organizationTags(subjectOf(ctx), ctx.params.org, {
      search: queryValue(query(ctx), 'q'),
      limit: page.size,
      offset: pageOffset(page),
    });
    const views = items.map((t) => ({ id: t.id, name: t.name, 'created-at': timestamp(t.createdAt), 'instance-count': t.instanceCount }));
    send(ctx, 200, encode(tagType, views, paginate(page, total, requestUrl(ctx, site))));
  });
}
