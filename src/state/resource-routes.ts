// GET /workspaces/:id/resources: the resources of a workspace's current state, with their view.
import { encode, pageOffset, paginate, parsePage, timestamp, type ResourceType, type View } from '../api/jsonapi.js';
import { query, requestUrl, send, subjectOf, type ApiRouter, type Site } from '../api/http.js';
import type { WorkspaceResource, WorkspaceResourceService } from './resources.js';

export const workspaceResourceType: ResourceType = {
  type: 'resources',
  attributes: ['address', 'name', 'created-at', 'updated-at', 'module', 'provider', 'provider-type', 'modified-by-state-version-id', 'name-index'],
};

export function presentWorkspaceResource(r: WorkspaceResource): View {
  return {
    id: r.id,
    address: r.address,
    name: r.name,
    'created-at': timestamp(r.createdAt),
    'updated-at': timestamp(r.updatedAt),
    module: r.module,
    provider: r.provider,
    'provider-type': r.providerType,
    'modified-by-state-version-id': r.modifiedByStateVersionId,
    'name-index': r.nameIndex,
  };
}

export function registerResourceRoutes(router: ApiRouter, deps: { resources: WorkspaceResourceService; site: Site }): void {
  router.get('/workspaces/:id/resources', async (ctx) => {
    const page = parsePage(query(ctx));
    const { items, total } = await deps.resources.list(subjectOf(ctx), ctx.params.id, page.size, pageOffset(page));
    send(ctx, 200, encode(workspaceResourceType, items.map(presentWorkspaceResource), paginate(page, total, requestUrl(ctx, deps.site))));
  });
}
