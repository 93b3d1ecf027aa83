// The run triggers domain: a workspace follows source workspaces of its organization, and a
// successful apply in a source queues a run in it. Wired into otfd by src/server.ts: runs call
// runApplied when a run is applied (runs.service.onApplied), and start() delivers what a stopped
// otfd left owed.
import type { ApiRouter, Site } from '../api/http.js';
import type { PrincipalResolver } from '../auth/service.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import type { AppliedHook, RunService } from '../runs/index.js';
import type { WorkspaceService } from '../workspaces/index.js';
import { registerRunTriggerRoutes } from './routes.js';
import { RunTriggerService } from './service.js';

export { MAX_SOURCES, RunTriggerService, type RunTrigger } from './service.js';

export interface RunTriggerDeps {
  db: Db;
  site: Site;
  workspaces: WorkspaceService;
  runs: RunService;
  /** Whose rights a triggered run acts with: the source run's creator's, gathered afresh. */
  principals: PrincipalResolver;
  logger: Logger;
}

export interface RunTriggerDomain {
  /** JSON:API routes under /api/v2. */
  routes(router: ApiRouter): void;
  service: RunTriggerService;
  /** For runs.service.onApplied: records, in the apply's transaction, the runs owed to the targets. */
  runApplied: AppliedHook;
  /** Delivers runs owed but not yet queued (an otfd stopped in between), then keeps looking now and then. */
  start(): void;
  stop(): Promise<void>;
}

export function createRunTriggerDomain(deps: RunTriggerDeps): RunTriggerDomain {
  const service = new RunTriggerService(deps.db, deps.workspaces, deps.runs, deps.principals, deps.logger);
  return {
    routes: (router) => registerRunTriggerRoutes(router, service, deps.workspaces, deps.site),
    service,
    runApplied: service.runApplied,
    start: () => service.start(),
    stop: () => service.stop(),
  };
}
