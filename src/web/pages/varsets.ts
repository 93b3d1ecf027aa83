// Variable sets of an organization: the list, a set's settings (global, priority, description),
// its variables (a sensitive value is write-only: never shown, not even to who wrote it), and the
// workspaces and projects it is applied to.
import { isAllowed } from '../../auth/authorize.js';
import { InvalidError, NotFoundError } from '../../errors.js';
import type { Organization } from '../../orgs/index.js';
import type { VariableSet } from '../../varsets/index.js';
import { actionButton, pager, timeTag } from '../components.js';
import type { WebDeps } from '../deps.js';
import { attr, html, type Html } from '../html.js';
import { csrfField, field, redirect, subjectOf, type WebCtx, type WebRouter } from '../http.js';
import { page } from '../layout.js';
import { checkbox, enc, orgCrumbs, pageNumber, textField } from './org-shared.js';

const PAGE_SIZE = 50;
/** Workspaces and projects offered in the "apply to" lists. */
const MAX_CHOICES = 200;
/** The largest variable value taken from a form (the form itself is at most 256 KiB). */
const MAX_VALUE = 200 * 1024;

function setName(ctx: WebCtx): string {
  const name = field(ctx, 'name').trim();
  if (!name || name.length > 128) throw new InvalidError('the name of a variable set must be 1 to 128 characters');
  return name;
}

