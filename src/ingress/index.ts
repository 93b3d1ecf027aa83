// The ingress domain: configurations from commits. Which workspaces a VCS event queues a run in
// (dispatch.ts, triggers.ts), runs from commits and POST /runs on a VCS workspace (service.ts),
// the repository cache (repository-cache.ts), commit statuses (statuses.ts) and polling
// (poller.ts). Wired into otfd by src/server.ts.
import type { PrincipalResolver } from '../auth/service.js';
import type { Logger } from '../logger.js';
import type { ConfigurationVersionService, RunService } from '../runs/index.js';
import { Dispatcher } from './dispatch.js';
import { IngressService, type IngressSources } from './service.js';

export { Dispatcher } from './dispatch.js';
export { FetchWorker } from './fetch-worker.js';
export { CloneError, RepositoryCache } from './repository-cache.js';
export { CommitStatuses, type CommitStatusSources } from './statuses.js';
export { Poller, type PollSources } from './poller.js';
export { IngressService, LOST_FETCH_MS, VCS_RUN_SOURCE, type CommitFetcher, type CommitSnapshot, type ConnectedWorkspace, type IngressSources } from './service.js';

export interface IngressDeps {
  runs: RunService;
  configs: ConfigurationVersionService;
  /** Whose rights a VCS run acts with: whoever connected the workspace, gathered afresh. */
  principals: PrincipalResolver;
  sources: IngressSources;
  logger: Logger;
}

export interface IngressDomain {
  service: IngressService;
  /** Hands one VCS event to the workspaces it concerns (webhook deliveries and polling). */
  dispatcher: Dispatcher;
}

export function createIngressDomain(deps: IngressDeps): IngressDomain {
  const service = new IngressService(deps.runs, deps.configs, deps.sources, deps.logger);
  return { service, dispatcher: new Dispatcher(service, deps.sources, deps.principals, deps.logger) };
}
