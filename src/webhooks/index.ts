// The webhooks domain: the public endpoint for providers' deliveries, their signature checks
// (verify.ts, parse/), replay refusal, and the worker that hands accepted events to the dispatch.
// Wired into otfd by src/server.ts.
import type Router from '@koa/router';
import type { AppState } from '../api/http.js';
import type { Db } from '../db/index.js';
import type { Listener } from '../db/notify.js';
import type { Logger } from '../logger.js';
import { registerWebhookRoutes } from './routes.js';
import { WebhookService, type EventHandler, type HookDirectory } from './service.js';
import { MAX_DELIVERY_BYTES, verifyDelivery } from './verify.js';

export { WebhookService, MAX_ATTEMPTS, KEEP_DELIVERIES_DAYS, type EventHandler, type HookDirectory, type Verifier } from './service.js';
export { MAX_DELIVERY_BYTES } from './verify.js';

/**
 * Deliveries otfd reads at once; more answer 503 with Retry-After. At MAX_DELIVERY_BYTES (25 MiB)
 * each, this bounds what unauthenticated POSTs can hold in memory to about 400 MiB.
 */
export const MAX_CONCURRENT_DELIVERIES = 16;

export interface WebhookDeps {
  db: Db;
  hooks: HookDirectory;
  handle: EventHandler;
  logger: Logger;
}

export interface WebhookDomain {
  /** POST /webhooks/:kind/:hookId, mounted at the root without a bearer token. */
  publicRoutes(router: Router<AppState>): void;
  service: WebhookService;
  /** Starts processing recorded deliveries (those left by an otfd that stopped, then new ones). */
  start(listener: Listener): Promise<void>;
  stop(): Promise<void>;
}

export function createWebhookDomain(deps: WebhookDeps): WebhookDomain {
  const service = new WebhookService(deps.db, deps.hooks, verifyDelivery, deps.handle, deps.logger);
  return {
    // The hook is looked up first; then the body is read within MAX_DELIVERY_BYTES, by at most
    // MAX_CONCURRENT_DELIVERIES requests at once.
    publicRoutes: (router) =>
      registerWebhookRoutes(router, { webhooks: service, maxDeliveryBytes: MAX_DELIVERY_BYTES, maxConcurrentDeliveries: MAX_CONCURRENT_DELIVERIES }),
    service,
    start: (listener) => service.start(listener),
    stop: () => service.stop(),
  };
}