export function registerVariableSetPages(router: WebRouter, deps: WebDeps): void {
  const varsets = deps.varsets.service;

  /** The set, if the visitor may read it and it belongs to the organization of the URL; else 404. */
  async function setOf(ctx: WebCtx): Promise<{ set: VariableSet; org: Organization }> {
    const found = await varsets.get(subjectOf(ctx), ctx.params.id);
    if (found.org.name !== ctx.params.org) throw new NotFoundError(`variable set "${ctx.params.id}" not found`);
    return found;
  }

  function setForm(ctx: WebCtx, action: string, set: VariableSet | null): Html {
    return html`<form method="post" action="${action}">
${csrfField(ctx)}
<label for="set-name">Name</label>
<input id="set-name" name="name" required maxlength="128" value="${set?.name ?? ''}">
<label for="set-description">Description</label>
<textarea id="set-description" name="description" maxlength="512">${set?.description ?? ''}</textarea>
<label for="set-global"><input id="set-global" name="global" type="checkbox" ${attr('checked', set?.global ?? false)}> Global: applied to every workspace of the organization</label>
<label for="set-priority"><input id="set-priority" name="priority" type="checkbox" ${attr('checked', set?.priority ?? false)}> Priority: its variables override workspace and run variables</label>
<button type="submit">${set ? 'Save variable set' : 'Create variable set'}</button>
</form>`;
  }

  router.get('/app/:org/varsets', async (ctx) => {
    const subject = subjectOf(ctx);
    const n = pageNumber(ctx);
    const { org, items, total } = await varsets.list(subject, ctx.params.org, { limit: PAGE_SIZE, offset: (n - 1) * PAGE_SIZE });
    const links = await varsets.withLinks(subject, org, items);
    const base = `/app/${enc(org.name)}/varsets`;
    page(ctx, {
      title: `Variable sets · ${org.name}`,
      organization: org.name,
      crumbs: orgCrumbs(org.name, { label: 'Variable sets' }),
      body: html`<h1>Variable sets</h1>
${items.length === 0
  ? html`<p>The organization has no variable sets.</p>`
  : html`<div class="overflow-auto"><table tabindex="0" aria-label="Variable sets">
<thead><tr><th scope="col">Name</th><th scope="col">Applied to</th><th scope="col">Variables</th><th scope="col">Priority</th><th scope="col">Updated</th></tr></thead>
<tbody>${links.map(
      (l) => html`<tr><td><a href="${base}/${enc(l.set.id)}">${l.set.name}</a>${l.set.description ? html`<br><small>${l.set.description}</small>` : ''}</td>
<td>${l.set.global ? 'all workspaces' : `${l.workspaceIds.length} workspace(s), ${l.projectIds.length} project(s)`}</td><td>${l.variableIds.length}</td><td>${l.set.priority ? 'yes' : 'no'}</td><td>${timeTag(l.set.updatedAt)}</td></tr>`,
    )}</tbody></table></div>`}
${pager(base, {}, n, Math.max(1, Math.ceil(total / PAGE_SIZE)))}
${isAllowed(subject, 'varset:manage', { organizationId: org.id }) ? html`<section aria-labelledby="new-set"><h2 id="new-set">New variable set</h2>${setForm(ctx, base, null)}</section>` : ''}`,
    });
  });

  router.post('/app/:org/varsets', async (ctx) => {
    const { set, org } = await varsets.create(subjectOf(ctx), ctx.params.org, {
      name: setName(ctx),
      description: textField(ctx, 'description', 'the description', 512),
      global: checkbox(ctx, 'global'),
      priority: checkbox(ctx, 'priority'),
    });
    redirect(ctx, `/app/${enc(org.name)}/varsets/${enc(set.id)}`);
  });

  router.get('/app/:org/varsets/:id', async (ctx) => {
    const subject = subjectOf(ctx);
    const { set, org } = await setOf(ctx);
    const [links] = await varsets.withLinks(subject, org, [set]);
    const variables = await varsets.listVariables(subject, set.id);
    const mayManage = isAllowed(subject, 'varset:manage', { organizationId: org.id });
    const applied = await varsets.workspacesByIds(links.workspaceIds);
    const projects = await varsets.projectsByIds(links.projectIds);
    const base = `/app/${enc(org.name)}/varsets/${enc(set.id)}`;
    let wsChoices: Array<{ id: string; name: string }> = [];
    let projectChoices: Array<{ id: string; name: string }> = [];
    if (mayManage && !set.global) {
      wsChoices = (await deps.workspaces.service.list(subject, org.name, { sort: { column: 'name', descending: false }, limit: MAX_CHOICES, offset: 0 })).items.filter(
        (w) => !links.workspaceIds.includes(w.id),
      );
      projectChoices = (await deps.projects.service.list(subject, org.name, { limit: MAX_CHOICES, offset: 0 })).items.filter((p) => !links.projectIds.includes(p.id));
    }
    page(ctx, {
      title: `Variable set ${set.name} · ${org.name}`,
      organization: org.name,
      crumbs: orgCrumbs(org.name, { label: 'Variable sets', href: `/app/${enc(org.name)}/varsets` }, { label: set.name }),
      body: html`<h1>Variable set ${set.name}</h1>
<p>${set.description}</p>
<dl><dt>Scope</dt><dd>${set.global ? 'Global: every workspace' : 'The workspaces and projects below'}</dd><dt>Priority</dt><dd>${set.priority ? 'yes: overrides workspace and run variables' : 'no'}</dd></dl>
<section aria-labelledby="vars"><h2 id="vars">Variables</h2>
${variables.length === 0
  ? html`<p>The set has no variables.</p>`
  : html`<div class="overflow-auto"><table tabindex="0" aria-label="Variables">
<thead><tr><th scope="col">Key</th><th scope="col">Value</th><th scope="col">Category</th><th scope="col">Description</th>${mayManage ? html`<th scope="col">Actions</th>` : ''}</tr></thead>
<tbody>${variables.map(
      (v) => html`<tr><td><code>${v.key}</code>${v.hcl ? html` <small>HCL</small>` : ''}</td>
<td>${v.sensitive ? html`<em>Sensitive: write-only</em>` : html`<code>${v.value ?? ''}</code>`}</td><td>${v.category}</td><td>${v.description}</td>
${mayManage ? html`<td><a href="${base}/vars/${enc(v.id)}">Edit</a> ${actionButton(ctx.state.csrf, `${base}/vars/${enc(v.id)}/delete`, 'Delete', { confirm: `Delete variable ${v.key}?`, secondary: true })}</td>` : ''}</tr>`,
    )}</tbody></table></div>`}
${mayManage
  ? html`<h3>Add variable</h3>
<form method="post" action="${base}/vars">
${csrfField(ctx)}
<label for="var-key">Key</label>
<input id="var-key" name="key" required maxlength="128">
<label for="var-value">Value</label>
<textarea id="var-value" name="value"></textarea>
<label for="var-description">Description</label>
<input id="var-description" name="description" maxlength="512">
<label for="var-category">Category</label>
<select id="var-category" name="category"><option value="terraform">Terraform variable</option><option value="env">Environment variable</option></select>
<label for="var-hcl"><input id="var-hcl" name="hcl" type="checkbox"> HCL</label>
<label for="var-sensitive"><input id="var-sensitive" name="sensitive" type="checkbox"> Sensitive: write-only, never shown again</label>
<button type="submit">Add variable</button>
</form>`
  : ''}
</section>
<section aria-labelledby="applied"><h2 id="applied">Applied to</h2>
${set.global
  ? html`<p>Every workspace of the organization.</p>`
  : html`<h3>Workspaces</h3>
${applied.length === 0
  ? html`<p>No workspaces.</p>`
  : html`<ul>${applied.map(
      (w) => html`<li><a href="/app/${enc(org.name)}/workspaces/${enc(w.name)}">${w.name}</a> ${mayManage ? actionButton(ctx.state.csrf, `${base}/workspaces/remove`, 'Remove', { fields: { workspace: w.id }, secondary: true }) : ''}</li>`,
    )}</ul>`}
${mayManage && wsChoices.length
  ? html`<form method="post" action="${base}/workspaces">${csrfField(ctx)}<label for="apply-workspace">Apply to workspace</label>
<select id="apply-workspace" name="workspace">${wsChoices.map((w) => html`<option value="${w.id}">${w.name}</option>`)}</select><button type="submit">Apply to workspace</button></form>`
  : ''}
<h3>Projects</h3>
${projects.length === 0
  ? html`<p>No projects.</p>`
  : html`<ul>${projects.map((p) => html`<li>${p.name} ${mayManage ? actionButton(ctx.state.csrf, `${base}/projects/remove`, 'Remove', { fields: { project: p.id }, secondary: true }) : ''}</li>`)}</ul>`}
${mayManage && projectChoices.length
  ? html`<form method="post" action="${base}/projects">${csrfField(ctx)}<label for="apply-project">Apply to project</label>
<select id="apply-project" name="project">${projectChoices.map((p) => html`<option value="${p.id}">${p.name}</option>`)}</select><button type="submit">Apply to project</button></form>`
  : ''}`}
</section>
${mayManage
  ? html`<section aria-labelledby="settings"><h2 id="settings">Settings</h2>${setForm(ctx, base, set)}
${actionButton(ctx.state.csrf, `${base}/delete`, 'Delete variable set', { confirm: `Delete variable set ${set.name} and its variables?`, secondary: true })}</section>`
  : ''}`,
    });
  });

  router.post('/app/:org/varsets/:id', async (ctx) => {
    const { set, org } = await setOf(ctx);
    await varsets.update(
      subjectOf(ctx),
      set.id,
      { name: setName(ctx), description: textField(ctx, 'description', 'the description', 512), global: checkbox(ctx, 'global'), priority: checkbox(ctx, 'priority') },
      {},
    );
    redirect(ctx, `/app/${enc(org.name)}/varsets/${enc(set.id)}`);
  });

  router.post('/app/:org/varsets/:id/delete', async (ctx) => {
    const { set, org } = await setOf(ctx);
    await varsets.delete(subjectOf(ctx), set.id);
    redirect(ctx, `/app/${enc(org.name)}/varsets`);
  });

  router.post('/app/:org/varsets/:id/vars', async (ctx) => {
    const { set, org } = await setOf(ctx);
    const key = field(ctx, 'key').trim();
    if (!key || key.length > 128) throw new InvalidError('the key must be 1 to 128 characters');
    const category = field(ctx, 'category');
    if (category !== 'terraform' && category !== 'env') throw new InvalidError('the category must be "terraform" or "env"');
    const value = field(ctx, 'value');
    // Never quoted back: the value may be a secret.
    if (value.length > MAX_VALUE) throw new InvalidError(`the value may be at most ${MAX_VALUE} characters`);
    await varsets.createVariable(subjectOf(ctx), set.id, {
      key,
      value,
      category,
      description: textField(ctx, 'description', 'the description', 512),
      hcl: checkbox(ctx, 'hcl'),
      sensitive: checkbox(ctx, 'sensitive'),
    });
    redirect(ctx, `/app/${enc(org.name)}/varsets/${enc(set.id)}`);
  });

  router.get('/app/:org/varsets/:id/vars/:var', async (ctx) => {
    const subject = subjectOf(ctx);
    const { set, org } = await setOf(ctx);
    const v = await varsets.getVariable(subject, set.id, ctx.params.var);
    const base = `/app/${enc(org.name)}/varsets/${enc(set.id)}`;
    page(ctx, {
      title: `Variable ${v.key} · ${set.name}`,
      organization: org.name,
      crumbs: orgCrumbs(org.name, { label: 'Variable sets', href: `/app/${enc(org.name)}/varsets` }, { label: set.name, href: base }, { label: v.key }),
      body: html`<h1>Variable ${v.key}</h1>
<form method="post" action="${base}/vars/${enc(v.id)}">
${csrfField(ctx)}
<label for="var-key">Key</label>
<input id="var-key" name="key" required maxlength="128" value="${v.key}">
<label for="var-value">Value${v.sensitive ? ' (sensitive: leave empty to keep the current value, which is never shown)' : ''}</label>
<textarea id="var-value" name="value">${v.sensitive ? '' : (v.value ?? '')}</textarea>
<label for="var-description">Description</label>
<input id="var-description" name="description" maxlength="512" value="${v.description}">
<label for="var-category">Category</label>
<select id="var-category" name="category"><option value="terraform" ${attr('selected', v.category === 'terraform')}>Terraform variable</option><option value="env" ${attr('selected', v.category === 'env')}>Environment variable</option></select>
<label for="var-hcl"><input id="var-hcl" name="hcl" type="checkbox" ${attr('checked', v.hcl)}> HCL</label>
<label for="var-sensitive"><input id="var-sensitive" name="sensitive" type="checkbox" ${attr('checked', v.sensitive)}> Sensitive: write-only, never shown again</label>
<button type="submit">Save variable</button>
</form>`,
    });
  });

  router.post('/app/:org/varsets/:id/vars/:var', async (ctx) => {
    const { set, org } = await setOf(ctx);
    const key = field(ctx, 'key').trim();
    if (!key || key.length > 128) throw new InvalidError('the key must be 1 to 128 characters');
    const category = field(ctx, 'category');
    if (category !== 'terraform' && category !== 'env') throw new InvalidError('the category must be "terraform" or "env"');
    const sensitive = checkbox(ctx, 'sensitive');
    const value = field(ctx, 'value');
    if (value.length > MAX_VALUE) throw new InvalidError(`the value may be at most ${MAX_VALUE} characters`);
    const current = await varsets.getVariable(subjectOf(ctx), set.id, ctx.params.var);
    await varsets.updateVariable(subjectOf(ctx), set.id, ctx.params.var, {
      key,
      category,
      description: textField(ctx, 'description', 'the description', 512),
      hcl: checkbox(ctx, 'hcl'),
      sensitive,
      // A sensitive value left empty stays as it is: the form never had it.
      value: current.sensitive && value === '' ? undefined : value,
    });
    redirect(ctx, `/app/${enc(org.name)}/varsets/${enc(set.id)}`);
  });

  router.post('/app/:org/varsets/:id/vars/:var/delete', async (ctx) => {
    const { set, org } = await setOf(ctx);
    await varsets.deleteVariable(subjectOf(ctx), set.id, ctx.params.var);
    redirect(ctx, `/app/${enc(org.name)}/varsets/${enc(set.id)}`);
  });

  for (const kind of ['workspaces', 'projects'] as const) {
    const name = kind === 'workspaces' ? 'workspace' : 'project';
    router.post(`/app/:org/varsets/:id/${kind}`, async (ctx) => {
      const { set, org } = await setOf(ctx);
      await varsets.apply(subjectOf(ctx), set.id, kind, [field(ctx, name)]);
      redirect(ctx, `/app/${enc(org.name)}/varsets/${enc(set.id)}`);
    });
    router.post(`/app/:org/varsets/:id/${kind}/remove`, async (ctx) => {
      const { set, org } = await setOf(ctx);
      await varsets.remove(subjectOf(ctx), set.id, kind, [field(ctx, name)]);
      redirect(ctx, `/app/${enc(org.name)}/varsets/${enc(set.id)}`);
    });
  }
}
