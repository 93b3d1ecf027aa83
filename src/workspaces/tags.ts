// Organization tags as Terraform Cloud shows them: the organization's list (each with its
// organization and how many workspaces carry it), deleting tags from the whole organization, and
// adding one tag to many workspaces. A tag is a key-only tag of workspaces (src/workspaces/store.ts
// keeps the bindings); these are the routes that start from the tag.
import type { Knex } from 'knex';
import { recordChange } from '../audit/index.js';
import { authorize, canSeeOrganization, isAllowed } from '../auth/authorize.js';
import type { Subject } from '../auth/subject.js';
import { encode, pageOffset, paginate, parsePage, queryValue, timestamp, type ResourceType } from '../api/jsonapi.js';
import { body, noContent, query, requestUrl, send, subjectOf, type ApiRouter, type Site } from '../api/http.js';
import { toMany, validator } from '../api/schema.js';
import { escapeLike, paged, type Db } from '../db/index.js';
import { ForbiddenError, notFound } from '../errors.js';
import type { Organization, OrganizationService } from '../orgs/index.js';
import { workspaceScope, type Workspace, type WorkspaceService } from './service.js';

export const organizationTagType: ResourceType = {
  type: 'tags',
  attributes: ['name', 'created-at', 'instance-count'],
  relationships: { organization: 'organizations' },
};

export interface OrganizationTag {
  id: string;
  name: string;
  createdAt: Date;
  instanceCount: number;
}

interface TagRow {
  id: string;
  organization_id: string;
  name: string;
  created_at: Date;
}

// ---------------------------------------------------------------- SQL (the workspaces domain's tables)

/** How many workspaces carry each tag, as a column of tags g. */
function instanceCount(db: Db): Knex.Raw {
  return db.raw(
    `(SELECT count(*) FROM workspace_tags t JOIN workspaces w ON w.id = t.workspace_id
      WHERE w.organization_id = g.organization_id AND t.key = g.name) AS instance_count`,
  );
}

async function listTags(
  db: Db,
  organizationId: string,
  opts: { search?: string; excludeWorkspaceId?: string; limit: number; offset: number },
): Promise<{ items: OrganizationTag[]; total: number }> {
  const q = db('tags as g').where('g.organization_id', organizationId).select('g.id', 'g.name', 'g.created_at', instanceCount(db)).orderBy('g.name');
  if (opts.search) q.whereILike('g.name', `%${escapeLike(opts.search)}%`);
  if (opts.excludeWorkspaceId) {
    q.whereNotExists(db('workspace_tags as t').where('t.workspace_id', opts.excludeWorkspaceId).whereRaw('t.key = g.name'));
  }
  const { rows, total } = await paged<{ id: string; name: string; created_at: Date; instance_count: number }>(db, q, opts.limit, opts.offset);
  return { items: rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, instanceCount: r.instance_count })), total };
}

/** The tags of the organization with these ids. */
async function tagsByIds(db: Db, organizationId: string, ids: string[]): Promise<TagRow[]> {
  if (ids.length === 0) return [];
  return db<TagRow>('tags').where({ organization_id: organizationId }).whereIn('id', ids).select('id', 'organization_id', 'name', 'created_at');
}

/** Deletes the tags, and takes them off every workspace of the organization, in one transaction. */
async function deleteTags(db: Db, organizationId: string, tags: TagRow[]): Promise<void> {
  if (tags.length === 0) return;
  await db.transaction(async (trx) => {
    await trx('workspace_tags')
      .whereIn('key', tags.map((t) => t.name))
      .whereIn('workspace_id', trx('workspaces').where({ organization_id: organizationId }).select('id'))
      .delete();
    await trx('tags').where({ organization_id: organizationId }).whereIn('id', tags.map((t) => t.id)).delete();
    for (const t of tags) await recordChange(trx, { action: 'tag.delete', resource: { type: 'tags', id: t.id }, organizationId, details: { name: t.name } });
  });
}

// ---------------------------------------------------------------- rules

