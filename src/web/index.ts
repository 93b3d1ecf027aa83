// The web UI: server-rendered pages over the same services as the API, with sessions from
// sign-in (token, single sign-on, `terraform login`), live run logs and statuses through
// Server-Sent Events, and no single-page-app build: every page works from its URL.
import Router from '@koa/router';
import type { Next, ParameterizedContext } from 'koa';
import type { AppState } from '../api/http.js';
import type { WebDeps } from './deps.js';
import { EventHub } from './events.js';
import { isWebPath, webMiddleware, type WebState } from './http.js';
import { errorPage } from './layout.js';
import { registerOrganizationPages } from './pages/organizations.js';
import { registerRunPages } from './pages/runs.js';
import { registerOrgPages } from './pages/org-pages.js';
import { registerSignInPages } from './pages/signin.js';
import { registerVariablePages } from './pages/variables.js';
import { registerWorkspaceSettingsPages } from './pages/workspace-settings.js';
import { registerWorkspacePages } from './pages/workspaces.js';
import { registerOidcPages } from './pages/oidc.js';
import { LOGIN_DISCOVERY, registerTerraformLoginPages, registerTokenEndpoint, TOKEN_PATH } from './pages/terraform-login.js';
import { SessionService } from './sessions/service.js';
import { registerStaticRoutes } from './static.js';

export type { WebDeps, WebSettings, OidcSettings } from './deps.js';
export { SessionService } from './sessions/service.js';

export interface WebDomain {
  sessions: SessionService;
  /** Live updates: domains' hooks (wired in src/server.ts) publish what changed here. */
  events: EventHub;
  /** Koa middleware answering every web path (/, /app/..., /login, /logout, /static/...); passes others on. */
  middleware: (ctx: ParameterizedContext<AppState>, next: Next) => Promise<void>;
  /** Routes that are not pages, registered among otfd's public routes: `terraform login`'s token endpoint. */
  publicRoutes(router: Router<AppState>): void;
  /** Entries of /.well-known/terraform.json the web UI adds (login.v1 for `terraform login`). */
  discovery: Record<string, unknown>;
  start(): Promise<void>;
  /** Ends event streams (browsers reconnect to the next otfd) and background work. */
  stop(): void;
}

export function createWebDomain(deps: Omit<WebDeps, 'sessions' | 'events'>): WebDomain {
  const sessions = new SessionService(deps.db, deps.auth, deps.site.secret, deps.settings.sessionLifetimeMs);
  const events = new EventHub(deps.db, deps.listener, deps.logger, { recheckMs: deps.settings.streamRecheckMs });
  // A session that ends here ends its event streams on every otfd.
  sessions.onEnd((id) => events.sessionEnded(id));
  const all: WebDeps = { ...deps, sessions, events };
  const router = new Router<WebState>();
  router.get('/', (ctx) => ctx.redirect('/app/organizations'));
  router.get('/app', (ctx) => ctx.redirect('/app/organizations'));
  registerStaticRoutes(router);
  registerSignInPages(router, all);
  registerOrganizationPages(router, all);
  registerRunPages(router, all);
  registerWorkspacePages(router, all);
  registerWorkspaceSettingsPages(router, all);
  registerVariablePages(router, all);
  registerOrgPages(router, all);
  registerOidcPages(router, all);
  registerTerraformLoginPages(router, all);
  // login.v1: `terraform login HOST` gets a user token through the browser.
  const discovery: Record<string, unknown> = { 'login.v1': LOGIN_DISCOVERY };

  const guard = webMiddleware({ sessions, site: deps.site, tls: deps.settings.tls, logger: deps.logger, errorPage });
  const routes = router.routes();
  const allowed = router.allowedMethods();
  const middleware = async (appCtx: ParameterizedContext<AppState>, next: Next): Promise<void> => {
    // The token endpoint sits among the pages' paths but is the CLI's, not a page (publicRoutes).
    if (!isWebPath(appCtx.path) || appCtx.path === TOKEN_PATH) return next();
    // The web middleware fills in the rest of WebState (csrf, tls, session) before any route runs.
    const ctx = appCtx as ParameterizedContext<WebState>;
    await guard(ctx, async () => {
      await routes(ctx as never, async () => {
        await allowed(ctx as never, async () => undefined);
      });
      if (ctx.body === undefined || ctx.body === null) {
        if (ctx.status === 405) errorPage(ctx as never, 405, 'method not allowed', `${ctx.method} is not allowed here`);
        else if (ctx.status === 404) errorPage(ctx as never, 404, 'not found', 'there is no such page, or you may not see it');
      }
    });
  };
  return {
    sessions,
    events,
    middleware,
    discovery,
    publicRoutes: (publicRouter) => registerTokenEndpoint(publicRouter, all),
    start: async () => {
      sessions.startSweeping();
      await events.start();
    },
    stop: () => {
      events.closeAll();
      sessions.stop();
    },
  };
}
