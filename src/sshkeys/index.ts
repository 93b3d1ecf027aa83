// The SSH keys domain: an organization's SSH keys (private keys write-only, sealed at rest), and
// the decrypted key of a workspace for the runner of its jobs. Wired into otfd by src/server.ts;
// which key a workspace uses is the workspaces domain's ssh-key relationship.
import type { ApiRouter, Site } from '../api/http.js';
import type { Db } from '../db/index.js';
import type { OrganizationService } from '../orgs/index.js';
import type { WorkspaceService } from '../workspaces/index.js';
import { registerSshKeyRoutes } from './routes.js';
import { SshKeyService, type RunSshKey } from './service.js';

export type { RunSshKey, SshKey } from './service.js';
export { SshKeyService } from './service.js';

export interface SshKeyDeps {
  db: Db;
  /** --secret; private keys are sealed under a key derived from it. */
  secret: string;
  site: Site;
  orgs: OrganizationService;
  workspaces: WorkspaceService;
}

export interface SshKeyDomain {
  /** JSON:API routes under /api/v2. */
  routes(router: ApiRouter): void;
  service: SshKeyService;
  /**
   * The workspace's SSH key, decrypted, or null, for the process that runs one of its jobs. No
   * authorization: the caller must have authorized the job. Never log the result.
   */
  forRun(workspaceId: string): Promise<RunSshKey | null>;
}

export function createSshKeyDomain(deps: SshKeyDeps): SshKeyDomain {
  const service = new SshKeyService(deps.db, deps.orgs, deps.workspaces, deps.secret);
  return {
    routes: (router) => registerSshKeyRoutes(router, service, deps.site),
    service,
    forRun: (workspaceId) => service.forRun(workspaceId),
  };
}