export class TagService {
  constructor(
    private readonly db: Db,
    private readonly orgs: OrganizationService,
    private readonly workspaces: WorkspaceService,
  ) {}

  async list(
    subject: Subject,
    orgName: string,
    opts: { search?: string; excludeWorkspaceId?: string; limit: number; offset: number },
  ): Promise<{ org: Organization; items: OrganizationTag[]; total: number }> {
    const org = await this.orgs.resolve(subject, orgName);
    authorize(subject, 'tag:read', { organizationId: org.id }, () => notFound('organization', orgName));
    return { org, ...(await listTags(this.db, org.id, opts)) };
  }

  /** Deletes tags from the organization; every id must be one of its tags (else 404, and nothing is deleted). */
  async delete(subject: Subject, orgName: string, ids: string[]): Promise<void> {
    const org = await this.orgs.resolve(subject, orgName);
    authorize(subject, 'tag:manage', { organizationId: org.id }, () => notFound('organization', orgName));
    const found = await tagsByIds(this.db, org.id, ids);
    const missing = ids.find((id) => !found.some((t) => t.id === id));
    if (missing) throw notFound('tag', missing);
    await deleteTags(this.db, org.id, found);
  }

  /**
   * Adds the tag to each workspace. Every workspace must be one of the tag's organization that the
   * subject may tag (else 404 or 403, and no workspace is tagged).
   */
  async addToWorkspaces(subject: Subject, tagId: string, workspaceIds: string[]): Promise<void> {
    const tag = (await this.db<TagRow>('tags').where({ id: tagId }).first()) ?? null;
    if (!tag || !canSeeOrganization(subject, tag.organization_id)) throw notFound('tag', tagId);
    const targets: Workspace[] = [];
    for (const id of new Set(workspaceIds)) {
      const ws = await this.workspaces.byId(id);
      if (!ws || ws.organizationId !== tag.organization_id || !isAllowed(subject, 'workspace:read', workspaceScope(ws))) throw notFound('workspace', id);
      if (!isAllowed(subject, 'workspace:manage-tags', workspaceScope(ws))) {
        throw new ForbiddenError(`insufficient permissions: to manage the tags of workspace "${ws.name}" you need write access to it`);
      }
      targets.push(ws);
    }
    for (const ws of targets) await this.workspaces.addTags(subject, ws, [{ id: tag.id }]);
  }
}

// ---------------------------------------------------------------- routes

const readTags = validator(toMany('tags', 100));
const readWorkspaces = validator(toMany('workspaces', 100));

export function registerTagRoutes(router: ApiRouter, tags: TagService, site: Site): void {
  router.get('/organizations/:org/tags', async (ctx) => {
    const q = query(ctx);
    const page = parsePage(q);
    const { org, items, total } = await tags.list(subjectOf(ctx), ctx.params.org, {
      search: queryValue(q, 'q'),
      // Tags already on this workspace are left out (TFC's "taggable" is a workspace).
      excludeWorkspaceId: queryValue(q, 'filter[exclude][taggable][id]'),
      limit: page.size,
      offset: pageOffset(page),
    });
    const views = items.map((t) => ({
      id: t.id,
      name: t.name,
      'created-at': timestamp(t.createdAt),
      'instance-count': t.instanceCount,
      organization: { id: org.name },
    }));
    send(ctx, 200, encode(organizationTagType, views, paginate(page, total, requestUrl(ctx, site))));
  });

  router.delete('/organizations/:org/tags', async (ctx) => {
    const doc = readTags(body(ctx));
    await tags.delete(subjectOf(ctx), ctx.params.org, [...new Set(doc.data.map((t) => t.id))]);
    noContent(ctx);
  });

  router.post('/tags/:id/relationships/workspaces', async (ctx) => {
    const doc = readWorkspaces(body(ctx));
    await tags.addToWorkspaces(subjectOf(ctx), ctx.params.id, doc.data.map((w) => w.id));
    noContent(ctx);
  });
}
