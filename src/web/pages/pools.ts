// Agent pools: the organization's pools, and a pool's page with its agents' live status, the job
// each is running, their last heartbeat, and the pool's agent tokens (a new one shown once).
// Agents' changes arrive as `pool:<id>` events (published by the pools domain's hook, wired in
// src/server.ts); the page's event stream answers each with the agents table's rows afresh,
// rendered with the visitor's own rights.
import { isAllowed } from '../../auth/authorize.js';
import type { Subject } from '../../auth/subject.js';
import { NotFoundError } from '../../errors.js';
import { stillReadable } from '../events.js';
import type { Organization } from '../../orgs/index.js';
import type { Agent, HeldJob, Pool, PoolWorkspace } from '../../pools/index.js';
import { actionButton, pager, timeTag } from '../components.js';
import { enc, paths } from '../paths.js';
import { checkbox, fieldList, nameField, pageNumber, textField } from '../forms.js';
import type { WebDeps } from '../deps.js';
import { attr, html, type Html } from '../html.js';
import { csrfField, redirect, subjectOf, type WebCtx, type WebRouter } from '../http.js';
import { page } from '../layout.js';
import { orgCrumbs, secretOnce, tokenSection } from './org-shared.js';

const PAGE_SIZE = 50;
/** The agents shown on a pool's page: the most recent first. */
const MAX_AGENTS = 100;
/** Workspaces offered as a pool's allowed workspaces. */
const MAX_WORKSPACES = 200;
/** The shortest time between two renders of a pool page's agents table for one visitor. */
const RENDER_EVERY_MS = 250;

