// The frame of every page: head, navigation, breadcrumbs, flash-free plain HTML. Styles come from
// Pico CSS and /static/app.css; scripts are htmx, its SSE extension and /static/app.js, all
// served from this otfd (the Content-Security-Policy allows nothing else).
import { html, type Html, type HtmlValue } from './html.js';
import { sendHtml, type WebCtx } from './http.js';

export interface Crumb {
  label: string;
  /** Omitted for the current page. */
  href?: string;
}

export interface PageOptions {
  title: string;
  body: HtmlValue;
  /** Where the page sits: organization › workspace › run. */
  crumbs?: Crumb[];
  /** The organization the page belongs to, for the navigation's organization links. */
  organization?: string;
  status?: number;
}

/** Renders a whole page as the answer. */
export function page(ctx: WebCtx, opts: PageOptions): void {
  sendHtml(ctx, opts.status ?? 200, shell(ctx, opts));
}

export function shell(ctx: WebCtx, opts: PageOptions): Html {
  const session = ctx.state.session;
  const org = opts.organization;
  const siteAdmin = session?.subject.kind === 'site-admin';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}'>
<title>${opts.title} · otf</title>
<link rel="stylesheet" href="/static/pico.min.css">
<link rel="stylesheet" href="/static/app.css">
<script src="/static/htmx.min.js" defer></script>
<script src="/static/sse.js" defer></script>
<script src="/static/app.js" defer></script>
</head>
<body hx-headers='${JSON.stringify({ 'X-CSRF-Token': ctx.state.csrf })}'>
<a class="skip-link" href="#main">Skip to content</a>
<header class="container">
<nav aria-label="Site">
<ul><li><a href="/app/organizations"><strong>otf</strong></a></li></ul>
${
  session
    ? html`<ul>
${org ? html`${navLink(ctx, `/app/${org}/workspaces`, 'Workspaces')}
${navLink(ctx, `/app/${org}/agent-pools`, 'Agent pools')}
${navLink(ctx, `/app/${org}/teams`, 'Teams')}
${navLink(ctx, `/app/${org}/settings`, 'Settings', [`/app/${org}/varsets`, `/app/${org}/vcs-providers`])}` : ''}
${siteAdmin ? navLink(ctx, '/app/admin/users', 'Users') : ''}
${navLink(ctx, '/app/profile/tokens', session.principal.name, [], 'Your tokens')}
<li><form method="post" action="/logout" class="inline"><input type="hidden" name="_csrf" value="${ctx.state.csrf}"><button type="submit" class="secondary outline">Sign out</button></form></li>
</ul>`
    : html`<ul><li><a href="/login">Sign in</a></li></ul>`
}
</nav>
</header>
<main id="main" class="container" tabindex="-1">
${opts.crumbs?.length ? breadcrumbs(opts.crumbs) : ''}
${opts.body}
</main>
</body>
</html>
`;
}

/**
 * A link of the site navigation; the section the visitor is in (the link's path or one of `also`,
 * and what lies under them) is marked aria-current, which screen readers announce and app.css shows.
 */
function navLink(ctx: WebCtx, href: string, label: string, also: string[] = [], title?: string): Html {
  // "page" on the page itself, "true" on the pages under it.
  const current = ctx.path === href ? 'page' : [href, ...also].some((p) => ctx.path === p || ctx.path.startsWith(`${p}/`)) ? 'true' : null;
  return html`<li><a href="${href}"${current ? html` aria-current="${current}"` : ''}${title ? html` title="${title}"` : ''}>${label}</a></li>`;
}

function breadcrumbs(crumbs: Crumb[]): Html {
  return html`<nav aria-label="Breadcrumb"><ul>${crumbs.map((c) => (c.href ? html`<li><a href="${c.href}">${c.label}</a></li>` : html`<li aria-current="page">${c.label}</li>`))}</ul></nav>`;
}

/** An error as a page: what went wrong in words, and a way back. */
export function errorPage(ctx: WebCtx, status: number, title: string, detail: string): void {
  page(ctx, {
    status,
    title: `${status} ${title}`,
    body: html`<h1>${title[0].toUpperCase() + title.slice(1)}</h1><p role="alert">${detail}</p><p><a href="/app/organizations">Back to your organizations</a></p>`,
  });
}
