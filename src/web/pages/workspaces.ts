// An organization's workspaces (search, tags, project, live latest-run status, locks) and a
// workspace's overview (latest run, resources, outputs, lock and unlock). Every read and change goes
// through the workspaces, runs, projects and state services with the visitor's Subject, as the API's
// routes do; the page only chooses which forms to offer (isAllowed).
import { isAllowed } from '../../auth/authorize.js';
import { principalOf, type Subject } from '../../auth/subject.js';
import { AppError } from '../../errors.js';
import type { Project } from '../../projects/index.js';
import type { Run } from '../../runs/index.js';
import type { StateOutputRecord, WorkspaceResource } from '../../state/index.js';
import { workspaceScope, type Workspace } from '../../workspaces/index.js';
import { actionButton, pager, runStatusBadge, timeTag } from '../components.js';
import { pageNumber, queryText, nameField, textField } from '../forms.js';
import { paths } from '../paths.js';
import type { WebDeps } from '../deps.js';
import { html, type Html } from '../html.js';
import { csrfField, field, redirect, subjectOf, type WebCtx, type WebRouter } from '../http.js';
import { page, type Crumb } from '../layout.js';
import { readRunStatusEvent } from '../run-events.js';
import { stillReadable } from '../events.js';
import { startRunForm } from './runs.js';
import { registerStatePages } from './states.js';

/** Workspaces on one page of the list. */
export const WORKSPACES_PER_PAGE = 100;
/** Resources shown on the overview; the rest are counted. */
const RESOURCES_SHOWN = 100;

/** Links of a workspace's pages; the other engineers' pages link to them through workspaceNav. */
export const workspacePaths = {
  overview: (org: string, ws: string) => paths.workspace(org, ws),
  runs: (org: string, ws: string) => paths.runs(org, ws),
  states: (org: string, ws: string) => `${paths.workspace(org, ws)}/states`,
  variables: (org: string, ws: string) => `${paths.workspace(org, ws)}/variables`,
  settings: (org: string, ws: string, section = '') => `${paths.workspace(org, ws)}/settings${section ? `/${section}` : ''}`,
  events: (org: string) => `${paths.workspaces(org)}/events`,
};

export type WorkspacePage = 'overview' | 'runs' | 'states' | 'variables' | 'settings';

/** The secondary navigation of a workspace's pages, the current one marked. */
export function workspaceNav(org: string, ws: string, current: WorkspacePage): Html {
  const items: Array<[WorkspacePage, string]> = [
    ['overview', 'Overview'],
    ['runs', 'Runs'],
    ['states', 'States'],
    ['variables', 'Variables'],
    ['settings', 'Settings'],
  ];
  return html`<nav aria-label="Workspace" class="workspace-nav"><ul>${items.map(([key, label]) =>
    key === current ? html`<li><a href="${workspacePaths[key](org, ws)}" aria-current="page"><strong>${label}</strong></a></li>` : html`<li><a href="${workspacePaths[key](org, ws)}">${label}</a></li>`,
  )}</ul></nav>`;
}

/** The crumbs of a workspace's pages: organization › Workspaces › workspace › the `rest` (the last one the current page). */
export function workspaceCrumbs(org: string, ws: string, ...rest: Crumb[]): Crumb[] {
  return [
    { label: org, href: paths.workspaces(org) },
    { label: 'Workspaces', href: paths.workspaces(org) },
    rest.length ? { label: ws, href: paths.workspace(org, ws) } : { label: ws },
    ...rest,
  ];
}

/** Who holds a lock, in words (a run's lock links to the run). */
export function lockHolder(org: string, ws: Workspace): Html {
  const holder = ws.lock?.holder;
  if (!holder) return html`no`;
  if (holder.type === 'runs') return html`by run <a href="${paths.run(org, ws.name, holder.id)}">${holder.id}</a>`;
  return html`by ${holder.type === 'teams' ? 'team ' : ''}${holder.name}`;
}

/** Whether the visitor holds the workspace's lock themselves. */
export function lockedByVisitor(subject: Subject, ws: Workspace): boolean {
  const me = principalOf(subject);
  return ws.lock !== null && ws.lock.holder.type === me.type && ws.lock.holder.id === me.id;
}

