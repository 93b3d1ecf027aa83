// What the organization-level pages (settings, pools, teams, variable sets, VCS providers, users
// and tokens) share: showing a newly created secret exactly once, and breadcrumbs. Form fields are
// read with ../forms.js, links built with ../paths.js.
import { html, type Html } from '../html.js';
import type { Crumb } from '../layout.js';
import { paths } from '../paths.js';

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
