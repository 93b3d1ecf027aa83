// Signing in and out. A visitor signs in with an API token (a user's token, or the site token),
// which is exchanged for a session; the token itself is not kept. Sign-out ends the session and
// its event streams.
import { recordAnonymousRefusal } from '../../audit/index.js';
import { isApiCredential } from '../../auth/authorize.js';
import { html } from '../html.js';
import { clearCookie, csrfField, field, localPath, redirect, SESSION_COOKIE, setCookie, type WebCtx, type WebRouter } from '../http.js';
import { page } from '../layout.js';
import type { WebDeps } from '../deps.js';

export function registerSignInPages(router: WebRouter, deps: WebDeps): void {
  const { sessions, auth } = deps;

  router.get('/login', (ctx) => {
    if (ctx.state.session) return redirect(ctx, localPath(String(ctx.query.next ?? ''), '/app/organizations'));
    signInPage(ctx, deps, null);
  });

  router.post('/login/token', async (ctx) => {
    const token = field(ctx, 'token').trim();
    const subject = token && token.length <= 1024 ? await auth.authenticate(token) : null;
    if (!subject || !isApiCredential(subject) || (subject.kind !== 'user' && subject.kind !== 'site-admin')) {
      // In the site's trail, by nobody yet: what was typed is never recorded.
      await recordAnonymousRefusal(deps.db, { method: 'POST', route: '/login/token', path: '/login/token', status: 401 });
      return signInPage(ctx, deps, 'That token is not a valid user token or the site token.', 401);
    }
    // A visitor signing in again starts afresh: the old session (if any) ends.
    if (ctx.state.session) await sessions.end(ctx.state.session.id);
    const session = await sessions.start(subject, ctx.ip || null, 'token');
    setCookie(ctx, SESSION_COOKIE, session.cookie, { expires: session.expiresAt });
    redirect(ctx, localPath(field(ctx, 'next'), '/app/organizations'));
  });

  router.post('/logout', async (ctx) => {
    if (ctx.state.session) await sessions.signOut(ctx.state.session);
    clearCookie(ctx, SESSION_COOKIE);
    redirect(ctx, '/login');
  });
}

function signInPage(ctx: WebCtx, deps: WebDeps, error: string | null, status = 200): void {
  const next = localPath(String(ctx.query.next ?? ctx.state.form?.get('next') ?? ''), '/app/organizations');
  const oidc = deps.settings.oidc;
  page(ctx, {
    status,
    title: 'Sign in',
    body: html`<article>
<h1>Sign in</h1>
${error ? html`<p role="alert" class="error">${error}</p>` : ''}
${oidc ? html`<p><a role="button" href="/login/oidc?next=${encodeURIComponent(next)}">Sign in with ${oidc.name}</a></p><p>or with an API token:</p>` : ''}
<form method="post" action="/login/token">
${csrfField(ctx)}
<input type="hidden" name="next" value="${next}">
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<button type="submit">Sign in with token</button>
</form>
</article>`,
  });
}
