// The connections domain: the repository webhooks otfd makes for workspaces connected to a
// repository (one per oauth client and repository, shared, with its own secret), and which
// workspaces a hook's deliveries, or polling, reach. Wired into otfd by src/server.ts, which also
// gives it to the workspaces domain as their VcsConnector.
import type { Site } from '../api/http.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import type { RepoHook } from '../vcs/types.js';
import type { WorkspaceService } from '../workspaces/index.js';
import { ConnectionService, type ConnectedWorkspace, type VcsTokens } from './service.js';

export type { ConnectedWorkspace, VcsTokens } from './service.js';
export { ConnectionService, checkIdentifier } from './service.js';

export interface ConnectionDeps {
  db: Db;
  /** --secret; webhook secrets are sealed under a key derived from it. */
  secret: string;
  site: Site;
  workspaces: WorkspaceService;
  tokens: VcsTokens;
  logger: Logger;
}

export interface ConnectionDomain {
  service: ConnectionService;
  /** The hook of this id with its secret (decrypted), or null. Internal: no subject. Never log the secret. */
  findHook(hookId: string): Promise<RepoHook | null>;
  /** The workspaces whose deliveries arrive at this hook, with their connection and who connected them. */
  workspacesOfHook(hookId: string): Promise<ConnectedWorkspace[]>;
  /** The connected workspaces that poll their branch, in the same shape. */
  pollingWorkspaces(): Promise<ConnectedWorkspace[]>;
  /** Before an oauth token is deleted: disconnects the workspaces connected with it, deleting their webhooks. */
  oauthTokenDeleting(oauthTokenId: string): Promise<void>;
}

export function createConnectionDomain(deps: ConnectionDeps): ConnectionDomain {
  const service = new ConnectionService(deps.db, deps.workspaces, deps.tokens, () => deps.site.baseUrl, deps.secret, deps.logger);
  return {
    service,
    findHook: (hookId) => service.findHook(hookId),
    workspacesOfHook: (hookId) => service.workspacesOfHook(hookId),
    pollingWorkspaces: () => service.pollingWorkspaces(),
    oauthTokenDeleting: (oauthTokenId) => service.oauthTokenDeleting(oauthTokenId),
  };
}
