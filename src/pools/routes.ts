// HTTP routes of agent pools as users manage them, in Terraform Cloud's shapes: agent pools,
// their agent tokens, and their agents.
import { encode, pageOffset, paginate, parsePage, queryValue, type Query, type View } from '../api/jsonapi.js';
import { body, noContent, query, requestUrl, send, subjectOf, type ApiRouter, type Site } from '../api/http.js';
import { nameSchema, resourceDocument, stringEnum, toMany, Type, validator } from '../api/schema.js';
import { BadRequestError } from '../errors.js';
import { authenticationTokenType, presentToken, type TokenDirectory } from '../auth/routes.js';
import type { Organization } from '../orgs/index.js';
import { agentType, poolType, presentAgent, presentPool } from './presenters.js';
import type { Pool, PoolService } from './service.js';

// ---------------------------------------------------------------- request documents

const poolAttributes = {
  name: nameSchema,
  'organization-scoped': Type.Optional(Type.Boolean()),
  'agent-name-release-seconds': Type.Optional(Type.Integer({ minimum: 0, maximum: 31_536_000 })),
};
const poolRelationships = { 'allowed-workspaces': Type.Optional(toMany('workspaces')) };

const readCreatePool = validator(
  resourceDocument('agent-pools', { attributes: Type.Object(poolAttributes), relationships: Type.Optional(Type.Object(poolRelationships)) }),
);
const readUpdatePool = validator(
  resourceDocument('agent-pools', {
    attributes: Type.Optional(Type.Partial(Type.Object(poolAttributes))),
    relationships: Type.Optional(Type.Object(poolRelationships)),
  }),
);

/** A pool document as either route reads it (a create's is an update's with the name required). */
type PoolDocument = ReturnType<typeof readUpdatePool>;

function poolInput(doc: PoolDocument) {
  const a = doc.data.attributes ?? {};
  return {
    name: a.name,
    organizationScoped: a['organization-scoped'],
    nameReleaseSeconds: a['agent-name-release-seconds'],
    allowedWorkspaceIds: doc.data.relationships?.['allowed-workspaces']?.data.map((w) => w.id),
  };
}

// The type is "authentication-tokens" in Terraform Cloud's documentation; go-tfe sends "agent-tokens".
const readCreateToken = validator(
  Type.Object({
    data: Type.Object({
      type: stringEnum(['authentication-tokens', 'agent-tokens']),
      attributes: Type.Optional(Type.Object({ description: Type.Optional(Type.String({ maxLength: 512 })) })),
    }),
  }),
);

function sortOf(q: Query): { column: 'name' | 'created_at'; descending: boolean } {
  const raw = queryValue(q, 'sort') ?? 'name';
  const column = { name: 'name', 'created-at': 'created_at' }[raw.replace(/^-/, '')] as 'name' | 'created_at' | undefined;
  if (!column) throw new BadRequestError(`query parameter sort must be name or created-at (prefix - to reverse), got "${raw}"`, { parameter: 'sort' });
  return { column, descending: raw.startsWith('-') };
}

// ---------------------------------------------------------------- routes

