// What the organization-level pages (settings, pools, teams, variable sets, VCS providers, users
// and tokens) share: reading form fields the way the API's schemas read attributes, and showing a
// newly created secret exactly once.
import { NAME_PATTERN } from '../../api/validate.js';
import { InvalidError } from '../../errors.js';
import { html, type Html } from '../html.js';
import { field, type WebCtx } from '../http.js';
import type { Crumb } from '../layout.js';

const NAME = new RegExp(NAME_PATTERN);

/** A name as the API takes it (organizations, pools, teams): 1 to 90 letters, digits, "-" or "_". */
export function nameField(ctx: WebCtx, name: string, what: string): string {
  const value = field(ctx, name).trim();
  if (!value || value.length > 90 || !NAME.test(value)) throw new InvalidError(`${what} must be 1 to 90 letters, digits, "-" or "_"`);
  return value;
}

/** A free text field of at most `max` characters ('' when left empty). */
export function textField(ctx: WebCtx, name: string, what: string, max: number): string {
  const value = field(ctx, name);
  if (value.length > max) throw new InvalidError(`${what} may be at most ${max} characters`);
  return value;
}

/** A checkbox: present in the form when ticked. */
export function checkbox(ctx: WebCtx, name: string): boolean {
  return ctx.state.form?.has(name) ?? false;
}

/** Every value of a repeated field (a multiple select, a list of checkboxes). */
export function fieldList(ctx: WebCtx, name: string): string[] {
  return ctx.state.form?.getAll(name) ?? [];
}

/** The 1-based page number of ?page=, 1 when absent or not a number. */
export function pageNumber(ctx: WebCtx): number {
  const n = Number(ctx.query.page ?? '1');
  return Number.isInteger(n) && n >= 1 && n <= 100_000 ? n : 1;
}

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
  return [{ label: 'Organizations', href: '/app/organizations' }, { label: org, href: `/app/${encodeURIComponent(org)}/workspaces` }, ...rest];
}

/** A path segment. */
export function enc(s: string): string {
  return encodeURIComponent(s);
}
