// HTTP for the web UI: sessions from cookies, CSRF checks on every form, form bodies, security
// headers and errors as HTML pages. Pages are authorized by the same services, with the same
// Subject, as the API: a page only decides what to show and which buttons to offer (isAllowed).
import crypto from 'node:crypto';
import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import type { Next, ParameterizedContext } from 'koa';
import type { AppState, Site } from '../api/http.js';
import { actorOf } from '../audit/index.js';
import type { Subject } from '../auth/subject.js';
import { AppError, BadRequestError, ForbiddenError, UnauthorizedError } from '../errors.js';
import { currentScope, type Logger } from '../logger.js';
import { html, type Html } from './html.js';
import type { Session, SessionService } from './sessions/service.js';

export interface WebState extends AppState {
  /** The signed-in visitor's session, if any. */
  session?: Session;
  /** The CSRF token every form of this page carries (field _csrf, or header X-CSRF-Token). */
  csrf: string;
  /** The fields of a posted form. */
  form?: URLSearchParams;
  /** Whether this otfd serves TLS (cookies are Secure then). */
  tls: boolean;
  /** A visitor who is not signed in: the pre-session cookie their sign-in form's CSRF token is bound to. */
  preSession?: string;
}

export type WebCtx = RouterContext<WebState>;
export type WebRouter = Router<WebState>;
type AnyWebCtx = ParameterizedContext<WebState>;

export const SESSION_COOKIE = 'otf_session';
/** A random value a visitor gets before signing in: the sign-in form's CSRF token is bound to it. */
export const PRE_SESSION_COOKIE = 'otf_pre';
/** The largest form accepted, in bytes (a variable's value is the largest field). */
export const MAX_FORM_BYTES = 256 * 1024;

/**
 * No inline scripts or styles, nothing from elsewhere: markup a user managed to slip into a page
 * could not run. Forms post only here, and no other site may frame the pages.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

/** Raised by signedIn(): a GET is redirected to the sign-in page, anything else answered 401. */
export class SignInRequired extends UnauthorizedError {
  constructor() {
    super('you need to sign in first');
  }
}

/** The visitor's session; raises SignInRequired for a visitor who is not signed in. */
export function signedIn(ctx: WebCtx): Session {
  if (!ctx.state.session) throw new SignInRequired();
  return ctx.state.session;
}

/** The signed-in visitor's rights: what every service call of a page is made with. */
export function subjectOf(ctx: WebCtx): Subject {
  return signedIn(ctx).subject;
}

/** A field of the posted form, or '' when absent. */
export function field(ctx: WebCtx, name: string): string {
  return ctx.state.form?.get(name) ?? '';
}

/** Answers with a 303 to a path of this site (form posts redirect to the page they change). */
export function redirect(ctx: WebCtx, path: string): void {
  ctx.status = 303;
  ctx.redirect(localPath(path, '/app'));
}

/**
 * A path on this site, from a value a visitor may have chosen (?next=): anything that is not a
 * plain absolute path (//evil.example, /\evil, https://..., control characters) becomes `fallback`.
 */
export function localPath(value: string | undefined | null, fallback: string): string {
  if (!value || value.length > 2048) return fallback;
  if (!/^\/(?![/\\])[\x21-\x7e]*$/.test(value)) return fallback;
  return value;
}

export function setCookie(ctx: AnyWebCtx, name: string, value: string, opts: { maxAgeMs?: number; expires?: Date } = {}): void {
  ctx.cookies.set(name, value, {
    httpOnly: true,
    secure: ctx.state.tls,
    sameSite: 'lax',
    path: '/',
    overwrite: true,
    maxAge: opts.maxAgeMs,
    expires: opts.expires,
  });
}

export function clearCookie(ctx: AnyWebCtx, name: string): void {
  ctx.cookies.set(name, '', { httpOnly: true, secure: ctx.state.tls, sameSite: 'lax', path: '/', expires: new Date(0), overwrite: true });
}

export interface WebHttpOptions {
  sessions: SessionService;
  site: Site;
  tls: boolean;
  logger: Logger;
  /** Renders an error page (the layout lives with the pages). */
  errorPage: (ctx: WebCtx, status: number, title: string, detail: string) => void;
}

/** Whether a path belongs to the web UI (and so gets its sessions, headers and HTML errors). */
export function isWebPath(path: string): boolean {
  return path === '/' || path === '/app' || path.startsWith('/app/') || path === '/login' || path.startsWith('/login/') || path === '/logout' || path.startsWith('/static/');
}

