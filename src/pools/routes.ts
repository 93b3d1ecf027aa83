// HTTP routes of agent pools as users manage them, in Terraform Cloud's shapes: agent pools,
// their agent tokens, and their agents.
import { encode, pageOffset, paginate, parsePage, queryValue, timestamp, type Query, type ResourceType, type View } from '../api/jsonapi.js';
import { body, noContent, query, requestUrl, send, subjectOf, type ApiRouter, type Site } from '../api/http.js';
import { nameSchema, resourceDocument, toMany, validator, type Schema } from '../api/validate.js';
import { BadRequestError } from '../errors.js';
import { authenticationTokenType, presentToken, type TokenDirectory } from '../auth/routes.js';
import type { Organization } from '../orgs/service.js';
import type { Agent, Pool, PoolService } from './service.js';

export const poolType: ResourceType = {
  type: 'agent-pools',
  attributes: ['name', 'created-at', 'organization-scoped', 'agent-count', 'agent-name-release-seconds'],
  relationships: { organization: 'organizations', workspaces: 'workspaces', 'allowed-workspaces': 'workspaces' },
  selfLink: (v) => `/api/v2/agent-pools/${v.id}`,
  linkedRelationships: {
    agents: (v) => `/api/v2/agent-pools/${v.id}/agents`,
    'authentication-tokens': (v) => `/api/v2/agent-pools/${v.id}/authentication-tokens`,
  },
};

export const agentType: ResourceType = {
  type: 'agents',
  attributes: ['name', 'status', 'ip-address', 'last-ping-at', 'version', 'hostname', 'os', 'arch', 'concurrency', 'created-at'],
  relationships: { 'agent-pool': 'agent-pools' },
  selfLink: (v) => `/api/v2/agents/${v.id}`,
};

function presentPool(pool: Pool, org: Organization, assigned: string[]): View {
  return {
    id: pool.id,
    name: pool.name,
    'created-at': timestamp(pool.createdAt),
    'organization-scoped': pool.organizationScoped,
    'agent-count': pool.agentCount,
    'agent-name-release-seconds': pool.nameReleaseSeconds,
    organization: { id: org.name },
    workspaces: assigned.map((id) => ({ id })),
    'allowed-workspaces': pool.allowedWorkspaceIds.map((id) => ({ id })),
  };
}

function presentAgent(agent: Agent): View {
  return {
    id: agent.id,
    name: agent.name,
    status: agent.status,
    'ip-address': agent.ipAddress,
    'last-ping-at': timestamp(agent.lastPingAt),
    version: agent.version,
    hostname: agent.hostname,
    os: agent.os,
    arch: agent.arch,
    concurrency: agent.concurrency,
    'created-at': timestamp(agent.createdAt),
    'agent-pool': { id: agent.poolId },
  };
}

// ---------------------------------------------------------------- request documents

const workspaceList = toMany('workspaces');

const poolAttributes: Record<string, Schema> = {
  name: nameSchema,
  'organization-scoped': { type: 'boolean' },
  'agent-name-release-seconds': { type: 'integer', minimum: 0, maximum: 31_536_000 },
};

interface PoolDocument {
  data: {
    attributes?: { name?: string; 'organization-scoped'?: boolean; 'agent-name-release-seconds'?: number };
    relationships?: { 'allowed-workspaces'?: { data: Array<{ id: string }> } };
  };
}

const readCreatePool = validator<PoolDocument>(resourceDocument('agent-pools', poolAttributes, { required: ['name'], relationships: { 'allowed-workspaces': workspaceList } }));
const readUpdatePool = validator<PoolDocument>(resourceDocument('agent-pools', poolAttributes, { relationships: { 'allowed-workspaces': workspaceList } }));

function poolInput(doc: PoolDocument) {
  const a = doc.data.attributes ?? {};
  return {
    name: a.name,
    organizationScoped: a['organization-scoped'],
    nameReleaseSeconds: a['agent-name-release-seconds'],
    allowedWorkspaceIds: doc.data.relationships?.['allowed-workspaces']?.data.map((w) => w.id),
  };
}

interface TokenDocument {
  data: { attributes?: { description?: string } };
}

const readCreateToken = validator<TokenDocument>(resourceDocument('authentication-tokens', { description: { type: 'string', maxLength: 512 } }));

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
    const doc = raw && Object.keys(raw as object).length > 0 ? readCreateToken(raw) : { data: {} };
    const { token, secret } = await pools.createToken(subjectOf(ctx), ctx.params.id, doc.data.attributes?.description ?? '');
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
