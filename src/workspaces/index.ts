// The workspaces domain: workspaces, their locks, tags and tag bindings, and who reads their state.
// Wired into otfd by src/server.ts.
import type { ApiRouter, Site } from '../api/http.js';
import type { SubjectCache } from '../auth/cache.js';
import type { Db } from '../db/index.js';
import type { OrganizationService } from '../orgs/index.js';
import type { ProjectService } from '../projects/index.js';
import type { WorkspaceIncluder } from './presenters.js';
import { registerWorkspaceRoutes } from './routes.js';
import { WorkspaceService, type WorkspaceDefaults } from './service.js';
import { registerTagRoutes, TagService } from './tags.js';

export type { WorkspaceIncluder } from './presenters.js';
export {
  runnerPoolOf,
  workspaceScope,
  WorkspaceService,
  type Attachment,
  type ResolvedRepository,
  type VcsConnector,
  type VcsRepoInput,
  type Workspace,
  type WorkspaceConnection,
} from './service.js';
export { currentRunId, presentWorkspace, workspaceType } from './presenters.js';
// For queries of other domains that must read the mode as this one does.
export { CURRENT_RUN_ID, EFFECTIVE_MODE, LATEST_RUN_ID } from './store.js';
// For whoever matches pushed tags against a workspace's tags-regex (the ingress domain).
export { tagsRegexMatches } from './vcs.js';

export interface WorkspaceDeps {
  db: Db;
  orgs: OrganizationService;
  projects: ProjectService;
  site: Site;
  /** The engine and versions of new workspaces that name none. */
  defaults: WorkspaceDefaults;
  /** Emptied when a workspace is created in a project or moved to another (see WorkspaceService). */
  subjects: SubjectCache;
}

export interface WorkspaceDomain {
  /** JSON:API routes under /api/v2. */
  routes(router: ApiRouter): void;
  service: WorkspaceService;
  /**
   * Adds related resources that other domains present (latest_run, current_state_version, ...) to
   * what include= may name on workspaces.
   */
  addIncluders(includers: Record<string, WorkspaceIncluder>): void;
}

export function createWorkspaceDomain(deps: WorkspaceDeps): WorkspaceDomain {
  const service = new WorkspaceService(deps.db, deps.orgs, deps.projects, deps.defaults, deps.subjects);
  // Read by the routes on each request, so includers added after the routes still count.
  const includers: Record<string, WorkspaceIncluder> = {};
  return {
    routes: (router) => {
      registerWorkspaceRoutes(router, { workspaces: service, orgs: deps.orgs, projects: deps.projects, site: deps.site, includers });
      registerTagRoutes(router, new TagService(deps.db, deps.orgs, service), deps.site);
    },
    service,
    addIncluders: (more) => void Object.assign(includers, more),
  };
}
