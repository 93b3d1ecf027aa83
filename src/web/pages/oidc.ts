// Single sign-on with an OpenID Connect provider (otfd's --oidc-* flags). GET /login/oidc starts
// a sign-in: state, nonce and PKCE verifier are kept in PostgreSQL (never trusted to the browser),
// and the browser gets only the state, in a short-lived HttpOnly cookie that ties the callback to
// the browser that started it (so nobody can sign a victim into the attacker's account). The
// callback takes the flow once (a replay finds nothing), lets openid-client check the answer, and
// signs in the user the username claim names, created on first sign-in; the teams claim's groups
// "<organization>/<team>" make it a member of those teams (src/teams/memberships.ts).
import { principalOf } from '../../auth/subject.js';
import { isValidUsername, USERNAME_RULE } from '../../users/index.js';
import type { WebDeps } from '../deps.js';
import { clearCookie, localPath, redirect, SESSION_COOKIE, setCookie, type WebRouter } from '../http.js';
import { OidcClient, SignOnRefused } from '../sso/oidc.js';
import * as store from '../sso/store.js';

/** The cookie holding the state of the sign-in in progress. */
export const OIDC_STATE_COOKIE = 'otf_oidc';
/** How long a sign-in at the provider may take. */
const FLOW_LIFETIME_MS = 10 * 60 * 1000;

export function registerOidcPages(router: WebRouter, deps: WebDeps): void {
  const settings = deps.settings.oidc;
  if (!settings) {
    router.get('/login/oidc', () => {
      throw new SignOnRefused('single sign-on is not configured on this server: sign in with a token', 404);
    });
    return;
  }
  const oidc = new OidcClient(settings, () => deps.site.baseUrl, deps.logger);

  router.get('/login/oidc', async (ctx) => {
    const next = localPath(String(ctx.query.next ?? ''), '/app/organizations');
    const { url, state, nonce, codeVerifier } = await oidc.authorizationUrl();
    await store.removeExpired(deps.db).catch(() => undefined);
    await store.insertFlow(deps.db, state, { nonce, codeVerifier, next }, new Date(Date.now() + FLOW_LIFETIME_MS));
    setCookie(ctx, OIDC_STATE_COOKIE, state, { maxAgeMs: FLOW_LIFETIME_MS });
    // The provider is elsewhere: redirect() keeps to local paths, this is the one place that leaves.
    ctx.status = 303;
    ctx.redirect(url.href);
  });

  router.get('/login/oidc/callback', async (ctx) => {
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    const cookie = ctx.cookies.get(OIDC_STATE_COOKIE) ?? '';
    clearCookie(ctx, OIDC_STATE_COOKIE);
    if (typeof ctx.query.error === 'string') {
      const detail = typeof ctx.query.error_description === 'string' ? ctx.query.error_description : ctx.query.error;
      throw new SignOnRefused(`the provider did not sign you in: ${detail.slice(0, 300)}`, 401);
    }
    if (!state || state.length > 512 || state !== cookie) {
      throw new SignOnRefused('this sign-in was not started in this browser, or it is stale: start again from the sign-in page');
    }
    const flow = await store.takeFlow(deps.db, state);
    if (!flow) throw new SignOnRefused('this sign-in has expired or was already used: start again from the sign-in page');
    const claims = await oidc.finish(ctx.querystring, { state, nonce: flow.nonce, codeVerifier: flow.codeVerifier });

    const username = claims[settings.usernameClaim];
    if (typeof username !== 'string' || username === '') {
      throw new SignOnRefused(`the provider did not say who you are: its answer has no claim "${settings.usernameClaim}"`, 403);
    }
    if (!isValidUsername(username)) {
      throw new SignOnRefused(`the claim "${settings.usernameClaim}" is not a valid username (${USERNAME_RULE})`, 403);
    }
    const email = claims.email_verified === true && typeof claims.email === 'string' && /^[^\s@]{1,64}@[^\s@]{1,189}$/.test(claims.email) ? claims.email : null;
    const user = await deps.users.service.signOn({ username, email });
    if (settings.teamsClaim) {
      const value = claims[settings.teamsClaim];
      const groups = Array.isArray(value) ? value.filter((g): g is string => typeof g === 'string') : typeof value === 'string' ? [value] : [];
      await deps.teams.memberships.signOnGroups(user.id, groups);
    }
    const subject = await deps.users.service.subjectOfUser(user.id);
    if (!subject) throw new SignOnRefused('your user no longer exists', 403);
    // Signing in again starts afresh: the old session (if any) ends.
    if (ctx.state.session) await deps.sessions.end(ctx.state.session.id);
    const session = await deps.sessions.start(principalOf(subject), ctx.ip || null);
    setCookie(ctx, SESSION_COOKIE, session.cookie, { expires: session.expiresAt });
    redirect(ctx, localPath(flow.next, '/app/organizations'));
  });
}
