// The pools domain: agent pools and the workspaces they allow, agent tokens, and the agents of a
// pool (registration, heartbeats, the jobs long-poll, liveness). Wired into otfd by src/server.ts.
//
// Pools use jobs (claiming for agents, requeueing and abandoning a lost runner's jobs) and never
// runs: a lost runner's runs are failed by the jobs domain.
import type { ApiRouter, Site } from '../api/http.js';
import type { TokenDirectory } from '../auth/routes.js';
import type { Db } from '../db/index.js';
import type { Listener } from '../db/notify.js';
import type { JobService } from '../jobs/index.js';
import type { Logger } from '../logger.js';
import type { OrganizationService } from '../orgs/index.js';
import type { WorkspaceService } from '../workspaces/index.js';
import { AgentService, type AgentServiceOptions } from './agents.js';
import { registerAgentRoutes } from './protocol.js';
import { agentTokenDirectory, registerPoolRoutes } from './routes.js';
import { PoolService } from './service.js';

export { registerPoolMetrics } from './metrics.js';
export { silentBefore, type AgentChange, type AgentService } from './agents.js';
export type { Agent, AgentStatus, AgentToken, HeldJob, Pool, PoolRunners, PoolService, PoolWorkspace } from './service.js';

export interface PoolsDeps {
  db: Db;
  orgs: OrganizationService;
  workspaces: WorkspaceService;
  jobs: JobService;
  listener: Listener;
  site: Site;
  logger: Logger;
  agents: AgentServiceOptions;
}

export interface PoolsDomain {
  /** Pools and agent tokens; a token resolver for agent tokens ("at"). */
  service: PoolService;
  /** Agents; a token resolver for agents' access tokens ("agent"). */
  agents: AgentService;
  /** JSON:API routes under /api/v2. */
  routes(router: ApiRouter): void;
  /** The agent side of the agent protocol under /api/agent. */
  agentRoutes(router: ApiRouter): void;
  /** Agent tokens behind /authentication-tokens/:id. */
  tokenDirectory: TokenDirectory;
}

export function createPoolsDomain(deps: PoolsDeps): PoolsDomain {
  const service = new PoolService(deps.db, deps.orgs, deps.workspaces, deps.jobs);
  const agents = new AgentService(deps.db, deps.jobs, deps.listener, deps.logger, deps.agents);
  // A deleted pool or agent token leaves its agents' jobs to be written off.
  service.onAbandon((runnerId, why) => agents.abandon(runnerId, why));
  return {
    service,
    agents,
    routes: (router) => registerPoolRoutes(router, service, deps.site),
    agentRoutes: (router) => registerAgentRoutes(router, { agents }),
    tokenDirectory: agentTokenDirectory(service),
  };
}
