// The vcs domain: an organization's VCS providers (Terraform Cloud's OAuth clients and tokens, the
// token write-only and sealed at rest), and one adapter per provider for the domains that call a
// provider's API (connections, webhooks, ingress). Wired into otfd by src/server.ts.
import type { ApiRouter, Site } from '../api/http.js';
import type { Db } from '../db/index.js';
import type { OrganizationService } from '../orgs/index.js';
import type { AdapterOptions } from './providers/index.js';
import { registerVcsRoutes } from './routes.js';
import { VcsService, type TokenDeletedHook, type TokenInfo } from './service.js';
import type { VcsAdapter } from './types.js';

export type { OAuthClient, OAuthToken, TokenDeletedHook, TokenInfo } from './service.js';
export { VcsService, PROVIDERS } from './service.js';
export { createAdapter, type AdapterOptions } from './providers/index.js';
export * from './types.js';
export * from './names.js';
export { expandV6, hostOf, refusedCloneUrl } from './addresses.js';

export interface VcsDeps {
  db: Db;
  /** --secret; tokens are sealed under a key derived from it. */
  secret: string;
  site: Site;
  orgs: OrganizationService;
  /** Options of the adapters made (e.g. a shorter timeout). */
  adapters?: AdapterOptions;
}

/** What other domains may use: internal calls without a subject (their callers have authorized their own action). */
export interface VcsProviders {
  /** The token when it belongs to the organization, else null. */
  tokenInOrganization(oauthTokenId: string, organizationId: string): Promise<TokenInfo | null>;
  /** An adapter holding the token decrypted; null when the token is gone. Never log what it holds. */
  adapterFor(oauthTokenId: string): Promise<VcsAdapter | null>;
  /** The SSH key set on the token (PATCH /oauth-tokens/:id ssh-key), decrypted, or null. Never log it. */
  sshKeyFor(oauthTokenId: string): Promise<string | null>;
  /** Called before a token is deleted (alone or with its client), while adapterFor still answers. */
  onTokenDeleted(hook: TokenDeletedHook): void;
}

export interface VcsDomain {
  /** JSON:API routes under /api/v2. */
  routes(router: ApiRouter): void;
  service: VcsService;
  providers: VcsProviders;
}

export function createVcsDomain(deps: VcsDeps): VcsDomain {
  const service = new VcsService(deps.db, deps.orgs, deps.secret, deps.adapters);
  return {
    routes: (router) => registerVcsRoutes(router, service, deps.site),
    service,
    providers: {
      tokenInOrganization: (tokenId, orgId) => service.tokenInOrganization(tokenId, orgId),
      adapterFor: (tokenId) => service.adapterFor(tokenId),
      sshKeyFor: (tokenId) => service.sshKeyFor(tokenId),
      onTokenDeleted: (hook) => service.onTokenDeleted(hook),
    },
  };
}
