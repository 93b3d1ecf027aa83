// The koa application: request ids and logs, metrics, errors, authentication, body parsing, and
// the routes of every domain under /api/v2.
import crypto from 'node:crypto';
import Router from '@koa/router';
import Koa, { type Next } from 'koa';
import client from 'prom-client';
import type { Registry } from '../metrics.js';
import { actorOf } from '../audit/index.js';
import { isApiCredential } from '../auth/authorize.js';
import type { Subject } from '../auth/subject.js';
import { logCaller, type AuthService } from '../auth/service.js';
import { cancelWork, databaseUsable, type Db } from '../db/index.js';
import { UnauthorizedError } from '../errors.js';
import { currentScope, runInScope, type Logger, type WorkScope } from '../logger.js';
import { RETRY_AFTER_SECONDS, errorDocument, errorMiddleware } from './errors.js';
import { authFailureLimit, jsonBody, refuseBadInput, setSecurityHeaders } from './hygiene.js';
import { type ApiRouter, type AppState, type Ctx } from './http.js';
import { MEDIA_TYPE } from './jsonapi.js';
import { registerMetaRoutes } from './meta.js';

export const API_PREFIX = '/api/v2';
/** The agent protocol: runners (the server agent and otf-agent) talk to otfd here. */
export const AGENT_PREFIX = '/api/agent';
/** The Terraform Cloud API version we speak; the CLI needs at least 2.5 for `cloud {}`. */
export const TFP_API_VERSION = '2.6';

export interface AppOptions {
  /** Where request metrics go; /metrics serves it, with what the domains registered in it. */
  registry: Registry;
  logger: Logger;
  db: Db;
  auth: AuthService;
  /** Registers the JSON:API routes of every domain on the /api/v2 router. */
  routes: (router: ApiRouter) => void;
  /** Registers the routes of the agent protocol (runners) on the /api/agent router. */
  agentRoutes?: (router: ApiRouter) => void;
  /** Routes outside /api/v2 that need no bearer token (signed upload and log URLs). */
  publicRoutes?: (router: Router<AppState>) => void;
  /** Hides secrets that some paths carry (signed URLs) from logs. */
  redactPath?: (path: string) => string;
  /** True once otfd is stopping: answers then close their connection instead of keeping it alive. */
  stopping?: () => boolean;
  /** otfd serves TLS itself: answers carry Strict-Transport-Security. */
  tls?: boolean;
  /** Failed authentications per client address and minute before 429s; 0 turns it off (default 30). */
  authFailureLimit?: number;
  /**
   * Records an authenticated change request to /api/v2 that was refused (4xx) or failed (5xx) in
   * the audit trail, after its answer (src/audit). Given ids and the route only, never the body.
   */
  auditRefusal?: (r: { method: string; route: string; path: string; status: number; subject: Subject }) => Promise<void>;
  /** The web UI: a middleware answering its own paths (it passes others on), and its service-discovery entries. */
  web?: { middleware: Koa.Middleware<AppState>; discovery: Record<string, unknown> };
}

/** The largest JSON:API request body, and its deepest nesting. */
export const MAX_JSON_BYTES = 10 * 1024 * 1024;
export const MAX_JSON_DEPTH = 64;

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

