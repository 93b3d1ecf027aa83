// The retention domain: organizations' and workspaces' data retention policies (Terraform
// Cloud's), and their enforcement, which src/server.ts runs with the blob collector.
import type { Logger } from 'pino';
import client from 'prom-client';
import type { ApiRouter } from '../api/http.js';
import type { Db } from '../db/index.js';
import type { Registry } from '../metrics.js';
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
  /** otfd's registry: otf_retention_deleted_total counts what enforcement deleted. */
  registry?: Registry;
}

export interface RetentionDomain {
  routes(router: ApiRouter): void;
  service: RetentionService;
}

export function createRetentionDomain(deps: RetentionDeps): RetentionDomain {
  const deleted = deps.registry
    ? new client.Counter({ name: 'otf_retention_deleted_total', help: 'Records deleted by data retention policies, by kind', labelNames: ['kind'], registers: [deps.registry] })
    : null;
  const service = new RetentionService(deps.db, deps.orgs, deps.workspaces, deps.logger, (report) => {
    deleted?.inc({ kind: 'runs' }, report.runs);
    deleted?.inc({ kind: 'configuration_versions' }, report.configurationVersions);
    deleted?.inc({ kind: 'state_versions' }, report.stateVersions);
  });
  return { routes: (router) => registerRetentionRoutes(router, service), service };
}