export function registerPoolRoutes(router: ApiRouter, pools: PoolService, site: Site): void {
  async function poolView(pool: Pool, org: Organization): Promise<View> {
    return presentPool(pool, org, (await pools.assignedWorkspaceIds([pool.id])).get(pool.id)!);
  }

  router.get('/organizations/:org/agent-pools', async (ctx) => {
    const subject = subjectOf(ctx);
    const q = query(ctx);
    const page = parsePage(q);
    const { org, items, total } = await pools.list(subject, ctx.params.org, {
      search: queryValue(q, 'q'),
      allowedWorkspaceName: queryValue(q, 'filter[allowed_workspaces][name]'),
      sort: sortOf(q),
      limit: page.size,
      offset: pageOffset(page),
    });
    const assigned = await pools.assignedWorkspaceIds(items.map((p) => p.id));
    const views = items.map((p) => presentPool(p, org, assigned.get(p.id)!));
    send(ctx, 200, encode(poolType, views, paginate(page, total, requestUrl(ctx, site))));
  });

  router.post('/organizations/:org/agent-pools', async (ctx) => {
    const subject = subjectOf(ctx);
    const input = poolInput(readCreatePool(body(ctx)));
    const { pool, org } = await pools.create(subject, ctx.params.org, { ...input, name: input.name! });
    send(ctx, 201, encode(poolType, await poolView(pool, org)));
  });

  router.get('/agent-pools/:id', async (ctx) => {
    const subject = subjectOf(ctx);
    const { pool, org } = await pools.get(subject, ctx.params.id);
    send(ctx, 200, encode(poolType, await poolView(pool, org)));
  });

  router.patch('/agent-pools/:id', async (ctx) => {
    const subject = subjectOf(ctx);
    const input = poolInput(readUpdatePool(body(ctx)));
    const { pool, org } = await pools.update(subject, ctx.params.id, input);
    send(ctx, 200, encode(poolType, await poolView(pool, org)));
  });

  router.delete('/agent-pools/:id', async (ctx) => {
    await pools.delete(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });

  // ------------------------------------------------------------ agent tokens

  router.get('/agent-pools/:id/authentication-tokens', async (ctx) => {
    const q = query(ctx);
    const page = parsePage(q);
    const sort = queryValue(q, 'sort') ?? 'created-at';
    if (sort !== 'created-at' && sort !== '-created-at') throw new BadRequestError(`query parameter sort must be created-at or -created-at, got "${sort}"`, { parameter: 'sort' });
    const { items, total } = await pools.listTokens(subjectOf(ctx), ctx.params.id, sort.startsWith('-'), page.size, pageOffset(page));
    send(ctx, 200, encode(authenticationTokenType, items.map((t) => presentToken(t)), paginate(page, total, requestUrl(ctx, site))));
  });

  router.post('/agent-pools/:id/authentication-tokens', async (ctx) => {
    const raw = body(ctx);
    // No body at all is a token without a description.
    const description = raw && Object.keys(raw as object).length > 0 ? readCreateToken(raw).data.attributes?.description : undefined;
    const { token, secret } = await pools.createToken(subjectOf(ctx), ctx.params.id, description ?? '');
    send(ctx, 201, encode(authenticationTokenType, presentToken(token, secret)));
  });

  // ------------------------------------------------------------ agents

  router.get('/agent-pools/:id/agents', async (ctx) => {
    const q = query(ctx);
    const page = parsePage(q);
    const since = queryValue(q, 'filter[last-ping-since]');
    const sinceDate = since === undefined ? null : new Date(since);
    if (sinceDate && Number.isNaN(sinceDate.getTime())) {
      throw new BadRequestError(`query parameter filter[last-ping-since] must be an ISO 8601 time, got "${since}"`, { parameter: 'filter[last-ping-since]' });
    }
    const { items, total } = await pools.listAgents(subjectOf(ctx), ctx.params.id, sinceDate, page.size, pageOffset(page));
    send(ctx, 200, encode(agentType, items.map(presentAgent), paginate(page, total, requestUrl(ctx, site))));
  });

  router.get('/agents/:id', async (ctx) => {
    send(ctx, 200, encode(agentType, presentAgent(await pools.getAgent(subjectOf(ctx), ctx.params.id))));
  });

  router.delete('/agents/:id', async (ctx) => {
    await pools.deleteAgent(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });
}

/** Agent tokens behind /authentication-tokens/:id. */
export function agentTokenDirectory(pools: PoolService): TokenDirectory {
  return {
    prefix: pools.prefix,
    show: async (subject, id) => presentToken(await pools.getToken(subject, id)),
    remove: (subject, id) => pools.deleteToken(subject, id),
  };
}
