// The retention domain: organizations' and workspaces' data retention policies (Terraform
// Cloud's), and their enforcement, which src/server.ts runs with the blob collector.
import type { Logger } from 'pino';
import type { ApiRouter } from '../api/http.js';
import type { Db } from '../db/index.js';
import type { OrganizationService } from '../orgs/index.js';
import type { WorkspaceService } from '../workspaces/index.js';
import { registerRetentionRoutes } from './routes.js';
import { RetentionService } from './service.js';

export { RetentionService, type RetentionReport } from './service.js';

export interface RetentionDeps {
  db: Db;
  orgs: OrganizationService;
  workspaces: WorkspaceService;
  logger: Logger;
}

export interface RetentionDomain {
  routes(router: ApiRouter): void;
  service: RetentionService;
}

export function createRetentionDomain(deps: RetentionDeps): RetentionDomain {
  const service = new RetentionService(deps.db, deps.orgs, deps.workspaces, deps.logger);
  return { routes: (router) => registerRetentionRoutes(router, service), service };
}
