// The organizations the visitor can see: where the web UI starts. A user (or the site
// administrator) may create one, as in Terraform Cloud, and becomes its owner.
import { ajv } from '../../api/validate.js';
import { InvalidError } from '../../errors.js';
import { html } from '../html.js';
import { csrfField, field, redirect, subjectOf, type WebCtx, type WebRouter } from '../http.js';
import { page } from '../layout.js';
import type { WebDeps } from '../deps.js';
import { enc, nameField, pageNumber } from './org-shared.js';
import { pager } from '../components.js';

const PAGE_SIZE = 50;

const isEmail = ajv.compile({ type: 'string', format: 'email', maxLength: 254 });

/** An email as the API takes it (format "email", at most 254 characters). */
export function emailField(ctx: WebCtx, name: string): string {
  const value = field(ctx, name).trim();
  if (!isEmail(value)) throw new InvalidError('the email must be a valid email address');
  return value;
}

export function registerOrganizationPages(router: WebRouter, deps: WebDeps): void {
  router.get('/app/organizations', async (ctx) => {
    const subject = subjectOf(ctx);
    const n = pageNumber(ctx);
    const { items, total } = await deps.orgs.service.list(subject, { limit: PAGE_SIZE, offset: (n - 1) * PAGE_SIZE });
    // Any user may create an organization (the service says so too); tokens of other kinds do not sign in.
    const mayCreate = subject.kind === 'user' || subject.kind === 'site-admin';
    page(ctx, {
      title: 'Organizations',
      body: html`<h1>Organizations</h1>
${items.length === 0 ? html`<p>You are not a member of any organization yet.</p>` : html`<ul>${items.map((o) => html`<li><a href="/app/${enc(o.name)}/workspaces">${o.name}</a></li>`)}</ul>`}
${pager('/app/organizations', {}, n, Math.max(1, Math.ceil(total / PAGE_SIZE)))}
${mayCreate
  ? html`<section aria-labelledby="new-org"><h2 id="new-org">New organization</h2>
<form method="post" action="/app/organizations">
${csrfField(ctx)}
<label for="org-name">Name</label>
<input id="org-name" name="name" required maxlength="90" pattern="[A-Za-z0-9_\\-]+" aria-describedby="org-name-help">
<small id="org-name-help">Letters, digits, "-" and "_".</small>
<label for="org-email">Email of its administrators</label>
<input id="org-email" name="email" type="email" required maxlength="254">
<button type="submit">Create organization</button>
</form></section>`
  : ''}`,
    });
  });

  router.post('/app/organizations', async (ctx) => {
    const name = nameField(ctx, 'name', 'the organization name');
    const email = emailField(ctx, 'email');
    const org = await deps.orgs.service.create(subjectOf(ctx), { name, email });
    redirect(ctx, `/app/${enc(org.name)}/workspaces`);
  });
}
