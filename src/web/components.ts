// Pieces of markup more than one page uses, so that a run's status looks the same everywhere and
// live updates (which send the same pieces) replace like with like.
import { html, type Html } from './html.js';

/** A run status as a badge: its words, and a class for its colour. */
export function runStatusBadge(status: string | null): Html {
  if (!status) return html`<span class="status">no runs yet</span>`;
  return html`<span class="status status-${status}">${status.replace(/_/g, ' ')}</span>`;
}

/** A moment as a <time> element: the exact time for machines and hover, a plain form to read. */
export function timeTag(at: Date | string | null | undefined): Html {
  if (!at) return html`<span>never</span>`;
  const d = typeof at === 'string' ? new Date(at) : at;
  return html`<time datetime="${d.toISOString()}" title="${d.toISOString()}">${d.toISOString().replace('T', ' ').slice(0, 19)} UTC</time>`;
}

/** Links to the previous and next page of a list (?page=N), keeping the other query parameters. */
export function pager(basePath: string, query: Record<string, string>, page: number, totalPages: number): Html {
  if (totalPages <= 1) return html``;
  const link = (n: number) => `${basePath}?${new URLSearchParams({ ...query, page: String(n) }).toString()}`;
  return html`<nav aria-label="Pages"><ul>
${page > 1 ? html`<li><a href="${link(page - 1)}" rel="prev">Previous</a></li>` : ''}
<li>Page ${page} of ${totalPages}</li>
${page < totalPages ? html`<li><a href="${link(page + 1)}" rel="next">Next</a></li>` : ''}
</ul></nav>`;
}

/** A one-button form that posts to `action` (lock, unlock, apply, delete...); `confirm` asks first. */
export function actionButton(csrf: string, action: string, label: string, opts: { confirm?: string; secondary?: boolean; name?: string; fields?: Record<string, string> } = {}): Html {
  return html`<form method="post" action="${action}" class="inline"${opts.confirm ? html` data-confirm="${opts.confirm}"` : ''}>
<input type="hidden" name="_csrf" value="${csrf}">
${Object.entries(opts.fields ?? {}).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<button type="submit"${opts.name ? html` name="${opts.name}"` : ''}${opts.secondary ? html` class="secondary"` : ''}>${label}</button>
</form>`;
}
