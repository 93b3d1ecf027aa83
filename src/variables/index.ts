// The variables domain: workspace variables, sensitive ones encrypted at rest. Wired into otfd by
// src/server.ts.
import type { ApiRouter, Site } from '../api/http.js';
import type { Db } from '../db/index.js';
import type { OrganizationService } from '../orgs/index.js';
import type { WorkspaceService } from '../workspaces/index.js';
import { registerVariableRoutes } from './routes.js';
import { VariableService, type RunVariable } from './service.js';

export type { RunVariable, Variable } from './service.js';
export { VariableService } from './service.js';
// The rules of a variable's key, value and description, which variable sets' variables obey too.
export { changedVariableFields, newVariableFields } from './service.js';
export { variableAttributes } from './presenters.js';
// The cipher of sensitive values, for other secrets kept at rest the same way (variable sets, SSH keys).
export { DecryptionError, ValueCipher } from './encryption.js';

export interface VariableDeps {
  db: Db;
  /** --secret; the key for sensitive values at rest is derived from it. */
  secret: string;
  site: Site;
  orgs: OrganizationService;
  workspaces: WorkspaceService;
}

export interface VariableDomain {
  /** JSON:API routes under /api/v2. */
  routes(router: ApiRouter): void;
  service: VariableService;
  /**
   * Every variable of a workspace with sensitive values decrypted, for the process that runs a
   * job. No authorization: the caller must have authorized the job. Never log the result.
   */
  forRun(workspaceId: string): Promise<RunVariable[]>;
}

export function createVariableDomain(deps: VariableDeps): VariableDomain {
  const service = new VariableService(deps.db, deps.workspaces, deps.secret);
  return {
    routes: (router) => registerVariableRoutes(router, service, deps.site),
    service,
    forRun: (workspaceId) => service.forRun(workspaceId),
  };
}