/** Lock, unlock and force-unlock buttons, as the visitor may use them; `back` is where the post returns. */
export function lockButtons(ctx: WebCtx, org: string, ws: Workspace, back: 'overview' | 'states'): Html {
  const subject = subjectOf(ctx);
  const scope = workspaceScope(ws);
  const base = paths.workspace(org, ws.name);
  const fields = { back };
  if (!ws.lock) return isAllowed(subject, 'workspace:lock', scope) ? actionButton(ctx.state.csrf, `${base}/lock`, 'Lock workspace', { fields }) : html``;
  if (lockedByVisitor(subject, ws)) return isAllowed(subject, 'workspace:unlock', scope) ? actionButton(ctx.state.csrf, `${base}/unlock`, 'Unlock workspace', { fields }) : html``;
  // Somebody else's lock; a run's lock ends with its run (the service refuses to force it).
  if (ws.lock.holder.type !== 'runs' && isAllowed(subject, 'workspace:force-unlock', scope)) {
    return actionButton(ctx.state.csrf, `${base}/force-unlock`, 'Force unlock', { fields, secondary: true, confirm: `Release the lock ${ws.lock.holder.name} holds on ${ws.name}?` });
  }
  return html``;
}

/** The list's filters and page, from the query: the page and its event stream read the same. */
interface ListQuery {
  search: string;
  tag: string;
  project: string;
  number: number;
  /** The filters as query parameters (only those given). */
  params: Record<string, string>;
}

function listQuery(ctx: WebCtx): ListQuery {
  const search = queryText(ctx, 'search');
  const tag = queryText(ctx, 'tag');
  const project = queryText(ctx, 'project');
  const number = pageNumber(ctx);
  const params: Record<string, string> = {};
  if (search) params.search = search;
  if (tag) params.tag = tag;
  if (project) params.project = project;
  return { search, tag, project, number, params };
}

/** The list's event stream, for the same filters and page. */
function streamPath(org: string, q: ListQuery): string {
  const params = new URLSearchParams(q.number > 1 ? { ...q.params, page: String(q.number) } : q.params).toString();
  return params ? `${workspacePaths.events(org)}?${params}` : workspacePaths.events(org);
}

/** A page of the visitor's workspaces, filtered. */
function listPage(deps: WebDeps, subject: Subject, org: string, q: ListQuery) {
  return deps.workspaces.service.list(subject, org, {
    search: q.search || undefined,
    tags: q.tag ? [q.tag] : undefined,
    projectId: q.project || undefined,
    sort: { column: 'name', descending: false },
    limit: WORKSPACES_PER_PAGE,
    offset: (q.number - 1) * WORKSPACES_PER_PAGE,
  });
}

/** The latest runs of these workspaces, by workspace id, in one query; the runs service keeps only those the visitor may read. */
async function latestRuns(deps: WebDeps, subject: Subject, list: Workspace[]): Promise<Map<string, Run>> {
  const runs = await deps.runs.service.latestRuns(subject, list);
  return new Map(runs.map((r) => [r.workspaceId, r]));
}

/** The cell of a workspace's latest run status: the SSE stream swaps its content (sse-swap). */
function statusCell(org: string, ws: Workspace, run: Run | undefined): Html {
  return html`<td id="ws-status-${ws.id}" sse-swap="ws-${ws.id}">${statusContent(org, ws, run)}</td>`;
}

function statusContent(org: string, ws: Workspace, run: Run | undefined): Html {
  return run ? html`<a href="${paths.run(org, ws.name, run.id)}">${runStatusBadge(run.status)}</a>` : runStatusBadge(null);
}

/** A workspace's tags, each a link to the list filtered by it. */
function tagList(org: string, tags: Workspace['tags']): Html {
  if (tags.length === 0) return html``;
  return html`<ul class="tags">${tags.map(
    (t) => html`<li><a href="${filterPath(org, { tag: t.key })}"><code>${t.value ? `${t.key}:${t.value}` : t.key}</code></a></li>`,
  )}</ul>`;
}

/** The workspace list with a filter. */
function filterPath(org: string, params: Record<string, string>): string {
  return `${paths.workspaces(org)}?${new URLSearchParams(params).toString()}`;
}

/** Projects the visitor may read, for the filter and the new-workspace form; none when they may not list them. */
async function visibleProjects(deps: WebDeps, subject: Subject, org: string): Promise<Project[]> {
  try {
    return (await deps.projects.service.list(subject, org, { limit: 100, offset: 0 })).items;
  } catch (err) {
    if (err instanceof AppError && (err.status === 403 || err.status === 404)) return [];
    throw err;
  }
}

