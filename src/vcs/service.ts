// Rules of the vcs domain: an organization's VCS providers as Terraform Cloud's OAuth clients and
// OAuth tokens. otfd has no OAuth application flow: a client is made with an access token of the
// provider (oauth-token-string), which becomes its one OAuth token, as Terraform Cloud does for
// personal access tokens. The token is write-only: sealed at rest with the cipher of sensitive
// variables, bound to the token's id, and opened only to build an adapter (adapterFor) for the
// domains that call the provider, never in an answer or a log.
import { audited, recordChange } from '../audit/index.js';
import ssh2 from 'ssh2';
import { hostOf, refusedAddress } from './addresses.js';
import { authorize, type OrganizationAction } from '../auth/authorize.js';
import type { Subject } from '../auth/subject.js';
import type { Db } from '../db/index.js';
import { InvalidError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Organization, OrganizationService } from '../orgs/index.js';
import { DecryptionError, ValueCipher } from '../variables/index.js';
import { createAdapter, type AdapterOptions } from './providers/index.js';
import * as store from './store.js';
import type { StoredClient, StoredToken } from './store.js';
import { SERVICE_PROVIDERS, type ServiceProvider, type VcsAdapter } from './types.js';

/** An OAuth client as clients see it: never its token. */
export interface OAuthClient {
  id: string;
  organization: Organization;
  serviceProvider: ServiceProvider;
  name: string | null;
  apiUrl: string;
  httpUrl: string;
  createdAt: Date;
  oauthTokenIds: string[];
}

/** An OAuth token as clients see it: whether it has an SSH key, never the token or the key. */
export interface OAuthToken {
  id: string;
  oauthClientId: string;
  createdAt: Date;
  hasSshKey: boolean;
}

/** What other domains learn of a token of an organization (tokenInOrganization). */
export interface TokenInfo {
  oauthTokenId: string;
  oauthClientId: string;
  provider: ServiceProvider;
  /** The same as provider, under the name the connections domain reads. */
  serviceProvider: ServiceProvider;
  apiUrl: string;
  httpUrl: string;
  organizationId: string;
}

/** Called before a token's row goes (alone, or with its client): it may still use adapterFor(id). */
export type TokenDeletedHook = (token: TokenInfo) => Promise<void>;

/** Terraform Cloud's display names, and the hosted providers' URLs (the others have no default). */
export const PROVIDERS: Record<ServiceProvider, { displayName: string; apiUrl: string | null; httpUrl: string | null }> = {
  github: { displayName: 'GitHub', apiUrl: 'https://api.github.com', httpUrl: 'https://github.com' },
  github_enterprise: { displayName: 'GitHub Enterprise', apiUrl: null, httpUrl: null },
  gitlab_hosted: { displayName: 'GitLab.com', apiUrl: 'https://gitlab.com/api/v4', httpUrl: 'https://gitlab.com' },
  gitlab_community_edition: { displayName: 'GitLab Community Edition', apiUrl: null, httpUrl: null },
  gitlab_enterprise_edition: { displayName: 'GitLab Enterprise Edition', apiUrl: null, httpUrl: null },
  forgejo: { displayName: 'Forgejo', apiUrl: null, httpUrl: null },
};

/** Access tokens of all three providers are well under 1 KiB; anything far larger is not one. */
export const MAX_TOKEN_BYTES = 1024;
/** As for an organization's SSH keys (src/sshkeys/service.ts). */
export const MAX_SSH_KEY_BYTES = 64 * 1024;
const MAX_URL_LENGTH = 2048;

export interface ClientInput {
  serviceProvider: string;
  name?: string | null;
  apiUrl?: string;
  httpUrl?: string;
  oauthTokenString?: string;
}

function invalid(attribute: string, detail: string): InvalidError {
  return new InvalidError(`attribute "${attribute}" ${detail}`, { pointer: `/data/attributes/${attribute}` });
}

/**
 * An access token goes into an Authorization header and a git credential: printable ASCII without
 * spaces. The value is never quoted back: it is a secret.
 */
