// `terraform login HOST`: Terraform's login protocol (login.v1 in service discovery), an OAuth 2.0
// authorization-code flow with PKCE. The CLI listens on a loopback port and sends the browser to
// /app/oauth/authorize; the signed-in user approves there, and the browser is sent back to the
// CLI with a one-time code. The CLI exchanges the code and its PKCE verifier at /app/oauth/token
// for a new user token. Codes are stored hashed, good once, for a minute, and only for the
// challenge, client and redirect they were issued for.
import crypto from 'node:crypto';
import type { Subject } from '../../auth/subject.js';
import type Router from '@koa/router';
import type { AppState } from '../../api/http.js';
import { AppError, BadRequestError, ForbiddenError } from '../../errors.js';
import type { WebDeps } from '../deps.js';
import { html } from '../html.js';
import { CONTENT_SECURITY_POLICY, csrfField, field, readForm, subjectOf, type WebCtx, type WebRouter } from '../http.js';
import { page } from '../layout.js';
import * as store from '../sso/store.js';

/** The only client: Terraform's CLI (the client id login.v1 advertises). */
export const TERRAFORM_CLIENT_ID = 'terraform-cli';
/** The loopback ports the CLI may listen on (login.v1's "ports"). */
export const LOGIN_PORTS: [number, number] = [10000, 10010];
/** How long the CLI has to exchange a code: it does so at once. */
const CODE_LIFETIME_MS = 60_000;

/** login.v1 of /.well-known/terraform.json. */
/**
 * Where the CLI exchanges its code. Not a page: it is served outside the web UI's middleware (no
 * session, no CSRF token, errors as OAuth 2.0 JSON), see registerTokenEndpoint.
 */
export const TOKEN_PATH = '/app/oauth/token';

export const LOGIN_DISCOVERY = {
  client: TERRAFORM_CLIENT_ID,
  grant_types: ['authz_code'],
  authz: '/app/oauth/authorize',
  token: TOKEN_PATH,
  ports: LOGIN_PORTS,
};

interface AuthorizeRequest {
  redirectUri: URL;
  state: string;
  codeChallenge: string;
}

/**
 * The request's parameters, checked before anything is shown: a redirect anywhere but the CLI's
 * loopback listener (http on localhost or 127.0.0.1, a port in the advertised range) is refused
 * with an error page, never followed; the only challenge method is S256.
 */
function authorizeRequest(get: (name: string) => string): AuthorizeRequest {
  if (get('client_id') !== TERRAFORM_CLIENT_ID) throw new BadRequestError(`unknown client "${get('client_id').slice(0, 100)}": only ${TERRAFORM_CLIENT_ID} (terraform login) may ask for tokens here`);
  const responseType = get('response_type');
  if (responseType && responseType !== 'code') throw new BadRequestError('only response_type "code" is supported');
  let redirectUri: URL;
  try {
    redirectUri = new URL(get('redirect_uri'));
  } catch {
    throw new BadRequestError('redirect_uri is missing or is not a URL');
  }
  const port = Number(redirectUri.port);
  if (
    redirectUri.protocol !== 'http:' ||
    (redirectUri.hostname !== 'localhost' && redirectUri.hostname !== '127.0.0.1') ||
    redirectUri.username !== '' ||
    redirectUri.password !== '' ||
    !(port >= LOGIN_PORTS[0] && port <= LOGIN_PORTS[1])
  ) {
    throw new BadRequestError(`redirect_uri must be the CLI's own listener, http://localhost:<port>/... with a port from ${LOGIN_PORTS[0]} to ${LOGIN_PORTS[1]}`);
  }
  if (get('code_challenge_method') !== 'S256') throw new BadRequestError('code_challenge_method must be S256');
  const codeChallenge = get('code_challenge');
  if (!/^[A-Za-z0-9_-]{43}$/.test(codeChallenge)) throw new BadRequestError('code_challenge must be a base64url SHA-256 digest');
  const state = get('state');
  if (state.length > 1024) throw new BadRequestError('state is too long');
  return { redirectUri, state, codeChallenge };
}

/** Why this visitor, not a user, cannot get a user token this way. */
function refusal(subject: Exclude<Subject, { kind: 'user' }>): string {
  if (subject.kind === 'site-admin') return 'The site administrator has no user of its own, so it cannot get a user token: sign out and sign in as a user.';
  return 'Only a user can get a user token.';
}

