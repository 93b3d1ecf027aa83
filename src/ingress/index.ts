// The ingress domain: configurations from commits. Which workspaces a VCS event queues a run in
// (dispatch.ts, triggers.ts), runs from commits and POST /runs on a VCS workspace (service.ts),
// the repository cache (repository-cache.ts), commit statuses (statuses.ts) and polling
// (poller.ts). Wired into otfd by src/server.ts.
import type { Site } from '../api/http.js';
import type { PrincipalResolver } from '../auth/service.js';
import type { ConnectionDomain } from '../connections/index.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import type { ConfigurationVersionService, RunService } from '../runs/index.js';
import type { SshKeyDomain } from '../sshkeys/index.js';
import type { VcsProviders } from '../vcs/index.js';
import type { WorkspaceService } from '../workspaces/index.js';
import { Dispatcher } from './dispatch.js';
import { Poller } from './poller.js';
import { RepositoryCache } from './repository-cache.js';
import { IngressService, type IngressSources } from './service.js';
import { CommitStatuses } from './statuses.js';

export { Dispatcher } from './dispatch.js';
export { FetchWorker } from './fetch-worker.js';
export { CloneError, RepositoryCache } from './repository-cache.js';
export { CommitStatuses, type CommitStatusSources } from './statuses.js';
export { Poller, type PollSources } from './poller.js';
export { IngressService, LOST_FETCH_MS, VCS_RUN_SOURCE, type CommitFetcher, type CommitSnapshot, type ConnectedWorkspace, type IngressSources } from './service.js';

export interface IngressDeps {
  db: Db;
  site: Site;
  runs: RunService;
  configs: ConfigurationVersionService;
  workspaces: Pick<WorkspaceService, 'byId'>;
  connections: Pick<ConnectionDomain, 'workspacesOfHook' | 'pollingWorkspaces'>;
  tokens: VcsProviders;
  sshKeys: Pick<SshKeyDomain, 'forRun'>;
  /** Whose rights a VCS run acts with: whoever connected the workspace, gathered afresh. */
  principals: PrincipalResolver;
  /** Where the repository cache keeps its clones. */
  repositoriesDir: string;
  logger: Logger;
}

export interface IngressDomain {
  service: IngressService;
  /** Hands one VCS event to the workspaces it concerns (webhook deliveries and polling). */
  dispatcher: Dispatcher;
  /** Clones kept per repository, so a second push fetches only new objects. */
  repositories: RepositoryCache;
  /** A run from a commit shows on the commit at its provider (the runs domain's status-change hook). */
  statuses: CommitStatuses;
  /** Workspaces that poll (no webhook reaches this otfd) hand a moved branch head to the dispatcher. */
  poller: Poller;
}

export function createIngressDomain(deps: IngressDeps): IngressDomain {
  const { runs, configs, workspaces, connections, tokens, logger } = deps;
  const repositories = new RepositoryCache(deps.repositoriesDir);
  const sources: IngressSources = {
    connectedWorkspace: async (id) => {
      const ws = await workspaces.byId(id);
      return ws?.vcsRepo && ws.vcsConnectedBy ? { workspace: ws, vcsRepo: ws.vcsRepo, connectedBy: ws.vcsConnectedBy } : null;
    },
    workspacesOfHook: (hookId) => connections.workspacesOfHook(hookId),
    adapterFor: async (oauthTokenId) => {
      const adapter = await tokens.adapterFor(oauthTokenId);
      if (!adapter) throw new Error(`the VCS provider's oauth token ${oauthTokenId} is gone`);
      return adapter;
    },
    // The oauth token's SSH key (TFC's), else the workspace's (P3).
    sshKeyOf: async (workspaceId, oauthTokenId) => (await tokens.sshKeyFor(oauthTokenId)) ?? (await deps.sshKeys.forRun(workspaceId))?.value ?? null,
    fetcher: repositories,
  };
  const service = new IngressService(runs, configs, sources, logger);
  const dispatcher = new Dispatcher(service, sources, deps.principals, logger);
  const statuses = new CommitStatuses(
    {
      run: (id) => runs.byId(id),
      ingress: async (cvId) => (await configs.byId(cvId))?.ingress ?? null,
      workspace: (id) => workspaces.byId(id),
      adapterFor: (oauthTokenId) => tokens.adapterFor(oauthTokenId),
      baseUrl: () => deps.site.baseUrl,
    },
    logger,
  );
  const poller = new Poller(
    deps.db,
    {
      pollingWorkspaces: () => connections.pollingWorkspaces(),
      adapterFor: (oauthTokenId) => tokens.adapterFor(oauthTokenId),
      sourceOf: (cw, adapter, info) => service.sourceOf(cw, adapter, info, '', null),
      fetcher: repositories,
      dispatch: (event, workspaceId) => dispatcher.handle(null, event, workspaceId),
    },
    logger,
  );
  return { service, dispatcher, repositories, statuses, poller };
}