/** The middleware in front of every web route. */
export function webMiddleware(opts: WebHttpOptions) {
  const { sessions } = opts;
  return async (ctx: AnyWebCtx, next: Next): Promise<void> => {
    ctx.state.tls = opts.tls;
    ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'same-origin');
    // Stylesheets and scripts need no session: no database query, no cookie for them.
    if (ctx.path.startsWith('/static/')) return next();
    ctx.set('Cache-Control', 'no-store');
    try {
      await loadSession(ctx, sessions);
      // The audit trail's actor of every change the visitor's forms make (src/audit).
      const scope = currentScope();
      if (scope && ctx.state.session) scope.actor = actorOf(ctx.state.session.subject);
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
        refuseCrossSite(ctx, opts.site);
        ctx.state.form = await readForm(ctx);
        const given = ctx.state.form.get('_csrf') ?? ctx.get('X-CSRF-Token');
        if (!given || !sessions.csrfMatches(csrfBinding(ctx), given)) {
          throw new ForbiddenError('the form is missing its CSRF token or it is stale: reload the page and try again');
        }
      }
      await next();
    } catch (err) {
      if (err instanceof SignInRequired && (ctx.method === 'GET' || ctx.method === 'HEAD') && !isEventStream(ctx)) {
        ctx.status = 303;
        ctx.redirect(`/login?next=${encodeURIComponent(ctx.originalUrl)}`);
        return;
      }
      if (err instanceof AppError) {
        opts.errorPage(ctx as WebCtx, err.status, err.title, err.message);
        return;
      }
      opts.logger.error({ err, path: ctx.path }, 'web page failed');
      opts.errorPage(ctx as WebCtx, 500, 'internal error', `something went wrong on our side (request ${ctx.state.requestId})`);
    }
  };
}

function isEventStream(ctx: AnyWebCtx): boolean {
  return ctx.get('Accept').includes('text/event-stream');
}

async function loadSession(ctx: AnyWebCtx, sessions: SessionService): Promise<void> {
  const cookie = ctx.cookies.get(SESSION_COOKIE);
  if (cookie) {
    const session = await sessions.resume(cookie);
    if (session) ctx.state.session = session;
    else clearCookie(ctx, SESSION_COOKIE);
  }
  if (!ctx.state.session) {
    let pre = ctx.cookies.get(PRE_SESSION_COOKIE);
    if (!pre || !/^[A-Za-z0-9_-]{22}$/.test(pre)) {
      pre = crypto.randomBytes(16).toString('base64url');
      setCookie(ctx, PRE_SESSION_COOKIE, pre);
    }
    ctx.state.preSession = pre;
  }
  ctx.state.csrf = sessions.csrfFor(csrfBinding(ctx));
}

function csrfBinding(ctx: AnyWebCtx): string {
  return ctx.state.session ? `session:${ctx.state.session.id}` : `pre:${ctx.state.preSession ?? ''}`;
}

/**
 * A browser says where a request comes from (Sec-Fetch-Site, Origin); a form posted from another
 * site is refused before it is read, whatever token it carries.
 */
function refuseCrossSite(ctx: AnyWebCtx, site: Site): void {
  const fetchSite = ctx.get('Sec-Fetch-Site');
  if (fetchSite && fetchSite !== 'same-origin' && fetchSite !== 'none') {
    throw new ForbiddenError('cross-site form posts are refused');
  }
  const origin = ctx.get('Origin');
  if (origin && origin !== 'null') {
    const own = new Set([new URL(site.baseUrl || 'http://invalid').origin, `${ctx.protocol}://${ctx.host}`]);
    if (!own.has(origin)) throw new ForbiddenError(`cross-site form posts are refused (origin ${origin})`);
  } else if (origin === 'null') {
    throw new ForbiddenError('form posts from an opaque origin are refused');
  }
}

/** A urlencoded form of at most MAX_FORM_BYTES; anything else is refused with a clear error. */
export async function readForm(ctx: Pick<AnyWebCtx, 'get' | 'req'>): Promise<URLSearchParams> {
  const type = ctx.get('Content-Type');
  const length = Number(ctx.get('Content-Length') || '0');
  if (length > MAX_FORM_BYTES) throw new PayloadTooLargeForm();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new PayloadTooLargeForm();
    chunks.push(chunk);
  }
  if (size === 0) return new URLSearchParams();
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
    throw new BadRequestError('forms are sent as application/x-www-form-urlencoded');
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.includes('\0') || text.includes('%00')) throw new BadRequestError('a form field may not contain a NUL byte');
  return new URLSearchParams(text);
}

class PayloadTooLargeForm extends AppError {
  readonly status = 413;
  readonly title = 'payload too large';
  constructor() {
    super(`a form may be at most ${MAX_FORM_BYTES / 1024} KiB`);
  }
}

/** Sets an HTML answer. */
export function sendHtml(ctx: WebCtx | AnyWebCtx, status: number, page: Html): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = page.text;
}

/** The hidden CSRF field every form carries. */
export function csrfField(ctx: WebCtx): Html {
  return html`<input type="hidden" name="_csrf" value="${ctx.state.csrf}">`;
}