function checkToken(attribute: string, token: string): void {
  if (token.length === 0) throw invalid(attribute, 'must be an access token of the provider; it is empty');
  if (Buffer.byteLength(token, 'utf8') > MAX_TOKEN_BYTES) throw invalid(attribute, `must be at most ${MAX_TOKEN_BYTES} bytes long`);
  if (!/^[\x21-\x7e]+$/.test(token)) throw invalid(attribute, 'must be an access token of the provider: printable ASCII characters without spaces');
}

/** An http(s) URL without credentials, query or fragment, kept without its trailing slashes. */
function checkUrl(attribute: 'api-url' | 'http-url', value: string): string {
  const fail = (why: string) => invalid(attribute, `must be an http or https URL${why}`);
  if (value.length > MAX_URL_LENGTH) throw fail(` of at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw fail(`, e.g. https://github.example.com${attribute === 'api-url' ? '/api/v3' : ''}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw fail(`; "${url.protocol}" is not one`);
  if (url.username !== '' || url.password !== '') throw fail(' without a user name or password in it (the token is given as oauth-token-string)');
  if (url.search !== '' || url.hash !== '') throw fail(' without a query or fragment');
  if (/[\s\\]/.test(value)) throw fail(' without spaces or backslashes');
  const refused = refusedAddress(hostOf(url));
  if (refused) throw invalid(attribute, `must not name ${refused}: otfd does not make requests there`);
  return url.toString().replace(/\/+$/, '');
}

function isServiceProvider(value: string): value is ServiceProvider {
  return (SERVICE_PROVIDERS as readonly string[]).includes(value);
}

export class VcsService {
  private readonly cipher: ValueCipher;
  private readonly deletedHooks: TokenDeletedHook[] = [];

  constructor(
    private readonly db: Db,
    private readonly orgs: OrganizationService,
    /** --secret; tokens are sealed under a key derived from it, as sensitive variables. */
    secret: string,
    /** Options of the adapters made (tests shorten the timeout). */
    private readonly adapterOptions: AdapterOptions = {},
  ) {
    this.cipher = new ValueCipher(secret);
  }

  // ---------------------------------------------------------------- hooks

  /**
   * Registers a hook called before a token is deleted, alone or with its client. Hooks run before
   * the rows go, so they can still reach the provider with adapterFor (e.g. to remove webhooks);
   * one that throws stops the deletion, so a hook should not throw for a provider being down.
   */
  onTokenDeleted(hook: TokenDeletedHook): void {
    this.deletedHooks.push(hook);
  }

  // ---------------------------------------------------------------- authorization

  private async organization(subject: Subject, action: OrganizationAction, orgName: string): Promise<Organization> {
    const org = await this.orgs.resolve(subject, orgName);
    authorize(subject, action, { organizationId: org.id }, () => notFound('organization', orgName));
    return org;
  }

  /** The client, when the subject may take the action on it; 404 when it cannot see it. */
  private async locateClient(subject: Subject, action: OrganizationAction, id: string): Promise<StoredClient> {
    const client = await store.findClient(this.db, id);
    if (!client) throw notFound('oauth client', id);
    authorize(subject, action, { organizationId: client.organizationId }, () => notFound('oauth client', id));
    return client;
  }

  private async locateToken(subject: Subject, action: OrganizationAction, id: string): Promise<{ token: StoredToken; client: StoredClient }> {
    const found = await store.findTokenWithClient(this.db, id);
    if (!found) throw notFound('oauth token', id);
    authorize(subject, action, { organizationId: found.client.organizationId }, () => notFound('oauth token', id));
    return found;
  }

  private async present(clients: StoredClient[], org?: Organization): Promise<OAuthClient[]> {
    const tokens = await store.tokensOf(this.db, clients.map((c) => c.id));
    const orgs = new Map<string, Organization>(org ? [[org.id, org]] : []);
    const out: OAuthClient[] = [];
    for (const c of clients) {
      let o = orgs.get(c.organizationId);
      if (!o) {
        o = (await this.orgs.byId(c.organizationId)) ?? undefined;
        if (!o) throw notFound('oauth client', c.id);
        orgs.set(o.id, o);
      }
      out.push({
        id: c.id,
        organization: o,
        serviceProvider: c.serviceProvider,
        name: c.name,
        apiUrl: c.apiUrl,
        httpUrl: c.httpUrl,
        createdAt: c.createdAt,
        oauthTokenIds: tokens.filter((t) => t.oauthClientId === c.id).map((t) => t.id),
      });
    }
    return out;
  }

  // ---------------------------------------------------------------- OAuth clients

  async listClients(subject: Subject, orgName: string, page: { offset: number; limit: number }): Promise<{ items: OAuthClient[]; total: number }> {
    const org = await this.organization(subject, 'vcs-provider:read', orgName);
    const { items, total } = await store.listClients(this.db, org.id, page);
    return { items: await this.present(items, org), total };
  }

  async getClient(subject: Subject, id: string): Promise<OAuthClient> {
    const client = await this.locateClient(subject, 'vcs-provider:read', id);
    return (await this.present([client]))[0];
  }

  /**
   * Creates a client and, from its oauth-token-string, its one OAuth token. The hosted providers
   * (github, gitlab_hosted) have default URLs; the others need both api-url and http-url.
   */
  async createClient(subject: Subject, orgName: string, input: ClientInput): Promise<OAuthClient> {
    const org = await this.organization(subject, 'vcs-provider:manage', orgName);
    if (!isServiceProvider(input.serviceProvider)) {
      throw invalid('service-provider', `must be one of ${SERVICE_PROVIDERS.join(', ')}`);
    }
    const provider = input.serviceProvider;
    const defaults = PROVIDERS[provider];
    const apiUrl = input.apiUrl !== undefined ? checkUrl('api-url', input.apiUrl) : defaults.apiUrl;
    const httpUrl = input.httpUrl !== undefined ? checkUrl('http-url', input.httpUrl) : defaults.httpUrl;
    if (apiUrl === null) throw invalid('api-url', `is required for ${provider}: the URL of the provider's API, e.g. ${exampleApiUrl(provider)}`);
    if (httpUrl === null) throw invalid('http-url', `is required for ${provider}: the URL of the provider's web pages, e.g. https://git.example.com`);
    if (input.oauthTokenString === undefined) {
      throw invalid('oauth-token-string', 'is required: an access token of the provider, which otfd uses with its API and to clone');
    }
    checkToken('oauth-token-string', input.oauthTokenString);
    const id = newId('oc');
    const tokenId = newId('ot');
    await this.db.transaction(async (trx) => {
      await store.insertClient(trx, { id, organizationId: org.id, serviceProvider: provider, name: input.name ?? null, apiUrl, httpUrl });
      await store.insertToken(trx, { id: tokenId, oauthClientId: id, encryptedToken: this.cipher.seal(input.oauthTokenString!, tokenId) });
      await recordChange(trx, { action: 'vcs-provider.create', resource: { type: 'oauth-clients', id }, organizationId: org.id, details: { 'service-provider': provider, name: input.name ?? null } });
    });
    return (await this.present([(await store.findClient(this.db, id))!], org))[0];
  }

  /**
   * Changes a client's name, or its token: a new oauth-token-string replaces the token of its
   * OAuth token (kept, so that workspaces using it go on working), or makes one if it has none.
   */
  async updateClient(subject: Subject, id: string, input: { name?: string | null; oauthTokenString?: string }): Promise<OAuthClient> {
    const client = await this.locateClient(subject, 'vcs-provider:manage', id);
    if (input.oauthTokenString !== undefined) checkToken('oauth-token-string', input.oauthTokenString);
    await this.db.transaction(async (trx) => {
      await store.updateClient(trx, client.id, { name: input.name });
      await recordChange(trx, { action: 'vcs-provider.update', resource: { type: 'oauth-clients', id: client.id }, organizationId: client.organizationId, details: { name: input.name, reconnected: input.oauthTokenString !== undefined } });
      if (input.oauthTokenString === undefined) return;
      const [token] = await store.tokensOf(trx, [client.id]);
      if (token) await store.updateToken(trx, token.id, { encryptedToken: this.cipher.seal(input.oauthTokenString, token.id) });
      else {
        const tokenId = newId('ot');
        await store.insertToken(trx, { id: tokenId, oauthClientId: client.id, encryptedToken: this.cipher.seal(input.oauthTokenString, tokenId) });
      }
    });
    return this.getClient(subject, id);
  }

  /**
   * Deletes a client and its tokens. The workspaces connected through one of its tokens are the
   * connections domain's: told by the onTokenDeleted hooks, it disconnects them (and removes the
   * webhooks it made); without that they could no longer reach the repository
   * (tokenInOrganization and adapterFor answer null for a deleted token).
   */
  async deleteClient(subject: Subject, id: string): Promise<void> {
    const client = await this.locateClient(subject, 'vcs-provider:manage', id);
    for (const token of await store.tokensOf(this.db, [client.id])) await this.tellDeleted(token, client);
    const clientChange = { action: 'vcs-provider.delete', resource: { type: 'oauth-clients', id: client.id }, organizationId: client.organizationId, details: { 'service-provider': client.serviceProvider } };
    if (!(await audited(this.db, (trx) => store.removeClient(trx, client.id), (removed) => (removed ? clientChange : null)))) throw notFound('oauth client', id);
  }

  // ---------------------------------------------------------------- OAuth tokens

  /** The tokens of clients the caller was shown (include=oauth_tokens). */
  async tokensOfClients(clients: OAuthClient[]): Promise<OAuthToken[]> {
    return (await store.tokensOf(this.db, clients.map((c) => c.id))).map(presentToken);
  }

  async listTokens(subject: Subject, clientId: string): Promise<OAuthToken[]> {
    const client = await this.locateClient(subject, 'vcs-provider:read', clientId);
    return (await store.tokensOf(this.db, [client.id])).map(presentToken);
  }

  /** Every token of an organization (go-tfe lists them by organization). */
  async listOrganizationTokens(subject: Subject, orgName: string, page: { offset: number; limit: number }): Promise<{ items: OAuthToken[]; total: number }> {
    const org = await this.organization(subject, 'vcs-provider:read', orgName);
    const clients = await store.listClients(this.db, org.id, { offset: 0, limit: 10_000 });
    const tokens = (await store.tokensOf(this.db, clients.items.map((c) => c.id))).map(presentToken);
    return { items: tokens.slice(page.offset, page.offset + page.limit), total: tokens.length };
  }

  async getToken(subject: Subject, id: string): Promise<OAuthToken> {
    return presentToken((await this.locateToken(subject, 'vcs-provider:read', id)).token);
  }

  /** Sets (or, with an empty string, removes) the SSH key a token clones with, as Terraform Cloud's ssh-key attribute. */
  async updateToken(subject: Subject, id: string, input: { sshKey?: string }): Promise<OAuthToken> {
    const { token, client } = await this.locateToken(subject, 'vcs-provider:manage', id);
    if (input.sshKey !== undefined) {
      if (Buffer.byteLength(input.sshKey, 'utf8') > MAX_SSH_KEY_BYTES) throw invalid('ssh-key', `must be at most ${MAX_SSH_KEY_BYTES} bytes (64 KiB)`);
      if (input.sshKey.trim() !== '') checkPrivateKey(input.sshKey);
      const sealed = input.sshKey.trim() === '' ? null : this.cipher.seal(input.sshKey, `${token.id}/ssh-key`);
      const tokenChange = { action: 'oauth-token.update', resource: { type: 'oauth-tokens', id: token.id }, organizationId: client.organizationId, details: { 'ssh-key-set': sealed !== null } };
      await audited(this.db, (trx) => store.updateToken(trx, token.id, { encryptedSshKey: sealed }), tokenChange);
    }
    return presentToken((await store.findToken(this.db, token.id))!);
  }

  /** Deletes a token; its client stays, with no token until one is given again (PATCH oauth-token-string). */
  async deleteToken(subject: Subject, id: string): Promise<void> {
    const { token, client } = await this.locateToken(subject, 'vcs-provider:manage', id);
    await this.tellDeleted(token, client);
    const tokenChange = { action: 'oauth-token.delete', resource: { type: 'oauth-tokens', id: token.id }, organizationId: client.organizationId, details: { 'oauth-client': client.id } };
    if (!(await audited(this.db, (trx) => store.removeToken(trx, token.id), (removed) => (removed ? tokenChange : null)))) throw notFound('oauth token', id);
  }

  private async tellDeleted(token: StoredToken, client: StoredClient): Promise<void> {
    for (const hook of this.deletedHooks) await hook(info(token, client));
  }

  // ---------------------------------------------------------------- for other domains (no subject)

  /**
   * The token when it belongs to the organization, else null (another organization's token is as
   * absent as one that does not exist). No authorization: the caller has authorized its action.
   */
  async tokenInOrganization(oauthTokenId: string, organizationId: string): Promise<TokenInfo | null> {
    const found = await store.findTokenWithClient(this.db, oauthTokenId);
    if (!found || found.client.organizationId !== organizationId) return null;
    return info(found.token, found.client);
  }

  /** An adapter for the provider of the token, holding the token decrypted; null when the token is gone. Never log what it holds. */
  async adapterFor(oauthTokenId: string): Promise<VcsAdapter | null> {
    const found = await store.findTokenWithClient(this.db, oauthTokenId);
    if (!found) return null;
    const { token, client } = found;
    let secret: string;
    try {
      secret = this.cipher.open(token.encryptedToken, token.id);
    } catch (err) {
      if (!(err instanceof DecryptionError)) throw err;
      throw new DecryptionError(`cannot decrypt OAuth token ${token.id}: ${err.message}; was --secret changed since it was written?`);
    }
    return createAdapter(client.serviceProvider, client.apiUrl, secret, this.adapterOptions);
  }

  /** The SSH key of a token, decrypted, or null. No authorization. Never log it. */
  async sshKeyFor(oauthTokenId: string): Promise<string | null> {
    const token = await store.findToken(this.db, oauthTokenId);
    if (!token?.encryptedSshKey) return null;
    return this.cipher.open(token.encryptedSshKey, `${token.id}/ssh-key`);
  }
}

function presentToken(t: StoredToken): OAuthToken {
  return { id: t.id, oauthClientId: t.oauthClientId, createdAt: t.createdAt, hasSshKey: t.encryptedSshKey !== null };
}

function info(token: StoredToken, client: StoredClient): TokenInfo {
  return {
    oauthTokenId: token.id,
    oauthClientId: client.id,
    provider: client.serviceProvider,
    serviceProvider: client.serviceProvider,
    apiUrl: client.apiUrl,
    httpUrl: client.httpUrl,
    organizationId: client.organizationId,
  };
}

function exampleApiUrl(provider: ServiceProvider): string {
  if (provider === 'github_enterprise') return 'https://github.example.com/api/v3';
  if (provider === 'forgejo') return 'https://forgejo.example.com/api/v1';
  return 'https://gitlab.example.com/api/v4';
}

/**
 * A key git cannot use would fail every clone of the token's repositories, long after it was given:
 * refuse it now. ssh2 reads it as otf's SSH program will; its message names the problem, never the key.
 */
function checkPrivateKey(text: string): void {
  const parsed = ssh2.utils.parseKey(text);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error || key === undefined) {
    throw invalid('ssh-key', `must be an unencrypted private key in OpenSSH or PEM form (${key ? key.message : 'no key found'})`);
  }
  if (!key.isPrivateKey()) throw invalid('ssh-key', 'must be a private key; this is a public key');
}
