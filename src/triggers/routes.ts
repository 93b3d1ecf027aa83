// HTTP routes of the run triggers domain.
import { encode, pageOffset, paginate, parseIncludes, parsePage, queryValue, resources, type Resource } from '../api/jsonapi.js';
import { body, noContent, query, requestUrl, send, subjectOf, type ApiRouter, type Ctx, type Site } from '../api/http.js';
import { isAllowed } from '../auth/authorize.js';
import { BadRequestError } from '../errors.js';
import { presentWorkspace, workspaceScope, workspaceType, type WorkspaceService } from '../workspaces/index.js';
import { presentRunTrigger, runTriggerType } from './presenters.js';
import { readCreate } from './schemas.js';
import type { Direction, RunTrigger, RunTriggerService } from './service.js';

const TYPE_FILTER = 'filter[run-trigger][type]';

/** The required filter[run-trigger][type]: Terraform Cloud answers 400 when it is missing or unknown. */
function direction(ctx: Ctx): Direction {
  const value = queryValue(query(ctx), TYPE_FILTER);
  if (value === 'inbound' || value === 'outbound') return value;
  const got = value === undefined ? 'it is missing' : `got "${value}"`;
  throw new BadRequestError(`query parameter ${TYPE_FILTER} is required and must be "inbound" or "outbound": ${got}`, { parameter: TYPE_FILTER });
}

export function registerRunTriggerRoutes(router: ApiRouter, triggers: RunTriggerService, workspaces: WorkspaceService, site: Site): void {
  /** include=workspace and include=sourceable: the workspaces, those the subject may see. Unknown includes are ignored. */
  async function included(ctx: Ctx, list: RunTrigger[]): Promise<Resource[]> {
    const wanted = parseIncludes(query(ctx));
    const ids = new Set<string>();
    for (const t of list) {
      if (wanted.has('workspace')) ids.add(t.workspaceId);
      if (wanted.has('sourceable')) ids.add(t.sourceableId);
    }
    if (ids.size === 0) return [];
    const subject = subjectOf(ctx);
    const seen = (await workspaces.byIds([...ids])).filter((ws) => isAllowed(subject, 'workspace:read', workspaceScope(ws)));
    return resources(workspaceType, seen.map((ws) => presentWorkspace(ws, subject)));
  }

  router.get('/workspaces/:id/run-triggers', async (ctx) => {
    const dir = direction(ctx);
    const page = parsePage(query(ctx));
    const { items, total } = await triggers.list(subjectOf(ctx), ctx.params.id, dir, page.size, pageOffset(page));
    send(ctx, 200, encode(runTriggerType, items.map(presentRunTrigger), { ...paginate(page, total, requestUrl(ctx, site)), included: await included(ctx, items) }));
  });

  router.post('/workspaces/:id/run-triggers', async (ctx) => {
    const doc = readCreate(body(ctx));
    const trigger = await triggers.create(subjectOf(ctx), ctx.params.id, doc.data.relationships.sourceable.data.id);
    send(ctx, 201, encode(runTriggerType, presentRunTrigger(trigger)));
  });

  router.get('/run-triggers/:id', async (ctx) => {
    const trigger = await triggers.get(subjectOf(ctx), ctx.params.id);
    send(ctx, 200, encode(runTriggerType, presentRunTrigger(trigger), { included: await included(ctx, [trigger]) }));
  });

  router.delete('/run-triggers/:id', async (ctx) => {
    await triggers.delete(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });
}