export function registerPoolPages(router: WebRouter, deps: WebDeps): void {
  const pools = deps.pools.service;

  /** The pool, if the visitor may see it and it belongs to the organization of the URL; else 404. */
  async function poolOf(ctx: WebCtx): Promise<{ pool: Pool; org: Organization }> {
    const found = await pools.get(subjectOf(ctx), ctx.params.pool);
    if (found.org.name !== ctx.params.org) throw new NotFoundError(`agent pool "${ctx.params.pool}" not found`);
    return found;
  }

  async function workspaceNames(subject: Subject, org: Organization): Promise<PoolWorkspace[]> {
    const { items } = await deps.workspaces.service.list(subject, org.name, { sort: { column: 'name', descending: false }, limit: MAX_WORKSPACES, offset: 0 });
    return items.map((w) => ({ id: w.id, name: w.name }));
  }

  /**
   * Checkboxes of allowed workspaces. Each offered one is named in a hidden "offered" field too:
   * saving changes only the workspaces the form offered, never those it did not show.
   */
  function workspaceChoices(choices: PoolWorkspace[], chosen: string[]): Html {
    if (choices.length === 0) return html`<p>The organization has no workspaces yet.</p>`;
    return html`<fieldset><legend>Allowed workspaces (when not organization-scoped)</legend>
${choices.map((w) => html`<input type="hidden" name="offered_workspaces" value="${w.id}"><label for="allow-${w.id}"><input type="checkbox" id="allow-${w.id}" name="allowed_workspaces" value="${w.id}" ${attr('checked', chosen.includes(w.id))}> ${w.name}</label>`)}
</fieldset>`;
  }

  /** The current allowed workspaces first (all of them the visitor can read), then the first others. */
  function choicesFor(allowed: PoolWorkspace[], first: PoolWorkspace[]): PoolWorkspace[] {
    const ids = new Set(allowed.map((w) => w.id));
    return [...allowed, ...first.filter((w) => !ids.has(w.id))];
  }

  function namesOf(list: PoolWorkspace[], hidden: number): string {
    const names = list.map((w) => w.name);
    if (hidden > 0) names.push(`${hidden} you cannot see`);
    return names.length ? names.join(', ') : 'none';
  }

  // ---------------------------------------------------------------- the list

  router.get('/app/:org/agent-pools', async (ctx) => {
    const subject = subjectOf(ctx);
    const n = pageNumber(ctx);
    const { org, items, total } = await pools.list(subject, ctx.params.org, { sort: { column: 'name', descending: false }, limit: PAGE_SIZE, offset: (n - 1) * PAGE_SIZE });
    const mayManage = isAllowed(subject, 'pool:manage', { organizationId: org.id });
    const base = paths.pools(org.name);
    page(ctx, {
      title: `Agent pools · ${org.name}`,
      organization: org.name,
      crumbs: orgCrumbs(org.name, { label: 'Agent pools' }),
      body: html`<h1>Agent pools</h1>
${items.length === 0
  ? html`<p>The organization has no agent pools.</p>`
  : html`<div class="overflow-auto"><table tabindex="0" aria-label="Agent pools">
<thead><tr><th scope="col">Name</th><th scope="col">Scope</th><th scope="col">Agents</th><th scope="col">Created</th></tr></thead>
<tbody>${items.map(
      (p) => html`<tr><td><a href="${paths.pool(org.name, p.id)}">${p.name}</a>${org.defaultAgentPoolId === p.id ? ' (default)' : ''}</td><td>${p.organizationScoped ? 'organization' : `${p.allowedWorkspaceIds.length} allowed workspace(s)`}</td><td>${p.agentCount}</td><td>${timeTag(p.createdAt)}</td></tr>`,
    )}</tbody></table></div>`}
${pager(base, {}, n, Math.max(1, Math.ceil(total / PAGE_SIZE)))}
${mayManage
  ? html`<section aria-labelledby="new-pool"><h2 id="new-pool">New agent pool</h2>
<form method="post" action="${base}">
${csrfField(ctx)}
<label for="pool-name">Name</label>
<input id="pool-name" name="name" required maxlength="90">
<label for="pool-scoped"><input id="pool-scoped" name="organization_scoped" type="checkbox" checked> Organization-scoped: every workspace may use it</label>
${workspaceChoices(await workspaceNames(subject, org), [])}
<button type="submit">Create agent pool</button>
</form></section>`
  : ''}`,
    });
  });

  router.post('/app/:org/agent-pools', async (ctx) => {
    const { pool, org } = await pools.create(subjectOf(ctx), ctx.params.org, {
      name: nameField(ctx, 'name', 'the pool name'),
      organizationScoped: checkbox(ctx, 'organization_scoped'),
      allowedWorkspaceIds: fieldList(ctx, 'allowed_workspaces'),
    });
    redirect(ctx, paths.pool(org.name, pool.id));
  });

  // ---------------------------------------------------------------- one pool

  /** The rows of the agents table: what the event stream sends again at each change. */
  async function agentRows(subject: Subject, pool: Pool, org: Organization, csrf: string | null): Promise<Html> {
    const { items } = await pools.listAgents(subject, pool.id, null, MAX_AGENTS, 0);
    if (items.length === 0) return html`<tr><td colspan="6">No agents have registered with this pool yet.</td></tr>`;
    const jobs = await pools.heldJobs(subject, pool.id, items);
    const mayManage = csrf !== null && isAllowed(subject, 'pool:manage', { organizationId: org.id });
    const rows = items.map((agent) => html`<tr id="agent-${agent.id}">
<td>${agent.name}</td>
<td><span class="status status-${agent.status}" data-agent-status="${agent.status}">${agent.status}</span></td>
<td>${currentJobs(org, jobs.get(agent.id) ?? [])}</td>
<td>${timeTag(agent.lastPingAt)}</td>
<td>${agent.hostname ?? ''}${agent.ipAddress ? html` <small>${agent.ipAddress}</small>` : ''}${agent.version ? html` <small>v${agent.version}</small>` : ''}</td>
<td>${mayManage && agent.status !== 'idle' && agent.status !== 'busy' ? actionButton(csrf, `${paths.pool(org.name, pool.id)}/agents/${enc(agent.id)}/delete`, 'Remove', { secondary: true }) : ''}</td>
</tr>`);
    return html`${rows}`;
  }

  /** Links to the runs of the jobs an agent holds, for runs in workspaces the visitor can see. */
  function currentJobs(org: Organization, held: HeldJob[]): Html {
    if (held.length === 0) return html`<span>none</span>`;
    const out = held.map((job) =>
      job.workspaceName !== null ? html`<a href="${paths.run(org.name, job.workspaceName, job.runId)}">${job.runId}</a> (${job.phase})` : html`a ${job.phase} in a workspace you cannot see`,
    );
    return html`${out.map((o, i) => html`${i > 0 ? ', ' : ''}${o}`)}`;
  }

  async function poolPage(ctx: WebCtx, created?: string): Promise<void> {
    const subject = subjectOf(ctx);
    const { pool, org } = await poolOf(ctx);
    const mayManage = isAllowed(subject, 'pool:manage', { organizationId: org.id });
    const base = paths.pool(org.name, pool.id);
    const named = await pools.workspacesOf(subject, pool.id);
    const choices = mayManage ? choicesFor(named.allowed, await workspaceNames(subject, org)) : [];
    const tokens = mayManage ? (await pools.listTokens(subject, pool.id, true, 100, 0)).items : [];
    page(ctx, {
      title: `Agent pool ${pool.name} · ${org.name}`,
      organization: org.name,
      crumbs: orgCrumbs(org.name, { label: 'Agent pools', href: paths.pools(org.name) }, { label: pool.name }),
      body: html`<h1>Agent pool ${pool.name}</h1>
${created ? secretOnce('New agent token', created) : ''}
<dl>
<dt>Scope</dt><dd>${pool.organizationScoped ? 'Organization: every workspace may use it' : 'Only the allowed workspaces'}</dd>
<dt>Allowed workspaces</dt><dd>${namesOf(named.allowed, named.hidden.allowed)}</dd>
<dt>Workspaces running on it</dt><dd>${namesOf(named.assigned, named.hidden.assigned)}</dd>
<dt>Created</dt><dd>${timeTag(pool.createdAt)}</dd>
</dl>
<section aria-labelledby="agents-title" hx-ext="sse" sse-connect="${base}/events" sse-close="signed-out">
<h2 id="agents-title">Agents</h2>
<div class="overflow-auto"><table tabindex="0" aria-label="Agents">
<thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Current job</th><th scope="col">Last heartbeat</th><th scope="col">Host</th><th scope="col">Actions</th></tr></thead>
<tbody id="agents" sse-swap="agents" aria-live="polite">${await agentRows(subject, pool, org, ctx.state.csrf)}</tbody>
</table></div>
<p><a href="${base}">Reload</a> (the table updates by itself while this page is open).</p>
</section>
${mayManage
  ? html`${tokenSection(ctx, {
      title: 'Agent tokens',
      intro: html`<p>Agents register with a token of the pool: <code>otf-agent --address ${deps.site.baseUrl || 'https://otfd.example'} --token TOKEN</code></p>`,
      tokens,
      action: `${base}/tokens`,
      createLabel: 'Create agent token',
      confirm: 'Delete this agent token? Agents registered with it stop.',
    })}
<section aria-labelledby="edit-title"><h2 id="edit-title">Pool settings</h2>
<form method="post" action="${base}">
${csrfField(ctx)}
<label for="pool-name">Name</label>
<input id="pool-name" name="name" required maxlength="90" value="${pool.name}">
<label for="pool-scoped"><input id="pool-scoped" name="organization_scoped" type="checkbox" ${attr('checked', pool.organizationScoped)}> Organization-scoped: every workspace may use it</label>
${workspaceChoices(choices, pool.allowedWorkspaceIds)}
<button type="submit">Save pool</button>
</form>
${actionButton(ctx.state.csrf, `${base}/delete`, 'Delete pool', { confirm: `Delete agent pool ${pool.name}, its tokens and agents?`, secondary: true })}
</section>`
  : ''}`,
    });
  }

  router.get('/app/:org/agent-pools/:pool', async (ctx) => poolPage(ctx));

  router.get('/app/:org/agent-pools/:pool/events', async (ctx) => {
    // The visitor's rights: gathered again now and then while the stream is open (recheck below).
    let subject = subjectOf(ctx);
    const { pool, org } = await poolOf(ctx);
    const csrf = ctx.state.csrf;
    // Agents of a pool change together (a sweep, jobs queued to all): a burst of changes makes one
    // new table, at most every RENDER_EVERY_MS, not one each.
    let scheduled: NodeJS.Timeout | null = null;
    ctx.req.on('close', () => scheduled && clearTimeout(scheduled));
    deps.events.openStream(ctx, deps.sessions, {
      topics: [`pool:${pool.id}`],
      onEvent: (_event, send) => {
        if (scheduled) return;
        scheduled = setTimeout(() => {
          scheduled = null;
          agentRows(subject, pool, org, csrf)
            .then((rows) => send({ event: 'agents', html: rows }))
            .catch((err: unknown) => deps.logger.warn({ err, pool: pool.id }, 'the agents of a pool page could not be rendered'));
        }, RENDER_EVERY_MS);
      },
      // Can the visitor still read the pool? From then on the stream renders with these rights.
      recheck: async (now) => {
        if (!(await stillReadable(() => pools.get(now, pool.id)))) return false;
        subject = now;
        return true;
      },
    });
  });

  router.post('/app/:org/agent-pools/:pool', async (ctx) => {
    const { pool, org } = await poolOf(ctx);
    // The form changes only the workspaces it offered: an allowed workspace it did not show stays.
    const offered = new Set(fieldList(ctx, 'offered_workspaces'));
    const ticked = fieldList(ctx, 'allowed_workspaces');
    const kept = pool.allowedWorkspaceIds.filter((id) => !offered.has(id) && !ticked.includes(id));
    await pools.update(subjectOf(ctx), pool.id, {
      name: nameField(ctx, 'name', 'the pool name'),
      organizationScoped: checkbox(ctx, 'organization_scoped'),
      allowedWorkspaceIds: [...kept, ...ticked],
    });
    redirect(ctx, paths.pool(org.name, pool.id));
  });

  router.post('/app/:org/agent-pools/:pool/delete', async (ctx) => {
    const { pool, org } = await poolOf(ctx);
    await pools.delete(subjectOf(ctx), pool.id);
    redirect(ctx, paths.pools(org.name));
  });

  router.post('/app/:org/agent-pools/:pool/tokens', async (ctx) => {
    const { pool } = await poolOf(ctx);
    const description = textField(ctx, 'description', 'the description', 512).trim();
    const { secret } = await pools.createToken(subjectOf(ctx), pool.id, description || 'agent token');
    // Shown on this answer only: it is kept hashed.
    await poolPage(ctx, secret);
  });

  router.post('/app/:org/agent-pools/:pool/tokens/:token/delete', async (ctx) => {
    const { pool, org } = await poolOf(ctx);
    const subject = subjectOf(ctx);
    const token = await pools.getToken(subject, ctx.params.token);
    if (token.poolId !== pool.id) throw new NotFoundError(`agent token "${ctx.params.token}" not found in this pool`);
    await pools.deleteToken(subject, token.id);
    redirect(ctx, paths.pool(org.name, pool.id));
  });

  router.post('/app/:org/agent-pools/:pool/agents/:agent/delete', async (ctx) => {
    const { pool, org } = await poolOf(ctx);
    const subject = subjectOf(ctx);
    const agent: Agent = await pools.getAgent(subject, ctx.params.agent);
    if (agent.poolId !== pool.id) throw new NotFoundError(`agent "${ctx.params.agent}" not found in this pool`);
    await pools.deleteAgent(subject, agent.id);
    redirect(ctx, paths.pool(org.name, pool.id));
  });
}