function metrics(registry: Registry) {
  const requests = new client.Counter({
    name: 'otf_http_requests_total',
    help: 'HTTP requests handled, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: 'otf_http_request_duration_seconds',
    help: 'HTTP request latency, by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return { registry, requests, duration };
}

export function createApp(opts: AppOptions): Koa<AppState> {
  const { logger, db, auth } = opts;
  const app = new Koa<AppState>({ proxy: false });
  const m = metrics(opts.registry);
  const redact = opts.redactPath ?? ((p: string) => p);

  app.on('error', (err) => logger.debug({ err }, 'connection error'));

  // Request id, structured access log and metrics for every request. The rest of the request runs
  // in a WorkScope: every log line written meanwhile, by any domain, carries the request id and
  // (once authenticated) the caller; and a reader that hangs up leaves nobody for its answer, so
  // the SQL its connections are running is cancelled rather than left to run to the statement
  // timeout. Only reads are cancelled: a write is left to finish or fail whole.
  app.use((ctx, next) => {
    const start = process.hrtime.bigint();
    const given = ctx.get('X-Request-Id');
    const requestId = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    const read = ctx.method === 'GET' || ctx.method === 'HEAD';
    // The address the socket saw (otfd trusts no X-Forwarded-For: proxy is off): the audit trail's "from where".
    const scope: WorkScope = { fields: { reqId: requestId }, held: read ? new Set() : null, address: ctx.request.ip };
    if (read) {
      ctx.res.once('close', () => {
        if (!ctx.res.writableFinished) cancelWork(db, scope);
      });
    }
    return runInScope(scope, () => logged(ctx, next, start));
  });
  const tls = { tls: opts.tls ?? false };
  const logged = async (ctx: Koa.ParameterizedContext<AppState>, next: Next, start: bigint) => {
    try {
      await next();
      // Nothing matched: a JSON:API 404, or 405 when allowedMethods found the path under another method.
      if (ctx.body === undefined || ctx.body === null) nothingMatched(ctx);
    } finally {
      setSecurityHeaders(ctx, tls);
      // A kept-alive connection would carry the client's next request to an otfd on its way out.
      if (opts.stopping?.() && !ctx.headerSent) ctx.set('Connection', 'close');
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const matched = (ctx as unknown as { _matchedRoute?: string | RegExp })._matchedRoute;
      const route = typeof matched === 'string' ? matched : 'unmatched';
      m.requests.inc({ method: ctx.method, route, status: String(ctx.status) });
      m.duration.observe({ method: ctx.method, route }, seconds);
      logger.info({ method: ctx.method, path: redact(ctx.path), route, status: ctx.status, ms: Math.round(seconds * 1e4) / 10 }, 'request');
      const subject = ctx.state.subject;
      // Not a 503: the database is unavailable then, and the record would wait for it in vain.
      const refused = ctx.status >= 400 && ctx.status !== 503;
      if (opts.auditRefusal && subject && refused && !(ctx.method === 'GET' || ctx.method === 'HEAD' || ctx.method === 'OPTIONS') && ctx.path.startsWith(`${API_PREFIX}/`)) {
        // Not the request's failure if this fails: the answer is given; the log says what was lost.
        await opts
          .auditRefusal({ method: ctx.method, route: typeof matched === 'string' ? matched : redact(ctx.path), path: redact(ctx.path), status: ctx.status, subject })
          .catch((err: unknown) => logger.error({ err }, 'cannot record a refused request in the audit trail'));
      }
    }
  };
  const nothingMatched = (ctx: Koa.ParameterizedContext<AppState>) => {
    if (ctx.status === 404) {
      ctx.status = 404;
      ctx.type = MEDIA_TYPE;
      ctx.body = errorDocument(404, 'not found', `no such endpoint: ${ctx.method} ${redact(ctx.path)}`);
    } else if (ctx.status === 405) {
      ctx.type = MEDIA_TYPE;
      ctx.body = errorDocument(405, 'method not allowed', `${ctx.method} is not allowed on ${redact(ctx.path)}`);
    }
  };

  // Security headers and the 404 document are set by the first middleware on the way out: a
  // middleware of their own would be two more layers for every request to pass.
  app.use(errorMiddleware(logger));
  app.use(refuseBadInput);
  if (opts.web) app.use(opts.web.middleware);

  const root = new Router<AppState>();
  root.get('/.well-known/terraform.json', (ctx) => {
    ctx.type = 'application/json';
    const api = `${API_PREFIX}/`;
    ctx.body = { 'tfe.v2': api, 'tfe.v2.1': api, 'tfe.v2.2': api, 'state.v2': api, ...opts.web?.discovery };
  });
  root.get('/healthz', async (ctx) => {
    const ok = await databaseUsable(db);
    ctx.status = ok ? 200 : 503;
    if (!ok) ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
    ctx.body = ok ? { status: 'ok' } : { status: 'unavailable', detail: 'the database is not usable' };
  });
  root.get('/metrics', async (ctx) => {
    ctx.type = m.registry.contentType;
    ctx.body = await m.registry.metrics();
  });
  registerMetaRoutes(root);
  opts.publicRoutes?.(root);
  app.use(root.routes());

  // `forApi`: agent and agent-pool tokens are credentials for the agent protocol only.
  const authenticate = (forApi: boolean) => async (ctx: Ctx, next: Next) => {
    const header = ctx.get('Authorization');
    if (!header) throw new UnauthorizedError('missing bearer token in the Authorization header');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new UnauthorizedError('the Authorization header must be "Bearer <token>"');
    const subject = await auth.authenticate(m[1]);
    if (!subject) throw new UnauthorizedError('the token is invalid, expired or revoked');
    ctx.state.subject = subject;
    const scope = currentScope();
    if (scope) {
      scope.fields.caller = logCaller(subject);
      scope.actor = actorOf(subject);
    }
    if (forApi && !isApiCredential(subject)) throw new UnauthorizedError('an agent token is good for the agent protocol only, not for the API');
    await next();
  };
  const parseBody = jsonBody({ limit: MAX_JSON_BYTES, maxDepth: MAX_JSON_DEPTH });
  // Runners send their log chunks and artifacts as raw bytes; those routes read the stream.
  const parseAgentBody = jsonBody({ limit: MAX_JSON_BYTES, maxDepth: MAX_JSON_DEPTH, rawTypes: ['application/octet-stream'] });
  const limitFailures = authFailureLimit(opts.authFailureLimit ?? 30);

  const api: ApiRouter = new Router<AppState>({ prefix: API_PREFIX });
  api.use((ctx, next) => {
    ctx.set('TFP-API-Version', TFP_API_VERSION);
    return next();
  });
  // The CLI reads only the headers of ping; it needs no token. Every route after this one does.
  // No X-RateLimit-Limit: go-tfe would throttle itself to that many requests a second, and otfd
  // limits only failed authentication, not the CLI's requests.
  api.get('/ping', (ctx) => {
    ctx.status = 204;
  });
  api.use(limitFailures, authenticate(true), parseBody);
  opts.routes(api);
  app.use(api.routes());
  app.use(api.allowedMethods());

  if (opts.agentRoutes) {
    const agent: ApiRouter = new Router<AppState>({ prefix: AGENT_PREFIX });
    agent.use(limitFailures, authenticate(false), parseAgentBody);
    opts.agentRoutes(agent);
    app.use(agent.routes());
    app.use(agent.allowedMethods());
  }

  return app;
}
