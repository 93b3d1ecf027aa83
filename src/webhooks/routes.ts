// The public endpoint providers deliver webhooks to: POST /webhooks/<kind>/<hookId>. No bearer
// token: a delivery proves itself by its signature (or GitLab's token), checked by the service.
import type Router from '@koa/router';
import { readBody } from '../api/body.js';
import type { AppState } from '../api/http.js';
import { AppError } from '../errors.js';
import type { WebhookService } from './service.js';

export function registerWebhookRoutes(router: Router<AppState>, deps: { webhooks: WebhookService; maxDeliveryBytes: number }): void {
  router.post('/webhooks/:kind/:hookId', async (ctx) => {
    // The body first, within its limit: nothing else is done for a delivery too large to be one.
    let body: Buffer;
    try {
      body = await readBody(ctx, deps.maxDeliveryBytes, 'a webhook delivery');
    } catch (err) {
      if (err instanceof AppError) throw deps.webhooks.refused(ctx.params.kind, ctx.params.hookId, err, ctx.state.requestId);
      throw err;
    }
    await deps.webhooks.receive(ctx.params.kind, ctx.params.hookId, ctx.req.headers, body, ctx.state.requestId);
    // Accepted: processed in the background, so the provider gets its answer at once.
    ctx.body = null;
    ctx.status = 202;
  });
}
