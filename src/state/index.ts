// The state domain: state versions, their outputs, and the resources of the current state. Wired into otfd by src/server.ts.
import type Router from '@koa/router';
import type { ApiRouter, AppState, Site } from '../api/http.js';
import type { UrlSigner } from '../api/signing.js';
import type { BlobStore } from '../blobs/store.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import type { OrganizationService } from '../orgs/index.js';
import type { WorkspaceIncluder, WorkspaceService } from '../workspaces/index.js';
import { currentStateIncluder, workspaceOutputsIncluder } from './presenters.js';
import { registerResourceRoutes } from './resource-routes.js';
import { WorkspaceResourceService } from './resources.js';
import { registerSignedStateRoutes, registerStateRoutes } from './routes.js';
import { StateService, stateKey } from './service.js';

export type { StateService, StateOutputRecord, StateVersion } from './service.js';
export type { WorkspaceResource, WorkspaceResourceService } from './resources.js';
export { MAX_STATE_BYTES } from './routes.js';
export { stateBlobOwner } from './service.js';
export { pruneStateVersions } from './retention.js';

export interface StateDeps {
  db: Db;
  blobs: BlobStore;
  signer: UrlSigner;
  site: Site;
  orgs: OrganizationService;
  workspaces: WorkspaceService;
  logger: Logger;
}

export interface StateDomain {
  /** JSON:API routes under /api/v2. */
  routes(router: ApiRouter): void;
  /** Routes without a bearer token (signed upload URLs), mounted at the root. */
  publicRoutes(router: Router<AppState>): void;
  /** For other domains: hasResources(workspaceId) and currentVersionId(workspaceId). */
  service: StateService;
  /** The resources of a workspace's current state (GET /workspaces/:id/resources; the web UI's overview). */
  resources: WorkspaceResourceService;
  /** include= names the state domain serves on workspaces. */
  workspaceIncluders: Record<string, WorkspaceIncluder>;
}

export function createStateDomain(deps: StateDeps): StateDomain {
  const service = new StateService(deps.db, deps.blobs, deps.workspaces);
  const resources = new WorkspaceResourceService(deps.db, deps.blobs, deps.workspaces, stateKey);
  const routeDeps = { state: service, site: deps.site, signer: deps.signer };
  return {
    routes: (router) => {
      registerStateRoutes(router, routeDeps);
      registerResourceRoutes(router, { resources, site: deps.site });
    },
    publicRoutes: (router) => registerSignedStateRoutes(router, routeDeps),
    service,
    resources,
    workspaceIncluders: { current_state_version: currentStateIncluder(routeDeps), outputs: workspaceOutputsIncluder(routeDeps) },
  };
}
