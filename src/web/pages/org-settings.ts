// An organization's settings: its name, email and the settings the API lets owners change, its
// organization token (shown once when made), and the way to the organization's other pages.
import { isAllowed } from '../../auth/authorize.js';
import { NotFoundError } from '../../errors.js';
import type { Organization, OrganizationToken } from '../../orgs/index.js';
import { actionButton, timeTag } from '../components.js';
import type { WebDeps } from '../deps.js';
import { attr, html, type Html } from '../html.js';
import { csrfField, field, redirect, subjectOf, type WebCtx, type WebRouter } from '../http.js';
import { page } from '../layout.js';
import { emailField } from './organizations.js';
import { checkbox, enc, nameField, orgCrumbs, secretOnce, textField } from './org-shared.js';
import { InvalidError } from '../../errors.js';

const EXECUTION_MODES = ['remote', 'local', 'agent'] as const;

function minutesField(ctx: WebCtx, name: string, what: string): number {
  const raw = field(ctx, name).trim();
  const n = Number(raw);
  if (!raw || !Number.isInteger(n) || n < 1 || n > 525_600) throw new InvalidError(`${what} must be a whole number of minutes between 1 and 525600`);
  return n;
}

export function registerOrganizationSettingsPages(router: WebRouter, deps: WebDeps): void {
  const orgs = deps.orgs.service;

  async function render(ctx: WebCtx, org: Organization, created?: string): Promise<void> {
    const subject = subjectOf(ctx);
    const scope = { organizationId: org.id };
    const mayUpdate = isAllowed(subject, 'organization:update', scope);
    const mayToken = isAllowed(subject, 'organization:manage-token', scope);
    let token: OrganizationToken | null = null;
    if (mayToken) token = await orgs.showToken(subject, org.name).catch((err: unknown) => (err instanceof NotFoundError ? null : Promise.reject(err)));
    const pools = mayUpdate ? (await deps.pools.service.list(subject, org.name, { sort: { column: 'name', descending: false }, limit: 100, offset: 0 })).items : [];
    const base = `/app/${enc(org.name)}`;
    page(ctx, {
      title: `Settings · ${org.name}`,
      organization: org.name,
      crumbs: orgCrumbs(org.name, { label: 'Settings' }),
      body: html`<h1>Organization settings</h1>
${created ? secretOnce('New organization token', created) : ''}
<nav aria-label="Organization"><ul>
<li><a href="${base}/agent-pools">Agent pools</a></li>
<li><a href="${base}/teams">Teams</a></li>
<li><a href="${base}/varsets">Variable sets</a></li>
<li><a href="${base}/vcs-providers">VCS providers</a></li>
</ul></nav>
<section aria-labelledby="general"><h2 id="general">General</h2>
${mayUpdate ? generalForm(ctx, org, pools) : generalView(org)}
</section>
${mayToken ? tokenSection(ctx, org, token) : ''}
${isAllowed(subject, 'organization:delete', scope)
  ? html`<section aria-labelledby="danger"><h2 id="danger">Delete organization</h2>
<p>Deleting the organization deletes its workspaces, runs, state, teams and everything else in it.</p>
${actionButton(ctx.state.csrf, `${base}/settings/delete`, 'Delete organization', { confirm: `Delete organization ${org.name} and everything in it?`, secondary: true })}
</section>`
  : ''}`,
    });
  }

  function generalView(org: Organization): Html {
    return html`<dl>
<dt>Name</dt><dd>${org.name}</dd>
<dt>Email</dt><dd>${org.email}</dd>
<dt>Default execution mode</dt><dd>${org.defaultExecutionMode}</dd>
<dt>Created</dt><dd>${timeTag(org.createdAt)}</dd>
</dl>`;
  }

  function generalForm(ctx: WebCtx, org: Organization, pools: Array<{ id: string; name: string; organizationScoped: boolean }>): Html {
    return html`<form method="post" action="/app/${enc(org.name)}/settings">
${csrfField(ctx)}
<label for="name">Name</label>
<input id="name" name="name" required maxlength="90" value="${org.name}">
<label for="email">Email</label>
<input id="email" name="email" type="email" required maxlength="254" value="${org.email}">
<label for="session-timeout">Session timeout (minutes)</label>
<input id="session-timeout" name="session_timeout" type="number" min="1" required value="${org.sessionTimeout}">
<label for="session-remember">Session expiration (minutes)</label>
<input id="session-remember" name="session_remember" type="number" min="1" required value="${org.sessionRemember}">
<label for="auth-policy">Collaborator authentication policy</label>
<select id="auth-policy" name="collaborator_auth_policy">
${['password', 'two_factor_mandatory'].map((p) => html`<option value="${p}" ${attr('selected', org.collaboratorAuthPolicy === p)}>${p.replace(/_/g, ' ')}</option>`)}
</select>
<label for="execution-mode">Default execution mode</label>
<select id="execution-mode" name="default_execution_mode">
${EXECUTION_MODES.map((m) => html`<option value="${m}" ${attr('selected', org.defaultExecutionMode === m)}>${m}</option>`)}
</select>
<label for="default-pool">Default agent pool (for execution mode "agent")</label>
<select id="default-pool" name="default_agent_pool">
<option value="">none</option>
${pools.filter((p) => p.organizationScoped).map((p) => html`<option value="${p.id}" ${attr('selected', org.defaultAgentPoolId === p.id)}>${p.name}</option>`)}
</select>
<label for="force-delete"><input id="force-delete" name="allow_force_delete_workspaces" type="checkbox" ${attr('checked', org.allowForceDeleteWorkspaces)}> Allow workspace admins to delete workspaces that manage resources</label>
<button type="submit">Save settings</button>
</form>`;
  }

  function tokenSection(ctx: WebCtx, org: Organization, token: OrganizationToken | null): Html {
    const base = `/app/${enc(org.name)}/settings/token`;
    return html`<section aria-labelledby="org-token"><h2 id="org-token">Organization token</h2>
<p>One token per organization, for automation that manages teams, workspaces and settings. It may not queue runs.</p>
${token
  ? html`<dl><dt>Description</dt><dd>${token.description ?? ''}</dd><dt>Created</dt><dd>${timeTag(token.createdAt)}</dd><dt>Last used</dt><dd>${timeTag(token.lastUsedAt)}</dd><dt>Expires</dt><dd>${token.expiredAt ? timeTag(token.expiredAt) : 'never'}</dd></dl>`
  : html`<p>The organization has no token.</p>`}
<form method="post" action="${base}">
${csrfField(ctx)}
<label for="token-description">Description</label>
<input id="token-description" name="description" maxlength="512">
<button type="submit">${token ? 'Regenerate token' : 'Create token'}</button>
</form>
${token ? actionButton(ctx.state.csrf, `${base}/delete`, 'Delete token', { confirm: 'Delete the organization token? Whatever uses it stops working.', secondary: true }) : ''}
</section>`;
  }

  router.get('/app/:org/settings', async (ctx) => {
    await render(ctx, await orgs.resolve(subjectOf(ctx), ctx.params.org));
  });

  router.post('/app/:org/settings', async (ctx) => {
    const subject = subjectOf(ctx);
    const mode = field(ctx, 'default_execution_mode');
    if (!(EXECUTION_MODES as readonly string[]).includes(mode)) throw new InvalidError('the default execution mode must be remote, local or agent');
    const policy = field(ctx, 'collaborator_auth_policy');
    if (policy !== 'password' && policy !== 'two_factor_mandatory') throw new InvalidError('the collaborator authentication policy must be password or two_factor_mandatory');
    const pool = field(ctx, 'default_agent_pool');
    const org = await orgs.update(subject, ctx.params.org, {
      name: nameField(ctx, 'name', 'the organization name'),
      email: emailField(ctx, 'email'),
      sessionTimeout: minutesField(ctx, 'session_timeout', 'the session timeout'),
      sessionRemember: minutesField(ctx, 'session_remember', 'the session expiration'),
      collaboratorAuthPolicy: policy,
      allowForceDeleteWorkspaces: checkbox(ctx, 'allow_force_delete_workspaces'),
      defaultExecutionMode: mode,
      // A pool only goes with mode "agent"; with another mode the organization has none.
      defaultAgentPoolId: mode === 'agent' ? pool || null : undefined,
    });
    redirect(ctx, `/app/${enc(org.name)}/settings`);
  });

  router.post('/app/:org/settings/delete', async (ctx) => {
    await orgs.delete(subjectOf(ctx), ctx.params.org);
    redirect(ctx, '/app/organizations');
  });

  router.post('/app/:org/settings/token', async (ctx) => {
    const subject = subjectOf(ctx);
    const description = textField(ctx, 'description', 'the description', 512);
    const { secret } = await orgs.createToken(subject, ctx.params.org, { description: description || null, expiredAt: null });
    // Shown on this answer only: a redirect would lose it, and it is never stored in clear.
    await render(ctx, await orgs.resolve(subject, ctx.params.org), secret);
  });

  router.post('/app/:org/settings/token/delete', async (ctx) => {
    await orgs.deleteToken(subjectOf(ctx), ctx.params.org);
    redirect(ctx, `/app/${enc(ctx.params.org)}/settings`);
  });
}
