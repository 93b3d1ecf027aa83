// HTTP routes of data retention: Terraform Cloud's
//   GET|POST|DELETE /organizations/:org/relationships/data-retention-policy
//   GET|POST|DELETE /workspaces/:id/relationships/data-retention-policy
// GET answers {data: null} when there is no policy at that level.
import { body, noContent, send, subjectOf, type ApiRouter } from '../api/http.js';
import { Type, untypedResourceDocument, validator } from '../api/schema.js';
import { InvalidError } from '../errors.js';
import { DELETE_OLDERS, DONT_DELETES, LEGACY, presentPolicy } from './presenters.js';
import { MAX_DAYS, type PolicyInput, type RetentionService } from './service.js';
import type { RetentionPolicy } from './store.js';

const readPolicy = validator(
  untypedResourceDocument({
    attributes: Type.Optional(
      Type.Object({
        'delete-older-than-n-days': Type.Optional(
          Type.Integer({ minimum: 1, maximum: MAX_DAYS, 'x-message': `must be a whole number of days from 1 to ${MAX_DAYS}` }),
        ),
      }),
    ),
  }),
);

/** The document's type says which kind of policy it is. */
function policyInput(raw: unknown): PolicyInput {
  const data = readPolicy(raw).data;
  const days = data.attributes?.['delete-older-than-n-days'];
  if (data.type === DONT_DELETES) return { kind: 'dont-delete', deleteOlderThanNDays: null };
  if (data.type === DELETE_OLDERS || data.type === LEGACY) {
    if (days === undefined) throw new InvalidError('attribute "delete-older-than-n-days" is required', { pointer: '/data/attributes' });
    return { kind: 'delete-older', deleteOlderThanNDays: days };
  }
  // JSON.stringify: a type with control characters or NULs is shown escaped, never raw.
  throw new InvalidError(`data.type must be "${DELETE_OLDERS}" or "${DONT_DELETES}", got ${JSON.stringify(data.type ?? null).slice(0, 120)}`, { pointer: '/data/type' });
}

function document(p: RetentionPolicy | null): Record<string, unknown> {
  return { data: p ? presentPolicy(p) : null };
}

export function registerRetentionRoutes(router: ApiRouter, retention: RetentionService): void {
  const org = '/organizations/:org/relationships/data-retention-policy';
  router.get(org, async (ctx) => send(ctx, 200, document(await retention.getForOrganization(subjectOf(ctx), ctx.params.org))));
  router.post(org, async (ctx) => {
    const input = policyInput(body(ctx));
    send(ctx, 201, document(await retention.setForOrganization(subjectOf(ctx), ctx.params.org, input)));
  });
  router.delete(org, async (ctx) => {
    await retention.deleteForOrganization(subjectOf(ctx), ctx.params.org);
    noContent(ctx);
  });

  const ws = '/workspaces/:id/relationships/data-retention-policy';
  router.get(ws, async (ctx) => send(ctx, 200, document(await retention.getForWorkspace(subjectOf(ctx), ctx.params.id))));
  router.post(ws, async (ctx) => {
    const input = policyInput(body(ctx));
    send(ctx, 201, document(await retention.setForWorkspace(subjectOf(ctx), ctx.params.id, input)));
  });
  router.delete(ws, async (ctx) => {
    await retention.deleteForWorkspace(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });
}