export function registerTerraformLoginPages(router: WebRouter, deps: WebDeps): void {
  router.get('/app/oauth/authorize', (ctx) => {
    const query = (name: string) => (typeof ctx.query[name] === 'string' ? (ctx.query[name] as string) : '');
    const request = authorizeRequest(query);
    const subject = subjectOf(ctx);
    approvalPage(ctx, request, subject);
  });

  router.post('/app/oauth/authorize', async (ctx) => {
    const request = authorizeRequest((name) => field(ctx, name));
    const subject = subjectOf(ctx);
    const back = new URL(request.redirectUri);
    if (field(ctx, 'decision') !== 'approve') {
      back.searchParams.set('error', 'access_denied');
    } else {
      if (subject.kind !== 'user') throw new ForbiddenError(refusal(subject));
      const code = crypto.randomBytes(32).toString('base64url');
      await store.removeExpired(deps.db).catch(() => undefined);
      await store.insertCode(
        deps.db,
        code,
        { userId: subject.userId, clientId: TERRAFORM_CLIENT_ID, redirectUri: request.redirectUri.href, codeChallenge: request.codeChallenge },
        new Date(Date.now() + CODE_LIFETIME_MS),
      );
      back.searchParams.set('code', code);
    }
    if (request.state) back.searchParams.set('state', request.state);
    // Back to the CLI's loopback listener, checked above: the one redirect that leaves this site.
    ctx.status = 303;
    ctx.redirect(back.href);
  });
}

/**
 * The token endpoint, called by the CLI, not a browser: no session, no CSRF token (the one-time
 * code and its PKCE verifier prove the caller), and answers in JSON as OAuth 2.0 says, every
 * refusal of a code being "invalid_grant". Registered among otfd's public routes.
 */
export function registerTokenEndpoint(router: Router<AppState>, deps: Pick<WebDeps, 'db' | 'users'>): void {
  router.post(TOKEN_PATH, async (ctx) => {
    const fail = (status: number, error: string, description: string) => {
      ctx.status = status;
      ctx.body = { error, error_description: description };
    };
    ctx.set('Cache-Control', 'no-store');
    let form: URLSearchParams;
    try {
      form = await readForm(ctx);
    } catch (err) {
      if (err instanceof AppError) return fail(err.status, 'invalid_request', err.message);
      throw err;
    }
    const field = (name: string) => form.get(name) ?? '';
    if (field('grant_type') !== 'authorization_code') return fail(400, 'unsupported_grant_type', 'only authorization_code is supported');
    const code = field('code');
    const verifier = field('code_verifier');
    // Go's OAuth library may send the client id as HTTP Basic user instead of a form field.
    const clientId = field('client_id') || basicUser(ctx.get('Authorization'));
    if (!code || code.length > 200) return fail(400, 'invalid_request', 'code is missing');
    // The code is taken whatever follows: a code that failed once is spent.
    const grant = await store.takeCode(deps.db, code);
    if (!grant) return fail(400, 'invalid_grant', 'the code is unknown, expired or already used');
    if (grant.clientId !== clientId) return fail(400, 'invalid_grant', 'the code was issued to another client');
    if (grant.redirectUri !== field('redirect_uri')) return fail(400, 'invalid_grant', 'redirect_uri is not the one the code was issued for');
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || crypto.createHash('sha256').update(verifier).digest('base64url') !== grant.codeChallenge) {
      return fail(400, 'invalid_grant', 'code_verifier does not match the code challenge');
    }
    const subject = await deps.users.service.subjectOfUser(grant.userId);
    if (!subject) return fail(400, 'invalid_grant', 'the user no longer exists');
    const { secret } = await deps.users.service.createToken(subject, grant.userId, { description: 'terraform login', expiredAt: null });
    ctx.status = 200;
    ctx.body = { access_token: secret, token_type: 'bearer' };
  });
}

function basicUser(header: string): string {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  if (!m) return '';
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  // RFC 6749 2.3.1 form-encodes the client id; a malformed one names no client (invalid_grant follows).
  try {
    return decodeURIComponent(colon < 0 ? decoded : decoded.slice(0, colon));
  } catch {
    return '';
  }
}

function approvalPage(ctx: WebCtx, request: AuthorizeRequest, subject: Subject): void {
  const refused = subject.kind === 'user' ? null : refusal(subject);
  const name = ctx.state.session!.principal.name;
  const hidden = (n: string, v: string) => html`<input type="hidden" name="${n}" value="${v}">`;
  // The approval form redirects to the CLI's loopback listener: the browser must let a form of
  // this page end there (form-action), and nowhere else.
  ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY.replace("form-action 'self'", `form-action 'self' ${request.redirectUri.origin}`));
  page(ctx, {
    title: 'Authorize Terraform CLI',
    body: html`<article>
<h1>Terraform CLI wants a token for ${name}</h1>
<p><code>terraform login</code> on your computer asks for a new user token, which it will store and use to act as you. It is listed with your tokens as "terraform login" and can be revoked there.</p>
${refused ? html`<p role="alert" class="error">${refused}</p>` : ''}
<form method="post" action="/app/oauth/authorize">
${csrfField(ctx)}
${hidden('client_id', TERRAFORM_CLIENT_ID)}
${hidden('response_type', 'code')}
${hidden('redirect_uri', request.redirectUri.href)}
${hidden('state', request.state)}
${hidden('code_challenge', request.codeChallenge)}
${hidden('code_challenge_method', 'S256')}
${refused ? '' : html`<button type="submit" name="decision" value="approve">Approve</button>`}
<button type="submit" name="decision" value="decline" class="secondary">Decline</button>
</form>
</article>`,
  });
}
