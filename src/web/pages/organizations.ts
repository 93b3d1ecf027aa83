// The organizations the visitor can see: where the web UI starts.
import { html } from '../html.js';
import { subjectOf, type WebRouter } from '../http.js';
import { page } from '../layout.js';
import type { WebDeps } from '../deps.js';

export function registerOrganizationPages(router: WebRouter, deps: WebDeps): void {
  router.get('/app/organizations', async (ctx) => {
    const { items, total } = await deps.orgs.service.list(subjectOf(ctx), { limit: 100, offset: 0 });
    page(ctx, {
      title: 'Organizations',
      body: html`<h1>Organizations</h1>
${items.length === 0 ? html`<p>You are not a member of any organization yet.</p>` : html`<ul>${items.map((o) => html`<li><a href="/app/${o.name}/workspaces">${o.name}</a></li>`)}</ul>`}
${total > items.length ? html`<p>Showing ${items.length} of ${total}.</p>` : ''}`,
    });
  });
}
