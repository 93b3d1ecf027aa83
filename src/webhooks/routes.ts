// The public endpoint providers deliver webhooks to: POST /webhooks/<kind>/<hookId>. No bearer
// token: a delivery proves itself by its signature (or GitLab's token), checked by the service.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { readBody } from '../api/body.js';
import type { AppState } from '../api/http.js';
import { AppError, UnavailableError } from '../errors.js';
import type { WebhookService } from './service.js';

/** How long a delivery refused for want of a free reader is told to wait before coming again. */
export const BUSY_RETRY_AFTER_SECONDS = 10;

export function registerWebhookRoutes(
  router: Router<AppState>,
  deps: { webhooks: WebhookService; maxDeliveryBytes: number; maxConcurrentDeliveries: number },
): void {
  // Deliveries whose body is being read (and checked) right now. Anyone can POST here without
  // logging in, and each body may be MAX_DELIVERY_BYTES: the cap bounds the memory they take.
  let reading = 0;

  // A refusal answered before the body is read: the connection is closed after the answer rather
  // than reading and discarding what the client still sends (Node answers first, then closes).
  const unread = (ctx: Context, err: AppError): AppError => {
    ctx.set('Connection', 'close');
    return err;
  };

  router.post('/webhooks/:kind/:hookId', async (ctx) => {
    const { kind, hookId } = ctx.params;
    const requestId = ctx.state.requestId;
    // The hook first: a URL that names no hook (404) costs a lookup, never a body read into memory.
    let found: Awaited<ReturnType<WebhookService['hookOf']>>;
    try {
      found = await deps.webhooks.hookOf(kind, hookId, requestId);
    } catch (err) {
      if (err instanceof AppError) throw unread(ctx, err);
      throw err;
    }
    if (reading >= deps.maxConcurrentDeliveries) {
      ctx.set('Retry-After', String(BUSY_RETRY_AFTER_SECONDS));
      const busy = new UnavailableError(`otfd is reading ${reading} webhook deliveries already; deliver again in ${BUSY_RETRY_AFTER_SECONDS} seconds`);
      throw unread(ctx, deps.webhooks.refused(kind, hookId, busy, requestId));
    }
    reading++;
    try {
      // The body within its limit, then its signature, then it is recorded.
      let body: Buffer;
      try {
        body = await readBody(ctx, deps.maxDeliveryBytes, 'a webhook delivery');
      } catch (err) {
        if (err instanceof AppError) throw deps.webhooks.refused(kind, hookId, err, requestId);
        throw err;
      }
      await deps.webhooks.receive(found, ctx.req.headers, body, requestId);
    } finally {
      reading--;
    }
    // Accepted: processed in the background, so the provider gets its answer at once.
    ctx.body = null;
    ctx.status = 202;
  });
}
