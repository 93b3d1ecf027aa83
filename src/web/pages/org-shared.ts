// What the organization-level pages (settings, pools, teams, variable sets, VCS providers, users
// and tokens) share: a section of tokens (table and form), showing a newly created secret exactly
// once, and breadcrumbs. Form fields are
// read with ../forms.js, links built with ../paths.js.
import { actionButton, timeTag } from '../components.js';
import { html, type Html } from '../html.js';
import { csrfField, type WebCtx } from '../http.js';
import type { Crumb } from '../layout.js';
import { enc, paths } from '../paths.js';

/** A token (or other secret) just created: shown on this one answer only, never again. */
export function secretOnce(label: string, secret: string): Html {
  return html`<article class="secret-once" aria-labelledby="secret-once-title">
<h2 id="secret-once-title">${label}</h2>
<p>Copy it now: it is not shown again. Whoever holds it acts with its rights.</p>
<label for="secret-once-value">Token</label>
<input id="secret-once-value" type="text" readonly value="${secret}" autocomplete="off">
</article>`;
}

/** Breadcrumbs of a page inside an organization. */
export function orgCrumbs(org: string, ...rest: Crumb[]): Crumb[] {
  return [{ label: 'Organizations', href: paths.organizations() }, { label: org, href: paths.workspaces(org) }, ...rest];
}

/** A token as a token section lists it: user, agent and organization tokens alike. */
export interface TokenRow {
  id: string;
  description: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiredAt?: Date | null;
}

/**
 * A section of tokens: a table (description, created, last used, expiry, a delete button each)
 * and the form that makes one, which posts a description to `action`. A token is deleted by a
 * post to `deleteAction(token)`, by default `action` + "/<id>/delete".
 */
export function tokenSection(
  ctx: WebCtx,
  opts: {
    title: string;
    intro?: Html;
    tokens: TokenRow[];
    action: string;
    createLabel: string;
    confirm: string;
    deleteAction?: (t: TokenRow) => string;
    descriptionRequired?: boolean;
  },
): Html {
  const deleteAction = opts.deleteAction ?? ((t: TokenRow) => `${opts.action}/${enc(t.id)}/delete`);
  return html`<section aria-labelledby="tokens-title"><h2 id="tokens-title">${opts.title}</h2>
${opts.intro ?? ''}
${opts.tokens.length === 0
  ? html`<p>No tokens.</p>`
  : html`<div class="overflow-auto"><table tabindex="0" aria-label="${opts.title}">
<thead><tr><th scope="col">Description</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">Actions</th></tr></thead>
<tbody>${opts.tokens.map(
      (t) => html`<tr><td>${t.description ?? ''}</td><td>${timeTag(t.createdAt)}</td><td>${timeTag(t.lastUsedAt)}</td><td>${t.expiredAt ? timeTag(t.expiredAt) : 'never'}</td>
<td>${actionButton(ctx.state.csrf, deleteAction(t), 'Delete', { confirm: opts.confirm, secondary: true })}</td></tr>`,
    )}</tbody></table></div>`}
<form method="post" action="${opts.action}">
${csrfField(ctx)}
<label for="token-description">Description</label>
<input id="token-description" name="description" maxlength="512" ${opts.descriptionRequired === false ? '' : html`required`}>
<button type="submit">${opts.createLabel}</button>
</form>
</section>`;
}
