// HTTP routes of the workspaces domain: workspaces by id and by name, locks, tags, tag bindings.
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
  type Query,
  type Resource,
} from '../api/jsonapi.js';
import { body, noContent, query, requestUrl, send, subjectOf, type ApiRouter, type Ctx, type Site } from '../api/http.js';
import { BadRequestError, InvalidError } from '../errors.js';
import { type OrganizationService, organizationType, presentOrganization } from '../orgs/index.js';
import { presentProject, type ProjectService, projectType } from '../projects/index.js';
import { parseTimeoutAttribute } from '../timeouts.js';
import { presentBinding, presentWorkspace, tagBindingType, tagType, workspaceType, type WorkspaceIncluder } from './presenters.js';
import { readBindingList, readCreate, readLock, readSshKeyAssignment, readTagList, readUpdate, readWorkspaceList, type BindingDocument, type TagRefDocument, type WorkspaceDocument } from './schemas.js';
import type { EngineName, ListOptions, TagBinding, TagRef, VcsRepoInput, Workspace, WorkspaceService, WorkspaceSettings } from './service.js';

// ---------------------------------------------------------------- request documents

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
    assessmentsEnabled: a['assessments-enabled'],
    planTimeoutSeconds: parseTimeoutAttribute(a['plan-timeout'], '/data/attributes/plan-timeout'),
    applyTimeoutSeconds: parseTimeoutAttribute(a['apply-timeout'], '/data/attributes/apply-timeout'),
    executionOverwritten: overwritten(a['setting-overwrites']),
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

/** The vcs-repo attribute: undefined when absent, null to disconnect. */
function vcsRepoFrom(doc: WorkspaceDocument): VcsRepoInput | null | undefined {
  const v = doc.data.attributes?.['vcs-repo'];
  if (v === undefined || v === null) return v;
  if (v['github-app-installation-id']) {
    throw new InvalidError('GitHub Apps are not supported: connect the repository with the oauth-token-id of a VCS provider (oauth client) instead', {
      pointer: '/data/attributes/vcs-repo/github-app-installation-id',
    });
  }
  return {
    identifier: v.identifier,
    oauthTokenId: v['oauth-token-id'],
    branch: v.branch,
    tagsRegex: v['tags-regex'],
    ingressSubmodules: v['ingress-submodules'],
    allowForkPullRequests: v['allow-fork-pull-requests'],
    pollIntervalSeconds: v['poll-interval-seconds'],
  };
}

/**
 * setting-overwrites as one flag: here a workspace follows its organization's execution mode and
 * agent pool together (a mode of its own with the organization's pool, or the reverse, would not
 * make a workspace that can run), so the two may not disagree.
 */
function overwritten(flags: { 'execution-mode'?: boolean; 'agent-pool'?: boolean } | undefined): boolean | undefined {
  const mode = flags?.['execution-mode'];
  const pool = flags?.['agent-pool'];
  if (mode !== undefined && pool !== undefined && mode !== pool) {
    throw new InvalidError('setting-overwrites: execution-mode and agent-pool must be equal: a workspace follows its organization\'s execution mode and agent pool together', {
      pointer: '/data/attributes/setting-overwrites',
    });
  }
  return mode ?? pool;
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

function tagRefsFrom(items: TagRefDocument[]): TagRef[] {
  return items.map((t) => (t.id ? { id: t.id } : { name: t.attributes!.name }));
}

function bindingsFrom(items: BindingDocument[]): TagBinding[] {
  return items.map((b) => ({ key: b.attributes.key, value: b.attributes.value ?? '' }));
}

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
    const ws = await workspaces.create(
      subjectOf(ctx),
      ctx.params.org,
      { ...settings, engine, name: settings.name! },
      { refs, bindings: bindingsFrom(rels['tag-bindings']?.data ?? []) },
      // null on a create is no repository, as absent.
      vcsRepoFrom(doc) ?? undefined,
    );
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
      const updated = await workspaces.update(
        subjectOf(ctx),
        await find(ctx),
        settingsFrom(doc),
        { refs: tagRefsFrom(rels.tags?.data ?? []), bindings: bindingsFrom(rels['tag-bindings']?.data ?? []) },
        vcsRepoFrom(doc),
      );
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
    // The CLI locks with an empty body, or with a document whose data.type is "".
    const doc = raw && Object.keys(raw as object).length > 0 ? readLock(raw) : null;
    const ws = await workspaces.lock(subjectOf(ctx), await byId(ctx), doc?.data.attributes?.reason ?? null);
    await respond(ctx, 200, ws);
  });

  router.post('/workspaces/:id/actions/unlock', async (ctx) => {
    await respond(ctx, 200, await workspaces.unlock(subjectOf(ctx), await byId(ctx)));
  });

  router.post('/workspaces/:id/actions/force-unlock', async (ctx) => {
    await respond(ctx, 200, await workspaces.forceUnlock(subjectOf(ctx), await byId(ctx)));
  });

  // Assigns (attributes.id) or unassigns (null) the SSH key of the workspace's runs, as Terraform Cloud does.
  router.patch('/workspaces/:id/relationships/ssh-key', async (ctx) => {
    const doc = readSshKeyAssignment(body(ctx));
    await respond(ctx, 200, await workspaces.setSshKey(subjectOf(ctx), await byId(ctx), doc.data.attributes.id));
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
}
