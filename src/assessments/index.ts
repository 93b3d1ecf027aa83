// The assessments domain: health assessments (drift detection) of workspaces on a schedule, their
// results in the API and /metrics, and the hook that tells notifications of drift and failures.
// Wired into otfd by src/server.ts. It reaches runs (which make the assessment's run) and
// workspaces through their services; runs tell it of status changes through a hook.
import type { ApiRouter, Site } from '../api/http.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import type { Registry } from '../metrics.js';
import type { RunLogService, RunService } from '../runs/index.js';
import { isAllowed } from '../auth/authorize.js';
import { resources } from '../api/jsonapi.js';
import { workspaceScope, type WorkspaceIncluder, type WorkspaceService } from '../workspaces/index.js';
import { assessmentResultType, presentAssessmentResult } from './presenters.js';
import { assessmentMetrics } from './metrics.js';
import { registerAssessmentRoutes } from './routes.js';
import { AssessmentService, type SchedulerOptions } from './service.js';

export { AssessmentService, type AssessmentResult, type AssessmentStatus, type ResultHook } from './service.js';

/** How often due workspaces are looked for when otfd is not told otherwise. */
export const DEFAULT_TICK_MS = 30_000;

export interface AssessmentDeps {
  db: Db;
  site: Site;
  workspaces: WorkspaceService;
  runs: RunService;
  logs: RunLogService;
  /** The JSON plan of a run (the runs domain's planJson). */
  planJson: (runId: string) => Promise<Buffer | null>;
  registry: Registry;
  scheduler: SchedulerOptions;
  logger: Logger;
}

export interface AssessmentDomain {
  service: AssessmentService;
  routes(router: ApiRouter): void;
  /** include=current_assessment_result on workspaces: the results of those whose runs the subject may read. */
  workspaceIncluders: Record<string, WorkspaceIncluder>;
}

export function createAssessmentDomain(deps: AssessmentDeps): AssessmentDomain {
  const metrics = assessmentMetrics(deps.registry, deps.db);
  const service = new AssessmentService(deps.db, deps.workspaces, deps.runs, deps.planJson, metrics, deps.scheduler, deps.logger);
  return {
    service,
    routes: (router) => registerAssessmentRoutes(router, { assessments: service, site: deps.site, logUrl: (planId) => deps.logs.url(planId) }),
    workspaceIncluders: {
      current_assessment_result: async (subject, list) => {
        const ids = list.filter((ws) => ws.currentAssessmentResultId && isAllowed(subject, 'run:read', workspaceScope(ws))).map((ws) => ws.currentAssessmentResultId!);
        return resources(assessmentResultType, (await service.byIds([...new Set(ids)])).map(presentAssessmentResult));
      },
    },
  };
}
