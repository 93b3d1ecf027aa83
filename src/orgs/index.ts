// The orgs domain: organizations, their entitlements, capacity and organization token. Wired into
// otfd by src/server.ts; other domains import it through this file only.
import type { ApiRouter, Site } from '../api/http.js';
import type { Db } from '../db/index.js';
import { registerOrganizationRoutes, type OrganizationIncluder } from './routes.js';
import { OrganizationService } from './service.js';
import { registerSubscriptionRoutes } from './subscriptions.js';

export { organizationType, presentOrganization } from './presenters.js';
export type { OrganizationIncluder } from './routes.js';
export { OrganizationService, type Capacity, type CreationHook, type DefaultPoolCheck, type Organization, type OrganizationToken } from './service.js';

export interface OrganizationDeps {
  db: Db;
  site: Site;
}

export interface OrganizationDomain {
  /** JSON:API routes under /api/v2. */
  routes(router: ApiRouter): void;
  /** For other domains: organizations by name (authorized) or id, onCreate hooks. Also the resolver of organization tokens (ot-...). */
  service: OrganizationService;
  /** Adds what include= may name on organizations, served by the domains that own it. */
  addIncluders(includers: Record<string, OrganizationIncluder>): void;
}

export function createOrganizationDomain(deps: OrganizationDeps): OrganizationDomain {
  const service = new OrganizationService(deps.db);
  // Read by the routes on each request, so includers added after the routes still count.
  const includers: Record<string, OrganizationIncluder> = {};
  return {
    routes: (router) => {
      registerOrganizationRoutes(router, service, deps.site, includers);
      registerSubscriptionRoutes(router, service, deps.site);
    },
    service,
    addIncluders: (more) => void Object.assign(includers, more),
  };
}
