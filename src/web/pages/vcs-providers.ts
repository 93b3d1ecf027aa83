// An organization's VCS providers (Terraform Cloud's OAuth clients with their token): the list,
// adding one with an access token of the provider (a password field, write-only: never shown
// back, not even to who typed it), and deleting one.
import { isAllowed } from '../../auth/authorize.js';
import { InvalidError, NotFoundError } from '../../errors.js';
import { PROVIDERS, SERVICE_PROVIDERS } from '../../vcs/index.js';
import { actionButton, timeTag } from '../components.js';
import type { WebDeps } from '../deps.js';
import { html } from '../html.js';
import { csrfField, field, redirect, subjectOf, type WebRouter } from '../http.js';
import { page } from '../layout.js';
import { enc, orgCrumbs } from './org-shared.js';

/** An organization has a handful of providers. */
const MAX_PROVIDERS = 200;

export function registerVcsProviderPages(router: WebRouter, deps: WebDeps): void {
  const vcs = deps.vcs.service;

  router.get('/app/:org/vcs-providers', async (ctx) => {
    const subject = subjectOf(ctx);
    const org = await deps.orgs.service.resolve(subject, ctx.params.org);
    const { items } = await vcs.listClients(subject, org.name, { offset: 0, limit: MAX_PROVIDERS });
    const mayManage = isAllowed(subject, 'vcs-provider:manage', { organizationId: org.id });
    const base = `/app/${enc(org.name)}/vcs-providers`;
    page(ctx, {
      title: `VCS providers · ${org.name}`,
      organization: org.name,
      crumbs: orgCrumbs(org.name, { label: 'VCS providers' }),
      body: html`<h1>VCS providers</h1>
${items.length === 0
  ? html`<p>The organization has no VCS providers.</p>`
  : html`<div class="overflow-auto"><table tabindex="0" aria-label="VCS providers">
<thead><tr><th scope="col">Name</th><th scope="col">Provider</th><th scope="col">API URL</th><th scope="col">Created</th>${mayManage ? html`<th scope="col">Actions</th>` : ''}</tr></thead>
<tbody>${items.map(
      (c) => html`<tr><td>${c.name ?? html`<em>unnamed</em>`} <small>${c.id}</small></td><td>${PROVIDERS[c.serviceProvider].displayName}</td><td>${c.apiUrl}</td><td>${timeTag(c.createdAt)}</td>
${mayManage ? html`<td>${actionButton(ctx.state.csrf, `${base}/${enc(c.id)}/delete`, 'Delete', { confirm: 'Delete this VCS provider? Workspaces connected through it are disconnected.', secondary: true })}</td>` : ''}</tr>`,
    )}</tbody></table></div>`}
${mayManage
  ? html`<section aria-labelledby="new-provider"><h2 id="new-provider">Add a VCS provider</h2>
<form method="post" action="${base}" autocomplete="off">
${csrfField(ctx)}
<label for="provider">Provider</label>
<select id="provider" name="service_provider">${SERVICE_PROVIDERS.map((p) => html`<option value="${p}">${PROVIDERS[p].displayName}</option>`)}</select>
<label for="provider-name">Name</label>
<input id="provider-name" name="name" maxlength="256">
<label for="api-url">API URL (leave empty for GitHub and GitLab.com)</label>
<input id="api-url" name="api_url" type="url" maxlength="2048">
<label for="http-url">HTTP URL (leave empty for GitHub and GitLab.com)</label>
<input id="http-url" name="http_url" type="url" maxlength="2048">
<label for="oauth-token">Access token of the provider</label>
<input id="oauth-token" name="oauth_token" type="password" required autocomplete="new-password">
<button type="submit">Add VCS provider</button>
</form></section>`
  : ''}`,
    });
  });

  router.post('/app/:org/vcs-providers', async (ctx) => {
    const name = field(ctx, 'name').trim();
    if (name.length > 256) throw new InvalidError('the name may be at most 256 characters');
    const apiUrl = field(ctx, 'api_url').trim();
    const httpUrl = field(ctx, 'http_url').trim();
    const org = await deps.orgs.service.resolve(subjectOf(ctx), ctx.params.org);
    await vcs.createClient(subjectOf(ctx), org.name, {
      serviceProvider: field(ctx, 'service_provider'),
      name: name || null,
      apiUrl: apiUrl || undefined,
      httpUrl: httpUrl || undefined,
      // Checked by the service, whose messages never quote it.
      oauthTokenString: field(ctx, 'oauth_token'),
    });
    redirect(ctx, `/app/${enc(org.name)}/vcs-providers`);
  });

  router.post('/app/:org/vcs-providers/:id/delete', async (ctx) => {
    const subject = subjectOf(ctx);
    const client = await vcs.getClient(subject, ctx.params.id);
    if (client.organization.name !== ctx.params.org) throw new NotFoundError(`VCS provider "${ctx.params.id}" not found`);
    await vcs.deleteClient(subject, client.id);
    redirect(ctx, `/app/${enc(client.organization.name)}/vcs-providers`);
  });
}
