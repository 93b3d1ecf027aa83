// Rules of the connections domain: the repository webhooks otfd makes for workspaces connected to
// a repository. One webhook per oauth client and repository, with its own random secret (sealed at
// rest with the cipher of sensitive variables), made at the provider when the first workspace
// connects, shared by the next ones, deleted when the last one lets it go. Workspaces call in
// through the VcsConnector hook (src/server.ts connects it); the webhooks and ingress domains read
// hooks and their workspaces here.
import crypto from 'node:crypto';
import type { Principal } from '../auth/subject.js';
import type { Db } from '../db/index.js';
import { InvalidError } from '../errors.js';
import type { Logger } from '../logger.js';
import { DecryptionError, ValueCipher } from '../variables/index.js';
import { hookKindOf, identifierProblem, VcsApiError, type RepoHook, type ServiceProvider, type VcsAdapter, type WorkspaceVcsRepo } from '../vcs/index.js';
import type { Attachment, ResolvedRepository, VcsConnector, Workspace, WorkspaceService } from '../workspaces/index.js';
import * as store from './store.js';

/** What the vcs domain tells of oauth tokens (its oauth clients' access tokens). */
export interface VcsTokens {
  /** The token's client and provider when the token belongs to the organization; null otherwise (absent, or another organization's). */
  tokenInOrganization(oauthTokenId: string, organizationId: string): Promise<{ oauthClientId: string; serviceProvider: ServiceProvider } | null>;
  /** The provider's API with the token; null when the token is gone. */
  adapterFor(oauthTokenId: string): Promise<VcsAdapter | null>;
}

/** A workspace a repository's events reach, with its connection and who made it (whose rights its runs have). */
export interface ConnectedWorkspace {
  workspace: Workspace;
  vcsRepo: WorkspaceVcsRepo;
  connectedBy: Principal;
}

const IDENTIFIER_POINTER = { pointer: '/data/attributes/vcs-repo/identifier' };

/** The identifier in the form the provider names repositories (the rule is src/vcs/names.ts), at most 255 characters. */
export function checkIdentifier(provider: ServiceProvider, identifier: string): void {
  const gitlab = hookKindOf(provider) === 'gitlab';
  if (identifier.length > 255 || identifierProblem(identifier, gitlab ? 'project path' : 'owner/name') !== null) {
    const expected = gitlab ? '"group/project" (a GitLab project\'s full path, subgroups allowed)' : '"owner/repository"';
    throw new InvalidError(`vcs-repo.identifier must be ${expected} of letters, digits, "_", "-" and "."; got ${JSON.stringify(identifier.slice(0, 300))}`, IDENTIFIER_POINTER);
  }
}

/** A provider's error for a 422's detail, without anything that could be the secret. */
function providerAnswer(err: VcsApiError, secret?: string): string {
  const message = secret ? err.message.split(secret).join('[redacted]') : err.message;
  return err.status === 0 ? `could not be reached: ${message}` : `answered HTTP ${err.status}: ${message}`;
}

/** How often hooks marked for deletion are tried again, how many at a time, and how often at most. */
const SWEEP_INTERVAL_MS = 60 * 60 * 1000;
const SWEEP_BATCH = 100;
/** Hourly for three days; after that the provider is not coming back for it, and the row goes. */
const MAX_DELETE_ATTEMPTS = 72;

