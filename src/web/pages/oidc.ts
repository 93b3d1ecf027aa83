// Single sign-on with an OpenID Connect provider (otfd's --oidc-* flags). GET /login/oidc starts
// a sign-in: state, nonce and PKCE verifier are kept in PostgreSQL (never trusted to the browser),
// and the browser gets only the state, in a short-lived HttpOnly cookie that ties the callback to
// the browser that started it (so nobody can sign a victim into the attacker's account). The
// callback takes the flow once (a replay finds nothing), lets openid-client check the answer, and
// signs in the user linked to the provider's identity (issuer and subject), created and linked on
// its first sign-in under the username claim's name (never an existing account's: 403); when the
// teams claim is present, its groups "<organization>/<team>" make it a member of those teams
// (src/teams/memberships.ts).
import { recordAnonymousRefusal } from '../../audit/index.js';
import { AppError } from '../../errors.js';
import { isValidUsername, USERNAME_RULE } from '../../users/index.js';
import type { WebDeps } from '../deps.js';
import { clearCookie, localPath, redirect, SESSION_COOKIE, setCookie, type WebCtx, type WebRouter } from '../http.js';
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

  const callback = async (ctx: WebCtx): Promise<void> => {
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    const cookie = ctx.cookies.get(OIDC_STATE_COOKIE) ?? '';
    clearCookie(ctx, OIDC_STATE_COOKIE);
    // The state first: only the browser that started this sign-in gets an answer about it. The
    // provider's error_description is its text, put in the URL by whoever sent the browser here:
    // it goes to the log, and the page says something fixed.
    if (!state || state.length > 512 || state !== cookie) {
      throw new SignOnRefused('this sign-in was not started in this browser, or it is stale: start again from the sign-in page');
    }
    if (ctx.query.error !== undefined) {
      deps.logger.info({ error: String(ctx.query.error).slice(0, 100), description: String(ctx.query.error_description ?? '').slice(0, 300) }, 'single sign-on: the provider did not sign the user in');
      await store.takeFlow(deps.db, state);
      throw new SignOnRefused('the provider did not sign you in: start again from the sign-in page', 401);
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
    // openid-client checked the ID token's issuer and that it has a subject: together they are
    // the identity the user is linked to, whatever the username claim says later.
    const user = await deps.users.service.signOn({ issuer: String(claims.iss), subject: String(claims.sub), username, email });
    // Only a claim that is there says which teams the user is in: a provider that left it out (or
    // whose userinfo endpoint failed) says nothing, and the memberships stay as they are.
    const groups = settings.teamsClaim ? groupsOf(claims[settings.teamsClaim]) : null;
    if (groups) await deps.teams.memberships.signOnGroups(user.id, groups);
    const subject = await deps.users.service.subjectOfUser(user.id);
    if (!subject) throw new SignOnRefused('your user no longer exists', 403);
    // Signing in again starts afresh: the old session (if any) ends.
    if (ctx.state.session) await deps.sessions.end(ctx.state.session.id);
    const session = await deps.sessions.start(subject, ctx.ip || null, 'oidc');
    setCookie(ctx, SESSION_COOKIE, session.cookie, { expires: session.expiresAt });
    redirect(ctx, localPath(flow.next, '/app/organizations'));
  };

  router.get('/login/oidc/callback', async (ctx) => {
    try {
      await callback(ctx);
    } catch (err) {
      // A refused sign-in goes in the site's trail, by nobody yet; never its query (the provider's code, the state).
      if (err instanceof AppError && err.status < 500) {
        await recordAnonymousRefusal(deps.db, { method: 'GET', route: '/login/oidc/callback', path: '/login/oidc/callback', status: err.status });
      }
      throw err;
    }
  });
}

/** The teams claim's groups: a list of strings, or one string; null when the claim is missing or is neither. */
export function groupsOf(value: unknown): string[] | null {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string');
  return null;
}
