// The variable-sets domain: organization-owned sets of variables, global or applied to workspaces
// and projects, and the merge of every variable a run gets (src/varsets/precedence.ts). Wired
// into otfd by src/server.ts; other domains import it through this file only.
import type { ApiRouter, Site } from '../api/http.js';
import type { Db } from '../db/index.js';
import type { OrganizationService } from '../orgs/index.js';
import type { ProjectService } from '../projects/index.js';
import type { RunVariable } from '../variables/index.js';
import type { WorkspaceService } from '../workspaces/index.js';
import { registerVariableSetRoutes } from './routes.js';
import { VariableSetService } from './service.js';

export { VariableSetService, type SetVariable, type VariableSet } from './service.js';
export { mergeVariables } from './precedence.js';

export interface VariableSetDeps {
  db: Db;
  /** --secret; sensitive values are sealed under the same key as workspace variables. */
  secret: string;
  site: Site;
  orgs: OrganizationService;
  workspaces: WorkspaceService;
  projects: ProjectService;
  /** The workspace's own variables, values in clear (the variables domain). */
  workspaceVariables: { forRun(workspaceId: string): Promise<RunVariable[]> };
}

export interface VariableSetDomain {
  /** JSON:API routes under /api/v2. */
  routes(router: ApiRouter): void;
  service: VariableSetService;
  /**
   * Every variable of a job's run, for the process that runs it: the workspace's and its sets',
   * one per key by Terraform Cloud's precedence, and the run's own variables less those a
   * priority set overrides. No authorization: the caller must have authorized the job. Never log
   * the result.
   */
  forRun<R extends { key: string }>(workspaceId: string, runVariables: R[]): Promise<{ variables: RunVariable[]; runVariables: R[] }>;
}

export function createVariableSetDomain(deps: VariableSetDeps): VariableSetDomain {
  const service = new VariableSetService(deps.db, deps.orgs, deps.workspaces, deps.projects, deps.secret);
  return {
    routes: (router) => registerVariableSetRoutes(router, service, deps.site),
    service,
    forRun: async (workspaceId, runVariables) => service.forRun(workspaceId, await deps.workspaceVariables.forRun(workspaceId), runVariables),
  };
}