export class ConnectionService implements VcsConnector {
  private readonly cipher: ValueCipher;
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly workspaces: WorkspaceService,
    private readonly tokens: VcsTokens,
    /** Where providers deliver: site.baseUrl, read when a webhook is made (it is known once otfd listens). */
    private readonly baseUrl: () => string,
    /** --secret; webhook secrets are sealed under a key derived from it. */
    secret: string,
    private readonly logger: Logger,
  ) {
    this.cipher = new ValueCipher(secret);
  }

  private async adapter(oauthTokenId: string): Promise<VcsAdapter> {
    const adapter = await this.tokens.adapterFor(oauthTokenId);
    if (!adapter) throw new InvalidError(`oauth token "${oauthTokenId}" does not exist in this organization`, { pointer: '/data/attributes/vcs-repo/oauth-token-id' });
    return adapter;
  }

  // ------------------------------------------------------------ for workspaces (VcsConnector)

  async resolve(organizationId: string, identifier: string, oauthTokenId: string): Promise<ResolvedRepository> {
    const token = await this.tokens.tokenInOrganization(oauthTokenId, organizationId);
    // The same answer for a token of another organization as for none: ids do not leak across.
    if (!token) throw new InvalidError(`oauth token "${oauthTokenId}" does not exist in this organization`, { pointer: '/data/attributes/vcs-repo/oauth-token-id' });
    checkIdentifier(token.serviceProvider, identifier);
    const adapter = await this.adapter(oauthTokenId);
    try {
      const repo = await adapter.repository(identifier);
      return { oauthClientId: token.oauthClientId, serviceProvider: token.serviceProvider, defaultBranch: repo.defaultBranch, repositoryHttpUrl: repo.webUrl };
    } catch (err) {
      if (!(err instanceof VcsApiError)) throw err;
      throw new InvalidError(`cannot connect repository "${identifier}": the VCS provider (${token.serviceProvider}) ${providerAnswer(err)}`, IDENTIFIER_POINTER);
    }
  }

  async attach(
    trx: Db,
    h: { organizationId: string; oauthTokenId: string; oauthClientId: string; serviceProvider: ServiceProvider; identifier: string },
  ): Promise<Attachment> {
    await store.lockRepository(trx, h.oauthClientId, h.identifier);
    const existing = await store.findByRepository(trx, h.oauthClientId, h.identifier);
    if (existing) {
      // One marked for deletion still exists at the provider, with its secret: it is used again.
      if (existing.deletingSince) await store.unmarkDeleting(trx, existing.id);
      return { hookId: existing.id, undo: async () => {} };
    }
    const adapter = await this.adapter(h.oauthTokenId);
    const id = crypto.randomUUID();
    const secret = crypto.randomBytes(32).toString('hex');
    const url = `${this.baseUrl()}/webhooks/${hookKindOf(h.serviceProvider)}/${id}`;
    let providerHookId: string;
    try {
      providerHookId = await adapter.createWebhook(h.identifier, { url, secret });
    } catch (err) {
      if (!(err instanceof VcsApiError)) throw err;
      throw new InvalidError(`cannot create a webhook for repository "${h.identifier}": the VCS provider (${h.serviceProvider}) ${providerAnswer(err, secret)}`, IDENTIFIER_POINTER);
    }
    const undo = async () => {
      await adapter.deleteWebhook(h.identifier, providerHookId).catch((err: unknown) => {
        this.logger.warn({ err: String(err), hookId: id, identifier: h.identifier }, 'could not delete the webhook of a failed connect at the VCS provider');
      });
    };
    try {
      await store.insert(trx, {
        id,
        organizationId: h.organizationId,
        oauthClientId: h.oauthClientId,
        oauthTokenId: h.oauthTokenId,
        provider: h.serviceProvider,
        identifier: h.identifier,
        providerHookId,
        encryptedSecret: this.cipher.seal(secret, id),
        url,
      });
    } catch (err) {
      await undo();
      throw err;
    }
    this.logger.info({ hookId: id, identifier: h.identifier, provider: h.serviceProvider }, 'repository webhook created');
    return { hookId: id, undo };
  }

  /**
   * Before an organization is deleted (its workspaces and hooks go with it in the database): its
   * webhooks are deleted at the providers, as far as they answer. Never throws.
   */
  async organizationDeleting(organizationId: string): Promise<void> {
    for (const hook of await store.listByOrganization(this.db, organizationId)) {
      try {
        const adapter = await this.tokens.adapterFor(hook.oauthTokenId);
        await adapter?.deleteWebhook(hook.identifier, hook.providerHookId);
      } catch (err) {
        this.logger.warn({ err: String(err), hookId: hook.id }, 'could not delete the repository webhook of an organization being deleted');
      }
    }
  }

  /**
   * A workspace let the hook go: when no workspace uses it any more, it is deleted at the provider
   * first, then here, holding the repository's lock (no connect reuses it meanwhile). When the
   * provider cannot delete it now, the row stays, marked for deletion: its deliveries answer 404,
   * and the sweep tries again. Never throws: the disconnect itself has happened.
   */
  async release(hookId: string): Promise<void> {
    await this.deleteUnused(hookId);
  }

  /** Tries once more to delete the hooks marked for deletion; at start and then hourly. */
  async sweep(): Promise<void> {
    try {
      for (const id of await store.listDeleting(this.db, SWEEP_BATCH)) {
        if (this.stopped) return;
        await this.deleteUnused(id);
      }
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'could not sweep the repository webhooks marked for deletion');
    }
  }

  /** Starts the sweep: now, and every SWEEP_INTERVAL_MS. */
  start(): void {
    this.stopped = false;
    this.sweeping = this.sweep();
    this.timer = setInterval(() => {
      this.sweeping = this.sweeping.then(() => this.sweep());
    }, SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
  }

  private async deleteUnused(hookId: string): Promise<void> {
    try {
      const hook = await store.findById(this.db, hookId);
      if (!hook) return;
      await this.db.transaction(async (trx) => {
        await store.lockRepository(trx, hook.oauthClientId, hook.identifier);
        if (await this.workspaces.anyUsesRepoHook(trx, hookId)) return;
        const current = await store.findById(trx, hookId);
        if (!current) return;
        const log = { hookId, identifier: hook.identifier, provider: hook.provider };
        let adapter: VcsAdapter | null;
        try {
          adapter = await this.tokens.adapterFor(hook.oauthTokenId);
          if (adapter) await adapter.deleteWebhook(hook.identifier, hook.providerHookId);
        } catch (err) {
          const attempts = current.deleteAttempts + 1;
          if (attempts >= MAX_DELETE_ATTEMPTS) {
            await store.remove(trx, hookId);
            this.logger.warn({ ...log, err: String(err), attempts }, 'could not delete a repository webhook no workspace uses, and gave up: it stays at the VCS provider');
            return;
          }
          await store.markDeleting(trx, hookId);
          this.logger.warn({ ...log, err: String(err), attempts }, 'could not delete a repository webhook no workspace uses; it is marked for deletion and tried again later');
          return;
        }
        await store.remove(trx, hookId);
        if (adapter) this.logger.info(log, 'repository webhook deleted');
        else this.logger.warn(log, 'repository webhook forgotten; its oauth token is gone, so it stays at the VCS provider');
      });
    } catch (err) {
      this.logger.warn({ err: String(err), hookId }, 'could not delete a repository webhook no workspace uses');
    }
  }

  // ------------------------------------------------------------ for the webhooks and ingress domains

  /** The hook of this id with its secret, or null. No authorization: deliveries prove themselves with the secret. */
  async findHook(hookId: string): Promise<RepoHook | null> {
    if (hookId.length === 0 || hookId.length > 100 || hookId.includes('\u0000')) return null;
    const hook = await store.findById(this.db, hookId);
    // A hook marked for deletion is one no workspace uses: its deliveries are not for us (404).
    if (!hook || hook.deletingSince) return null;
    let secret: string;
    try {
      secret = this.cipher.open(hook.encryptedSecret, hook.id);
    } catch (err) {
      if (!(err instanceof DecryptionError)) throw err;
      throw new DecryptionError(`cannot decrypt the secret of repository webhook ${hook.id}: ${err.message}; was --secret changed since it was made?`);
    }
    return { id: hook.id, organizationId: hook.organizationId, oauthClientId: hook.oauthClientId, provider: hook.provider, identifier: hook.identifier, secret };
  }

  /** The workspaces connected through the hook. */
  async workspacesOfHook(hookId: string): Promise<ConnectedWorkspace[]> {
    return connected(await this.workspaces.usingRepoHook(hookId));
  }

  /** The connected workspaces that poll their branch instead of receiving webhooks. */
  async pollingWorkspaces(): Promise<ConnectedWorkspace[]> {
    return connected(await this.workspaces.polling());
  }

  /** For the vcs domain, before it deletes an oauth token: workspaces connected with it are disconnected, their webhooks let go. */
  async oauthTokenDeleting(oauthTokenId: string): Promise<void> {
    await this.workspaces.disconnectToken(oauthTokenId);
  }
}

function connected(list: Workspace[]): ConnectedWorkspace[] {
  return list.flatMap((workspace) => (workspace.vcsRepo && workspace.vcsConnectedBy ? [{ workspace, vcsRepo: workspace.vcsRepo, connectedBy: workspace.vcsConnectedBy }] : []));
}
