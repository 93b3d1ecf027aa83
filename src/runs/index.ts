// The runs domain: configuration versions, runs and their plans and applies, their logs and
// artifacts, comments and run events. Wired into otfd by src/server.ts.
import type Router from '@koa/router';
import type { ApiRouter, AppState, Site } from '../api/http.js';
import type { UrlSigner } from '../api/signing.js';
import type { PrincipalResolver } from '../auth/service.js';
import type { BlobStore } from '../blobs/store.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import type { OrganizationService } from '../orgs/index.js';
import type { StateService } from '../state/index.js';
import type { UserService } from '../users/index.js';
import type { JobService, PhaseOutcomes } from '../jobs/index.js';
import type { WorkspaceIncluder, WorkspaceService } from '../workspaces/index.js';
import { artifactKey } from './artifacts.js';
import { registerCommentRoutes } from './comment-routes.js';
import { RunCommentService } from './comments.js';
import { ConfigurationVersionService } from './configs.js';
import { RunLogService } from './logs.js';
import { phaseOutcomes } from './phases.js';
import { workspaceIncluders } from './presenters.js';
import { registerRunPublicRoutes, registerRunRoutes } from './routes.js';
import { WaitingService } from './waiting.js';
import { RunService, type SiteTimeouts } from './service.js';

export { artifactBlobOwner } from './artifacts.js';
export { configBlobOwner, ConfigurationVersionService } from './configs.js';
export { RunLogService, type LogAppendHook } from './logs.js';
export { MAX_COMMENT_LENGTH, RunCommentService, type RunComment } from './comments.js';
export { canHappen, FINAL_STATUSES, WAITING_STATUSES } from './machine.js';
export { registerRunMetrics } from './metrics.js';
export { WaitingService, type AgentCounts, type RunnerProbes, type Waiting, type WaitReason } from './waiting.js';
export { pruneRuns, type RunPruning } from './retention.js';
export { RunService, type AppliedHook, type CommitOrigin, type CreatedHook, type FetchOutcome, type FromCommit, type HeadPlanner, type Run, type RunInput, type StatusChangeHook, type TransitionHook } from './service.js';
export type { RunStatus } from './machine.js';
export type { StoredIngress } from './store.js';

export interface RunDeps {
  db: Db;
  blobs: BlobStore;
  signer: UrlSigner;
  site: Site;
  orgs: OrganizationService;
  workspaces: WorkspaceService;
  jobs: JobService;
  /** The users runs were created by (include=created_by). */
  users: UserService;
  /** The state versions an apply wrote (its state-versions relationship). */
  state: StateService;
  /** Whose rights a run acts with when nobody is asking: its creator's, gathered afresh. */
  principals: PrincipalResolver;
  /** --max-config-size: the largest configuration upload, packed or unpacked. */
  maxConfigSize: number;
  /** --force-cancel-cool-off: how long after a cancel request force-cancel becomes available. */
  forceCancelCoolOffMs: number;
  /** --plan-timeout and --apply-timeout: for workspaces and organizations that set none. */
  timeouts?: SiteTimeouts;
  logger: Logger;
}

export interface RunDomain {
  /** JSON:API routes under /api/v2. */
  routes(router: ApiRouter): void;
  /** Routes without a bearer token (configuration uploads, log reads by signed URL), mounted at the root. */
  publicRoutes(router: Router<AppState>): void;
  service: RunService;
  configs: ConfigurationVersionService;
  logs: RunLogService;
  /** Comments on runs (TFC's comments API), for the web UI's run page. */
  comments: RunCommentService;
  /** include= names the runs domain serves on workspaces. */
  workspaceIncluders: Record<string, WorkspaceIncluder>;
  /** What jobs report about a run's phases, turned into run transitions, logs and artifacts. */
  phaseOutcomes: PhaseOutcomes;
  /** Why runs wait; its probes of pools and server agents are connected by src/server.ts. */
  waiting: WaitingService;
  /** The JSON rendering of a run's plan (terraform show -json), null before it exists; no authorization (assessments). */
  planJson(runId: string): Promise<Buffer | null>;
}

export function createRunDomain(deps: RunDeps): RunDomain {
  const { db, blobs, signer, site, logger } = deps;
  const configs = new ConfigurationVersionService(db, blobs, deps.workspaces, signer, site, deps.maxConfigSize, logger);
  const service = new RunService(db, deps.orgs, deps.workspaces, configs, deps.jobs, deps.principals, logger, deps.forceCancelCoolOffMs, deps.timeouts);
  const logs = new RunLogService(db, signer, site, logger);
  const comments = new RunCommentService(db, service);
  const waiting = new WaitingService(db, deps.workspaces, configs, deps.jobs);
  const routeDeps = { runs: service, configs, logs, workspaces: deps.workspaces, users: deps.users, state: deps.state, blobs, site, waiting };
  return {
    routes: (router) => {
      registerRunRoutes(router, routeDeps);
      registerCommentRoutes(router, { comments, site });
    },
    publicRoutes: (router) => registerRunPublicRoutes(router, routeDeps),
    service,
    configs,
    logs,
    comments,
    workspaceIncluders: workspaceIncluders(service, configs),
    phaseOutcomes: phaseOutcomes({ runs: service, logs, workspaces: deps.workspaces }),
    waiting,
    planJson: (runId) => blobs.read(artifactKey(runId, 'plan-json')),
  };
}