export function registerWorkspacePages(router: WebRouter, deps: WebDeps): void {
  const service = deps.workspaces.service;
  // Paths under /app that are not organizations.
  const notOrganizations = new Set(['organizations', 'admin', 'profile']);

  router.get('/app/:org', async (ctx, next) => {
    if (notOrganizations.has(ctx.params.org)) return next();
    redirect(ctx, paths.workspaces(ctx.params.org));
  });

  // Live statuses for the list: a stream per visitor, each rendering with its own visitor's rights.
  // Registered before /:ws so that it wins; a workspace named "events" is still reachable from a
  // browser's address bar, which does not ask for an event stream.
  router.get('/app/:org/workspaces/events', async (ctx, next) => {
    if (!ctx.get('Accept').includes('text/event-stream')) return next();
    // The visitor's rights: gathered again now and then while the stream is open (recheck below).
    let subject = subjectOf(ctx);
    const q = listQuery(ctx);
    const org = await deps.orgs.service.resolve(subject, ctx.params.org);
    const orgName = org.name;
    // Only the workspaces on the visitor's page get events: the organization's other run changes
    // are skipped before anything is read. Filled by `initial`, which runs when the stream listens.
    const onPage = new Set<string>();
    deps.events.openStream(ctx, deps.sessions, {
      topics: [`org:${org.id}`],
      // The statuses of the page's workspaces as they are once the stream listens: a change made
      // between the page's rendering and the stream's start (or while otfd restarted) is not lost.
      initial: async () => {
        const { items } = await listPage(deps, subject, orgName, q);
        for (const w of items) onPage.add(w.id);
        const runs = await latestRuns(deps, subject, items);
        return items.map((w) => ({ event: `ws-${w.id}`, html: statusContent(orgName, w, runs.get(w.id)) }));
      },
      onEvent: async (event, send) => {
        const change = readRunStatusEvent(event);
        if (!change || !onPage.has(change.workspaceId)) return;
        let ws: Workspace;
        try {
          // Read again with this visitor's rights: the event says only that something changed.
          ws = await service.get(subject, change.workspaceId);
        } catch (err) {
          // A workspace this visitor may not see: nothing is sent.
          if (err instanceof AppError) return;
          throw err;
        }
        if (!isAllowed(subject, 'run:read', workspaceScope(ws))) return;
        // The latest run, which need not be the run that changed (a newer one may be queued).
        const [run] = await deps.runs.service.latestRuns(subject, [ws]);
        send({ event: `ws-${ws.id}`, html: statusContent(orgName, ws, run) });
      },
      // Can the visitor still see the organization? From then on the stream renders with these rights.
      recheck: async (now) => {
        if (!(await stillReadable(() => deps.orgs.service.resolve(now, orgName)))) return false;
        subject = now;
        return true;
      },
    });
  });

  router.get('/app/:org/workspaces', async (ctx) => {
    const subject = subjectOf(ctx);
    const q = listQuery(ctx);
    const { search, tag, project, number } = q;
    const { org, items, total } = await listPage(deps, subject, ctx.params.org, q);
    const [runs, projects, pageProjects] = await Promise.all([
      latestRuns(deps, subject, items),
      visibleProjects(deps, subject, org.name),
      deps.projects.service.readable(subject, items.map((w) => w.projectId)),
    ]);
    const projectName = new Map(pageProjects.map((p) => [p.id, p.name]));
    const creatable = projects.filter((p) => isAllowed(subject, 'workspace:create', { organizationId: org.id, projectId: p.id }));
    const totalPages = Math.max(1, Math.ceil(total / WORKSPACES_PER_PAGE));
    const filtered = Boolean(search || tag || project);
    page(ctx, {
      title: `Workspaces · ${org.name}`,
      organization: org.name,
      crumbs: [{ label: org.name, href: paths.workspaces(org.name) }, { label: 'Workspaces' }],
      body: html`<h1>Workspaces</h1>
${creatable.length ? html`<p><a href="#new-workspace">New workspace</a></p>` : ''}
<form method="get" action="${paths.workspaces(org.name)}" class="filters" aria-label="Filter workspaces">
<div class="grid">
<div><label for="search">Name contains</label><input type="search" id="search" name="search" value="${search}" maxlength="255"></div>
<div><label for="tag">Tag</label><input type="text" id="tag" name="tag" value="${tag}" maxlength="255"></div>
<div><label for="project">Project</label><select id="project" name="project">
<option value="">All projects</option>
${projects.map((p) => html`<option value="${p.id}"${p.id === project ? html` selected` : ''}>${p.name}</option>`)}
</select></div>
</div>
<button type="submit">Filter</button>${filtered ? html` <a href="${paths.workspaces(org.name)}">Clear filters</a>` : ''}
</form>
<p>${total} workspace${total === 1 ? '' : 's'}${filtered ? (total === 1 ? ' matches' : ' match') : ''}.</p>
${
  items.length === 0
    ? html`<p>${total > 0 ? html`There is nothing on page ${number}: <a href="${paths.workspaces(org.name)}">back to the first page</a>.` : filtered ? 'No workspace matches these filters.' : 'There are no workspaces you can see yet.'}</p>`
    : html`<div hx-ext="sse" sse-connect="${streamPath(org.name, q)}" sse-close="signed-out">
<table>
<thead><tr><th scope="col">Name</th><th scope="col">Project</th><th scope="col">Tags</th><th scope="col">Latest run</th><th scope="col">Locked</th><th scope="col">Updated</th></tr></thead>
<tbody>
${items.map(
  (w) => html`<tr id="ws-${w.id}">
<th scope="row"><a href="${paths.workspace(org.name, w.name)}">${w.name}</a></th>
<td>${projectName.has(w.projectId) ? html`<a href="${filterPath(org.name, { project: w.projectId })}">${projectName.get(w.projectId)}</a>` : ''}</td>
<td>${tagList(org.name, w.tags)}</td>
${statusCell(org.name, w, runs.get(w.id))}
<td>${lockHolder(org.name, w)}</td>
<td>${timeTag(w.updatedAt)}</td>
</tr>`,
)}
</tbody>
</table>
</div>`
}
${pager(paths.workspaces(org.name), q.params, number, totalPages)}
${creatable.length ? newWorkspaceForm(ctx, org.name, creatable) : ''}`,
    });
  });

  router.post('/app/:org/workspaces', async (ctx) => {
    const subject = subjectOf(ctx);
    const name = nameField(ctx, 'name', 'A workspace name');
    const description = textField(ctx, 'description', 'A description', 10_000, { multiline: true });
    const projectId = field(ctx, 'project');
    const ws = await service.create(subject, ctx.params.org, { name, description, projectId: projectId || undefined });
    redirect(ctx, paths.workspace(ws.organizationName, ws.name));
  });

  router.get('/app/:org/workspaces/:ws', async (ctx) => {
    const subject = subjectOf(ctx);
    const ws = await service.getByName(subject, ctx.params.org, ctx.params.ws);
    const org = ws.organizationName;
    const scope = workspaceScope(ws);
    const [project, latest, resources, outputs, pool] = await Promise.all([
      deps.projects.service.readable(subject, [ws.projectId]).then(([p]) => p),
      deps.runs.service.latestRuns(subject, [ws]).then(([r]) => r),
      isAllowed(subject, 'state:read', { ...scope, stateVersion: 'current' }) ? deps.state.resources.list(subject, ws.id, RESOURCES_SHOWN, 0) : Promise.resolve(null),
      isAllowed(subject, 'state:read-outputs', { ...scope, stateVersion: 'current' }) ? deps.state.service.currentOutputs(subject, ws.id) : Promise.resolve(null),
      // The agent pool by name, for who may see it; its id otherwise.
      ws.agentPoolId ? deps.pools.service.get(subject, ws.agentPoolId).then((p) => p.pool, () => null) : Promise.resolve(null),
    ]);
    const repo = ws.vcsRepo;
    page(ctx, {
      title: `${ws.name} · ${org}`,
      organization: org,
      crumbs: workspaceCrumbs(org, ws.name),
      body: html`<h1>${ws.name}</h1>
${workspaceNav(org, ws.name, 'overview')}
${ws.description ? html`<p class="description">${ws.description}</p>` : ''}
<section aria-labelledby="about">
<h2 id="about">About</h2>
<dl class="facts">
<dt>Project</dt><dd>${project ? html`<a href="${filterPath(org, { project: project.id })}">${project.name}</a>` : ws.projectId}</dd>
<dt>Tags</dt><dd>${ws.tags.length ? tagList(org, ws.tags) : 'none'}</dd>
<dt>Execution mode</dt><dd>${ws.executionMode}${
        ws.executionMode === 'agent' && ws.agentPoolId
          ? html` (agent pool ${pool ? html`<a href="${paths.pool(org, pool.id)}">${pool.name}</a>` : html`<code>${ws.agentPoolId}</code>`})`
          : ''
      }</dd>
<dt>Engine</dt><dd>${ws.engine} ${ws.terraformVersion}</dd>
${ws.workingDirectory ? html`<dt>Working directory</dt><dd><code>${ws.workingDirectory}</code></dd>` : ''}
<dt>Repository</dt><dd>${
        repo
          ? html`${/^https?:\/\//.test(repo.repositoryHttpUrl) ? html`<a href="${repo.repositoryHttpUrl}">${repo.identifier}</a>` : repo.identifier} (${repo.serviceProvider}, branch <code>${repo.branch}</code>)`
          : 'not connected'
      }</dd>
<dt>Locked</dt><dd>${lockHolder(org, ws)}${ws.lock?.reason ? html`: ${ws.lock.reason}` : ''}</dd>
<dt>Resources</dt><dd>${ws.resourceCount}</dd>
<dt>Updated</dt><dd>${timeTag(ws.updatedAt)}</dd>
</dl>
<p>${lockButtons(ctx, org, ws, 'overview')}</p>
</section>
<section aria-labelledby="latest-run">
<h2 id="latest-run">Latest run</h2>
${
  latest
    ? html`<p>${runStatusBadge(latest.status)} <a href="${paths.run(org, ws.name, latest.id)}">${latest.message || latest.id}</a> · ${timeTag(latest.createdAt)}</p>`
    : html`<p>There are no runs yet.</p>`
}
${startRunForm(ctx, org, ws)}
</section>
${resources ? resourcesSection(resources) : ''}
${outputs ? outputsSection(outputs) : ''}`,
    });
  });

  for (const [action, call] of [
    ['lock', (s: Subject, w: Workspace) => service.lock(s, w, null)],
    ['unlock', (s: Subject, w: Workspace) => service.unlock(s, w)],
    ['force-unlock', (s: Subject, w: Workspace) => service.forceUnlock(s, w)],
  ] as const) {
    router.post(`/app/:org/workspaces/:ws/${action}`, async (ctx) => {
      const subject = subjectOf(ctx);
      const ws = await service.getByName(subject, ctx.params.org, ctx.params.ws);
      await call(subject, ws);
      const back = field(ctx, 'back') === 'states' ? workspacePaths.states(ws.organizationName, ws.name) : paths.workspace(ws.organizationName, ws.name);
      redirect(ctx, back);
    });
  }

  registerStatePages(router, deps);
}

function newWorkspaceForm(ctx: WebCtx, org: string, projects: Project[]): Html {
  return html`<section aria-labelledby="new-workspace">
<h2 id="new-workspace">New workspace</h2>
<form method="post" action="${paths.workspaces(org)}">
${csrfField(ctx)}
<label for="new-name">Name</label>
<input type="text" id="new-name" name="name" required maxlength="90" pattern="[A-Za-z0-9_\\-]+" aria-describedby="new-name-help">
<small id="new-name-help">Letters, digits, "-" and "_".</small>
<label for="new-description">Description</label>
<textarea id="new-description" name="description" maxlength="10000"></textarea>
<label for="new-project">Project</label>
<select id="new-project" name="project">${projects.map((p) => html`<option value="${p.id}"${p.isDefault ? html` selected` : ''}>${p.name}</option>`)}</select>
<button type="submit">Create workspace</button>
</form>
</section>`;
}

function resourcesSection(list: { items: WorkspaceResource[]; total: number }): Html {
  return html`<section aria-labelledby="resources">
<h2 id="resources">Resources</h2>
${
  list.items.length === 0
    ? html`<p>The current state manages no resources.</p>`
    : html`<table>
<thead><tr><th scope="col">Address</th><th scope="col">Type</th><th scope="col">Name</th><th scope="col">Provider</th><th scope="col">Module</th></tr></thead>
<tbody>${list.items.map((r) => html`<tr><td><code>${r.address}</code></td><td>${r.providerType}</td><td>${r.name}${r.nameIndex ? html`[${r.nameIndex}]` : ''}</td><td>${r.provider}</td><td>${r.module || 'root'}</td></tr>`)}</tbody>
</table>
${list.total > list.items.length ? html`<p>Showing ${list.items.length} of ${list.total} resources.</p>` : ''}`
}
</section>`;
}

function outputsSection(outputs: StateOutputRecord[]): Html {
  return html`<section aria-labelledby="outputs">
<h2 id="outputs">Outputs</h2>
${
  outputs.length === 0
    ? html`<p>The current state has no outputs.</p>`
    : html`<table>
<thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Value</th></tr></thead>
<tbody>${outputs.map(
        (o) => html`<tr><td><code>${o.name}</code></td><td>${o.type === null ? '' : typeof o.type === 'string' ? o.type : JSON.stringify(o.type)}</td><td>${
          // A sensitive value never reaches the page: not in the markup, not in an attribute.
          o.sensitive ? html`<em>sensitive</em>` : html`<code>${JSON.stringify(o.value)}</code>`
        }</td></tr>`,
      )}</tbody>
</table>`
}
</section>`;
}
