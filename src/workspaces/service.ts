// Rules of the workspaces domain: settings, names, projects, tags and locks.
import { audited, recordChange, type Change, type Details } from '../audit/index.js';
import { authorize, visibleWorkspaces, type Action, type Scope } from '../auth/authorize.js';
import type { SubjectCache } from '../auth/cache.js';
import { principalOf, type Principal, type Subject } from '../auth/subject.js';
import { isUniqueViolation, type Db } from '../db/index.js';
import { inOrderOf } from '../db/lists.js';
import { ConflictError, InvalidError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Organization, OrganizationService } from '../orgs/index.js';
import type { ProjectService } from '../projects/index.js';
import * as store from './store.js';
import type { EngineName, ExecutionMode, ListFilter, NamedTag, StoredConnection, TagBinding, Workspace, WorkspaceSettings } from './store.js';
import { checkBranch, checkPollInterval, checkTagsRegex, checkVcsText, NO_CONNECTOR, type Attachment, type VcsConnector, type VcsRepoInput } from './vcs.js';

export type { EngineName, ExecutionMode, NamedTag, TagBinding, Workspace, WorkspaceConnection, WorkspaceSettings } from './store.js';
export type { Attachment, ResolvedRepository, VcsConnector, VcsRepoInput } from './vcs.js';

/** A change of the workspace's repository connection: the next one (null: none). */
interface ConnectionChange {
  next: StoredConnection | null;
}

/** A tag named in a request: by id (an existing organization tag) or by name. */
export type TagRef = { id: string } | { name: string };

export type ListOptions = Omit<ListFilter, 'organizationId' | 'projectId' | 'onlyIds'> & { projectId?: string };

const VERSION_PART = /^\s*(=|!=|>=|<=|>|<|~>)?\s*v?\d+(\.\d+){0,2}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?\s*$/;

/** `latest`, a version, or a constraint such as "~> 1.11.0" or ">= 1.5, < 2.0". */
export function validTerraformVersion(v: string): boolean {
  return v === 'latest' || (v.length <= 100 && v.split(',').every((part) => VERSION_PART.test(part)));
}

/** A relative path inside the configuration, without ".." segments. */
export function validWorkingDirectory(dir: string): boolean {
  if (dir === '') return true;
  if (dir.startsWith('/') || dir.includes('\\') || dir.length > 255) return false;
  return dir.split('/').every((seg) => seg !== '..');
}

function checkSettings(s: Partial<WorkspaceSettings>): void {
  if (s.terraformVersion !== undefined && !validTerraformVersion(s.terraformVersion)) {
    throw new InvalidError(`attribute "terraform-version" must be "latest", a version or a version constraint, got "${s.terraformVersion}"`, {
      pointer: '/data/attributes/terraform-version',
    });
  }
  if (s.workingDirectory !== undefined && !validWorkingDirectory(s.workingDirectory)) {
    throw new InvalidError(`attribute "working-directory" must be a relative path inside the configuration, got "${s.workingDirectory}"`, {
      pointer: '/data/attributes/working-directory',
    });
  }
  if (s.executionOverwritten === false && namesExecution(s)) {
    throw new InvalidError(
      'setting-overwrites false makes the workspace follow its organization\'s default execution mode and agent pool: do not also set execution-mode, operations or an agent pool',
      { pointer: '/data/attributes/setting-overwrites' },
    );
  }
}

/** Whether a request names an execution mode or an agent pool of the workspace's own. */
function namesExecution(s: Partial<WorkspaceSettings>): boolean {
  return s.executionMode !== undefined || s.agentPoolId !== undefined;
}

/** The scope of actions on a workspace, with who may read its state. */
export function workspaceScope(ws: Workspace): Scope {
  return { organizationId: ws.organizationId, projectId: ws.projectId, workspaceId: ws.id, stateReaders: ws.globalRemoteState ? 'everyone' : ws.remoteStateConsumers };
}

/** Where the workspace's runs execute: its agent pool in agent mode, else (null) the server agent. */
export function runnerPoolOf(ws: Pick<Workspace, 'executionMode' | 'agentPoolId'> | null): string | null {
  return ws?.executionMode === 'agent' ? ws.agentPoolId : null;
}

/** What new workspaces get when a request names no engine or version. */
export interface WorkspaceDefaults {
  engine: EngineName;
  versions: Record<EngineName, string>;
}

/**
 * The pools domain says whether an agent pool may run a workspace; it throws InvalidError if not.
 * Called in the transaction that assigns the workspace (`trx`): the pool is locked until it ends,
 * so that the pool cannot stop allowing the workspace between the check and the assignment.
 */
export type PoolCheck = (organizationId: string, poolId: string, workspace: { id: string; name: string } | null, trx: Db) => Promise<void>;

/** The SSH keys domain says whether a key exists in the organization; it throws NotFoundError if not. */
export type SshKeyCheck = (organizationId: string, sshKeyId: string) => Promise<void>;

export class WorkspaceService {
  private readonly unlockHooks: Array<(workspaceId: string) => Promise<void>> = [];
  private managesResources: ((workspaceId: string) => Promise<boolean>) | null = null;
  private uploadPending: (workspaceId: string, holder: Principal) => Promise<boolean> = async () => false;

  private poolCheck: PoolCheck = async (_org, poolId) => {
    throw new InvalidError(`agent pool "${poolId}" does not exist`, { pointer: '/data/attributes/agent-pool-id' });
  };

  private sshKeyCheck: SshKeyCheck = async (_org, keyId) => {
    throw notFound('ssh key', keyId);
  };

  private connector: VcsConnector = NO_CONNECTOR;
  private readonly connectionHooks: Array<() => void> = [];

  constructor(
    private readonly db: Db,
    private readonly orgs: OrganizationService,
    private readonly projects: ProjectService,
    private readonly defaults: WorkspaceDefaults,
    /**
     * Kept token subjects carry project grants expanded to the project's workspaces: a workspace
     * created in a project or moved to another changes them, and the next request by the same
     * token must see that without waiting for the database's announcement.
     */
    private readonly subjects: Pick<SubjectCache, 'changedAfter'>,
  ) {}

  setPoolCheck(check: PoolCheck): void {
    this.poolCheck = check;
  }

  setSshKeyCheck(check: SshKeyCheck): void {
    this.sshKeyCheck = check;
  }

  /** The connections domain, which checks repositories and makes their webhooks. */
  setVcsConnector(connector: VcsConnector): void {
    this.connector = connector;
  }

  /** Called after a workspace's repository connection changed and committed (the poller reads its set again). */
  onConnectionChange(hook: () => void): void {
    this.connectionHooks.push(hook);
  }

  // ------------------------------------------------------------ repository connections

  /**
   * What the workspace's connection becomes under a request's vcs-repo: merged with the current one
   * (members not named stay), checked, and the repository asked of its provider when it changes.
   * Undefined: the request does not touch it.
   */
  private async connectionChange(organizationId: string, current: Workspace | null, input: VcsRepoInput | null | undefined): Promise<ConnectionChange | undefined> {
    if (input === undefined) return undefined;
    if (input === null) return { next: null };
    const cur = current?.vcsRepo ?? null;
    const identifier = input.identifier ?? cur?.identifier;
    const oauthTokenId = input.oauthTokenId ?? cur?.oauthTokenId;
    for (const [member, value] of [
      ['identifier', identifier],
      ['oauth-token-id', oauthTokenId],
    ] as const) {
      if (!value) {
        throw new InvalidError(`vcs-repo.${member} is required to connect a repository: name it with vcs-repo.identifier and vcs-repo.oauth-token-id`, {
          pointer: `/data/attributes/vcs-repo/${member}`,
        });
      }
      checkVcsText(member, value);
    }
    const namedBranch = input.branch !== undefined ? (input.branch ?? '') : (cur?.namedBranch ?? '');
    checkBranch(namedBranch);
    const tagsRegex = input.tagsRegex !== undefined ? input.tagsRegex || null : (cur?.tagsRegex ?? null);
    if (tagsRegex !== null) checkTagsRegex(tagsRegex);
    const pollIntervalSeconds = input.pollIntervalSeconds !== undefined ? input.pollIntervalSeconds : (cur?.pollIntervalSeconds ?? null);
    if (pollIntervalSeconds !== null) checkPollInterval(pollIntervalSeconds);
    const sameRepository = cur !== null && cur.identifier === identifier! && cur.oauthTokenId === oauthTokenId!;
    const repository = sameRepository ? cur : await this.connector.resolve(organizationId, identifier!, oauthTokenId!);
    const next: StoredConnection = {
      identifier: identifier!,
      oauthTokenId: oauthTokenId!,
      oauthClientId: repository.oauthClientId,
      serviceProvider: repository.serviceProvider,
      namedBranch,
      defaultBranch: repository.defaultBranch,
      tagsRegex,
      ingressSubmodules: input.ingressSubmodules ?? cur?.ingressSubmodules ?? false,
      repositoryHttpUrl: repository.repositoryHttpUrl,
      allowForkPullRequests: input.allowForkPullRequests ?? cur?.allowForkPullRequests ?? false,
      pollIntervalSeconds,
      // Given in the transaction (applyConnection).
      repoHookId: null,
    };
    return { next };
  }

  /** Stores the change in trx, finding or making the webhook it needs; the attachment made, to undo if trx fails. */
  private async applyConnection(trx: Db, subject: Subject, organizationId: string, workspaceId: string, change: ConnectionChange): Promise<Attachment | null> {
    const { next } = change;
    let attachment: Attachment | null = null;
    // A workspace that polls has no webhook. One that does not is given its repository's, found
    // (it may be the one it has) or made under the repository's lock, also when nothing about the
    // repository changes: a webhook let go meanwhile by a concurrent disconnect is then made again.
    if (next && next.pollIntervalSeconds === null) {
      attachment = await this.connector.attach(trx, {
        organizationId,
        oauthTokenId: next.oauthTokenId,
        oauthClientId: next.oauthClientId,
        serviceProvider: next.serviceProvider,
        identifier: next.identifier,
      });
      next.repoHookId = attachment.hookId;
    }
    await store.setConnection(trx, workspaceId, next, principalOf(subject));
    return attachment;
  }

  private connectionChanged(): void {
    for (const hook of this.connectionHooks) hook();
  }

  /** After a change has committed: the webhook the workspace no longer names is let go. */
  private async released(before: Workspace | null, change: ConnectionChange | undefined): Promise<void> {
    if (change) this.connectionChanged();
    const previous = before?.vcsRepo?.repoHookId ?? null;
    if (change && previous && previous !== (change.next?.repoHookId ?? null)) await this.connector.release(previous);
  }

  /** Workspaces whose deliveries arrive at this repository webhook (for the connections domain). */
  async usingRepoHook(hookId: string): Promise<Workspace[]> {
    return store.usingRepoHook(this.db, hookId);
  }

  /** Whether any workspace names this repository webhook, read in the caller's transaction. */
  async anyUsesRepoHook(trx: Db, hookId: string): Promise<boolean> {
    return store.anyUsesRepoHook(trx, hookId);
  }

  /** Connected workspaces that poll their branch instead of receiving webhooks. */
  async polling(): Promise<Workspace[]> {
    return store.polling(this.db);
  }

  /**
   * Disconnects every workspace connected with an oauth token about to be deleted, letting their
   * webhooks go while the token can still delete them. No authorization: deleting the token was.
   */
  async disconnectToken(oauthTokenId: string): Promise<void> {
    for (const ws of await store.usingOauthToken(this.db, oauthTokenId)) {
      await store.setConnection(this.db, ws.id, null, null);
      if (ws.vcsRepo?.repoHookId) await this.connector.release(ws.vcsRepo.repoHookId);
    }
  }

  /**
   * Gives the workspace an SSH key of its organization for its runs' git::ssh:// modules, or takes
   * it away (null). Changing what a run may reach is a setting: admin access, as in Terraform Cloud.
   */
  async setSshKey(subject: Subject, ws: Workspace, sshKeyId: string | null): Promise<Workspace> {
    this.authorize(subject, 'workspace:update', ws);
    if (sshKeyId !== null) await this.sshKeyCheck(ws.organizationId, sshKeyId);
    try {
      await audited(this.db, (trx) => store.setSshKey(trx, ws.id, sshKeyId), workspaceChange('set-ssh-key', ws, { 'ssh-key-id': sshKeyId }));
    } catch (err) {
      // the key was deleted after we looked it up
      if ((err as { code?: string }).code === '23503') throw notFound('ssh key', sshKeyId ?? '');
      throw err;
    }
    return this.load(ws.id);
  }

  /**
   * The execution mode and agent pool a workspace ends up with: agent mode needs a pool; other
   * modes take none. `current` is the workspace before the change (null: a new one). Whether the
   * pool allows the workspace is checked in the change's transaction (poolToCheck).
   */
  private execution(
    current: Workspace | null,
    changes: Partial<WorkspaceSettings>,
    defaultMode: ExecutionMode,
  ): { executionMode: ExecutionMode; agentPoolId: string | null } {
    const mode = changes.executionMode ?? current?.executionMode ?? defaultMode;
    const pool = changes.agentPoolId !== undefined ? changes.agentPoolId : (current?.agentPoolId ?? null);
    if (mode !== 'agent') {
      if (changes.agentPoolId) {
        throw new InvalidError(`an agent pool can only be set with execution mode "agent", not "${mode}"`, { pointer: '/data/attributes/agent-pool-id' });
      }
      return { executionMode: mode, agentPoolId: null };
    }
    if (!pool) {
      throw new InvalidError('execution mode "agent" needs an agent pool: set agent-pool-id or the agent-pool relationship', {
        pointer: '/data/attributes/agent-pool-id',
      });
    }
    return { executionMode: mode, agentPoolId: pool };
  }

  /** The pool a change newly assigns the workspace to, which must allow it; null when there is none. */
  private poolToCheck(current: Workspace | null, execution: { executionMode: ExecutionMode; agentPoolId: string | null }): string | null {
    if (execution.executionMode !== 'agent' || !execution.agentPoolId) return null;
    const unchanged = current !== null && current.executionMode === 'agent' && current.agentPoolId === execution.agentPoolId;
    return unchanged ? null : execution.agentPoolId;
  }

  /** Internal: the ids of an organization's workspaces, without authorization (data retention). */
  async idsInOrganization(organizationId: string): Promise<string[]> {
    return store.idsInOrganization(this.db, organizationId);
  }

  /** Workspaces assigned to an agent pool. */
  async usingPool(poolId: string): Promise<Workspace[]> {
    return store.usingPool(this.db, poolId);
  }

  private authorize(subject: Subject, action: Action, ws: Workspace): void {
    authorize(subject, action, workspaceScope(ws), () => notFound('workspace', ws.id));
  }

  private async load(id: string): Promise<Workspace> {
    const ws = await store.findById(this.db, id);
    if (!ws) throw notFound('workspace', id);
    return ws;
  }

  /** Internal lookup without authorization, for domains that already hold an id. */
  async byId(id: string): Promise<Workspace | null> {
    return store.findById(this.db, id);
  }

  /** Internal lookup of many, in the order of the ids, in one statement (for include= on lists). */
  async byIds(ids: string[]): Promise<Workspace[]> {
    return inOrderOf(ids, await store.findByIds(this.db, [...new Set(ids)]));
  }

  async get(subject: Subject, id: string): Promise<Workspace> {
    const ws = await store.findById(this.db, id);
    if (!ws) throw notFound('workspace', id);
    this.authorize(subject, 'workspace:read', ws);
    return ws;
  }

  async getByName(subject: Subject, orgName: string, name: string): Promise<Workspace> {
    const org = await this.orgs.resolve(subject, orgName);
    const ws = await store.findByName(this.db, org.id, name);
    if (!ws) throw notFound('workspace', `${orgName}/${name}`);
    this.authorize(subject, 'workspace:read', ws);
    return ws;
  }

  async list(subject: Subject, orgName: string, opts: ListOptions): Promise<{ org: Organization; items: Workspace[]; total: number }> {
    const org = await this.orgs.resolve(subject, orgName);
    authorize(subject, 'workspace:read', { organizationId: org.id }, () => notFound('organization', orgName));
    return { org, ...(await store.list(this.db, { ...opts, organizationId: org.id, onlyIds: visibleWorkspaces(subject, org.id) ?? undefined })) };
  }

  /** The project a request names, which must belong to the workspace's organization. */
  private async projectIn(org: Organization, projectId: string): Promise<string> {
    const project = await this.projects.byId(projectId);
    if (!project || project.organizationId !== org.id) {
      throw new InvalidError(`project "${projectId}" does not exist in organization "${org.name}"`, { pointer: '/data/relationships/project' });
    }
    return project.id;
  }

  async create(
    subject: Subject,
    orgName: string,
    input: Partial<WorkspaceSettings> & { name: string },
    tags: { refs: TagRef[]; bindings: TagBinding[] } = { refs: [], bindings: [] },
    vcsRepo?: VcsRepoInput | null,
  ): Promise<Workspace> {
    const org = await this.orgs.resolve(subject, orgName);
    // The project first: access to it (maintain, admin) may be what allows creating the workspace.
    const projectId = input.projectId ? await this.projectIn(org, input.projectId) : (await this.projects.defaultOf(org.id)).id;
    authorize(subject, 'workspace:create', { organizationId: org.id, projectId }, () => notFound('organization', orgName));
    checkSettings(input);
    // Without a mode of its own (or asked to), a new workspace follows its organization's default
    // mode and pool, as they are whenever it is read. Its own columns then hold no pool.
    const follows = input.executionOverwritten === false || (input.executionOverwritten === undefined && !namesExecution(input));
    const inheritsPool = !namesExecution(input) && org.defaultExecutionMode === 'agent';
    const execution = follows
      ? { executionMode: org.defaultExecutionMode as ExecutionMode, agentPoolId: null, executionOverwritten: false }
      : {
          ...this.execution(null, inheritsPool ? { ...input, agentPoolId: org.defaultAgentPoolId } : input, org.defaultExecutionMode as ExecutionMode),
          executionOverwritten: true,
        };
    const newPool = execution.executionOverwritten ? this.poolToCheck(null, execution) : null;
    const id = newId('ws');
    // Connecting is an action of its own: whoever may create the workspace may not be allowed it.
    if (vcsRepo !== undefined) authorize(subject, 'workspace:manage-vcs', { organizationId: org.id, projectId, workspaceId: id }, () => notFound('organization', orgName));
    const change = vcsRepo ? await this.connectionChange(org.id, null, vcsRepo) : undefined;
    // Set inside the transaction; a webhook it made is deleted again if the transaction fails.
    const made: { attachment: Attachment | null } = { attachment: null };
    try {
      await this.db.transaction(async (trx) => {
        await store.insert(trx, {
          id,
          organizationId: org.id,
          name: input.name,
          description: input.description ?? '',
          ...execution,
          autoApply: input.autoApply ?? false,
          autoApplyRunTrigger: input.autoApplyRunTrigger ?? false,
          allowDestroyPlan: input.allowDestroyPlan ?? true,
          fileTriggersEnabled: input.fileTriggersEnabled ?? true,
          globalRemoteState: input.globalRemoteState ?? false,
          queueAllRuns: input.queueAllRuns ?? false,
          assessmentsEnabled: input.assessmentsEnabled ?? false,
          planTimeoutSeconds: input.planTimeoutSeconds ?? null,
          applyTimeoutSeconds: input.applyTimeoutSeconds ?? null,
          speculativeEnabled: input.speculativeEnabled ?? true,
          structuredRunOutputEnabled: input.structuredRunOutputEnabled ?? false,
          engine: input.engine ?? this.defaults.engine,
          terraformVersion: input.terraformVersion ?? this.defaults.versions[input.engine ?? this.defaults.engine],
          workingDirectory: input.workingDirectory ?? '',
          triggerPrefixes: input.triggerPrefixes ?? [],
          triggerPatterns: input.triggerPatterns ?? [],
          sourceName: input.sourceName ?? null,
          sourceUrl: input.sourceUrl ?? null,
          projectId,
        });
        const bindings = [...(await this.bindingsFor(trx, org.id, tags.refs)), ...tags.bindings];
        await store.upsertTags(trx, org.id, id, bindings, () => newId('tag'));
        // Last, so that the lock it takes on the repository is held for as short a time as can be.
        if (change) made.attachment = await this.applyConnection(trx, subject, org.id, id, change);
        // After the connection's webhook call: the pool's row lock is held from here to the commit only.
        if (newPool) await this.poolCheck(org.id, newPool, null, trx);
        await recordChange(trx, workspaceChange('create', { id, organizationId: org.id }, { name: input.name }));
        this.subjects.changedAfter(trx);
      });
    } catch (err) {
      await made.attachment?.undo();
      if (isUniqueViolation(err)) {
        // TFC answers a duplicate name with 422 and "has already been taken", and clients expect it.
        throw new InvalidError(`workspace name "${input.name}" has already been taken in organization "${org.name}"`, { pointer: '/data/attributes/name' });
      }
      throw err;
    }
    if (change) this.connectionChanged();
    return this.load(id);
  }

  /** Changes settings and adds tags, all or nothing. */
  async update(
    subject: Subject,
    ws: Workspace,
    changes: Partial<WorkspaceSettings>,
    tags: { refs: TagRef[]; bindings: TagBinding[] } = { refs: [], bindings: [] },
    vcsRepo?: VcsRepoInput | null,
  ): Promise<Workspace> {
    this.authorize(subject, 'workspace:update', ws);
    if (tags.refs.length || tags.bindings.length) this.authorize(subject, 'workspace:manage-tags', ws);
    if (vcsRepo !== undefined) this.authorize(subject, 'workspace:manage-vcs', ws);
    checkSettings(changes);
    let newPool: string | null = null;
    if (changes.executionOverwritten === false) {
      // Follow the organization: its defaults are read with the workspace; no pool of its own is kept.
      const org = (await this.orgs.byId(ws.organizationId))!;
      changes.executionMode = undefined;
      changes.agentPoolId = null;
      this.checkNotMoving(ws, org.defaultExecutionMode as ExecutionMode, org.defaultExecutionMode === 'agent' ? org.defaultAgentPoolId : null);
    } else if (namesExecution(changes) || changes.executionOverwritten === true) {
      // A mode or pool of its own (or the one in effect, kept as its own with overwrite true).
      const execution = this.execution(ws, changes, ws.executionMode);
      this.checkNotMoving(ws, execution.executionMode, execution.agentPoolId);
      newPool = this.poolToCheck(ws, execution);
      Object.assign(changes, execution, { executionOverwritten: true });
    }
    // A version of one engine means nothing to the other: a new engine without a version named
    // gets the version a new workspace of that engine would get.
    if (changes.engine !== undefined && changes.engine !== ws.engine && changes.terraformVersion === undefined) {
      changes.terraformVersion = this.defaults.versions[changes.engine];
    }
    if (changes.projectId) {
      const org = (await this.orgs.byId(ws.organizationId))!;
      changes.projectId = await this.projectIn(org, changes.projectId);
      // As Terraform Cloud: moving a workspace takes the move permission on the project it leaves and on the one it joins.
      if (changes.projectId !== ws.projectId) {
        for (const projectId of [ws.projectId, changes.projectId]) {
          authorize(subject, 'workspace:move', { organizationId: ws.organizationId, projectId }, () => notFound('workspace', ws.id));
        }
      }
    }
    // Disconnecting a workspace that has no repository changes nothing.
    const change = vcsRepo === null && !ws.vcsRepo ? undefined : await this.connectionChange(ws.organizationId, ws, vcsRepo);
    const made: { attachment: Attachment | null } = { attachment: null };
    try {
      await this.db.transaction(async (trx) => {
        await store.update(trx, ws.id, changes);
        const named = await this.bindingsFor(trx, ws.organizationId, tags.refs);
        // Adding a key-only tag leaves the value of an existing key/value binding alone.
        const fresh = named.filter((b) => !ws.tags.some((t) => t.key === b.key));
        await store.upsertTags(trx, ws.organizationId, ws.id, [...fresh, ...tags.bindings], () => newId('tag'));
        if (change) made.attachment = await this.applyConnection(trx, subject, ws.organizationId, ws.id, change);
        // After the connection's webhook call: the pool's row lock is held from here to the commit only.
        if (newPool) await this.poolCheck(ws.organizationId, newPool, { id: ws.id, name: ws.name }, trx);
        await recordChange(trx, workspaceChange('update', ws, { name: ws.name, changed: Object.keys(changes).join(',') }));
        if (changes.projectId && changes.projectId !== ws.projectId) this.subjects.changedAfter(trx);
      });
    } catch (err) {
      await made.attachment?.undo();
      if (isUniqueViolation(err)) {
        throw new InvalidError(`workspace name "${changes.name}" has already been taken in organization "${ws.organizationName}"`, {
          pointer: '/data/attributes/name',
        });
      }
      throw err;
    }
    await this.released(ws, change);
    return this.load(ws.id);
  }

  /** A run on its way holds the workspace to the mode and pool it was queued for. */
  private checkNotMoving(ws: Workspace, mode: ExecutionMode, poolId: string | null): void {
    const moving = mode !== ws.executionMode || poolId !== ws.agentPoolId;
    if (moving && ws.lock?.holder.type === 'runs') {
      throw new ConflictError(`the execution mode of workspace "${ws.name}" cannot change while run ${ws.lock.holder.id} is active; wait for it to finish, or cancel it`);
    }
  }

  async delete(subject: Subject, ws: Workspace): Promise<void> {
    this.authorize(subject, 'workspace:delete', ws);
    await audited(this.db, (trx) => store.remove(trx, ws.id), workspaceChange('delete', ws, { name: ws.name }));
    await this.released(ws, { next: null });
  }

  /** Deletes the workspace unless it is locked or its state still manages resources. */
  async safeDelete(subject: Subject, ws: Workspace): Promise<void> {
    this.authorize(subject, 'workspace:delete', ws);
    if (ws.lock) throw new ConflictError(`workspace "${ws.name}" is locked and cannot be deleted; unlock it first`);
    if (this.managesResources && (await this.managesResources(ws.id))) {
      throw new ConflictError(`workspace "${ws.name}" is not safe to delete: its state still manages resources; destroy them first, or delete it with force`);
    }
    await audited(this.db, (trx) => store.remove(trx, ws.id), workspaceChange('delete', ws, { name: ws.name, safe: true }));
    await this.released(ws, { next: null });
  }

  /** The state domain tells whether a workspace's state still manages resources. */
  setResourceCheck(check: (workspaceId: string) => Promise<boolean>): void {
    this.managesResources = check;
  }

  /** The state domain tells whether the lock holder's state upload is still pending. */
  setPendingUploadCheck(check: (workspaceId: string, holder: Principal) => Promise<boolean>): void {
    this.uploadPending = check;
  }

  // ------------------------------------------------------------ locks

  async lock(subject: Subject, ws: Workspace, reason: string | null): Promise<Workspace> {
    this.authorize(subject, 'workspace:lock', ws);
    const lockChange = workspaceChange('lock', ws, { name: ws.name });
    if (!(await audited(this.db, (trx) => store.lock(trx, ws.id, principalOf(subject), reason), (locked) => (locked ? lockChange : null)))) {
      const current = await this.load(ws.id);
      throw new ConflictError(`workspace already locked (by ${describeHolder(current.lock?.holder)})`);
    }
    return this.load(ws.id);
  }

  /** Releases the caller's own lock; a lock held by somebody else needs force-unlock. */
  async unlock(subject: Subject, ws: Workspace): Promise<Workspace> {
    this.authorize(subject, 'workspace:unlock', ws);
    const holder = principalOf(subject);
    if (ws.lock && (await this.uploadPending(ws.id, holder))) {
      // Not 409: the CLI retries an unlock whose error says this, but maps any 409 to "already unlocked".
      throw new InvalidError('Unable to unlock workspace: the latest state version is still pending; retry once its upload is complete');
    }
    const unlockChange = workspaceChange('unlock', ws, { name: ws.name });
    if (!(await audited(this.db, (trx) => store.unlock(trx, ws.id, holder), (done) => (done ? unlockChange : null)))) {
      const current = await this.load(ws.id);
      if (!current.lock) throw new ConflictError('workspace already unlocked');
      throw new ConflictError(`Unable to unlock workspace. The workspace is locked by ${describeHolder(current.lock.holder)}.`);
    }
    await this.unlocked(ws.id);
    return this.load(ws.id);
  }

  async forceUnlock(subject: Subject, ws: Workspace): Promise<Workspace> {
    this.authorize(subject, 'workspace:force-unlock', ws);
    // A run's lock ends with the run: releasing it early would let the next run start beside it.
    if (ws.lock?.holder.type === 'runs') {
      throw new ConflictError(`Unable to unlock workspace. The workspace is locked by Run ${ws.lock.holder.id}; cancel or discard the run instead.`);
    }
    const unlockChange = workspaceChange('force-unlock', ws, { name: ws.name });
    if (!(await audited(this.db, (trx) => store.unlock(trx, ws.id, null), (done) => (done ? unlockChange : null)))) throw new ConflictError('workspace already unlocked');
    await this.unlocked(ws.id);
    return this.load(ws.id);
  }

  /** Runs call this to be told when a workspace a user held becomes free. */
  onUnlock(hook: (workspaceId: string) => Promise<void>): void {
    this.unlockHooks.push(hook);
  }

  private async unlocked(workspaceId: string): Promise<void> {
    for (const hook of this.unlockHooks) await hook(workspaceId);
  }

  /** The run takes the workspace lock (in the caller's transaction); false when someone else holds it. */
  async acquireForRun(trx: Db, workspaceId: string, runId: string): Promise<boolean> {
    return store.lockForRun(trx, workspaceId, runId);
  }

  /** The run gives the workspace lock back, if it holds it. */
  async releaseFromRun(trx: Db, workspaceId: string, runId: string): Promise<void> {
    await store.unlock(trx, workspaceId, { type: 'runs', id: runId, name: runId });
  }

  // ------------------------------------------------------------ remote state consumers

  /** Consumers must be other workspaces of the same organization. */
  private async checkConsumers(ws: Workspace, ids: string[]): Promise<void> {
    for (const id of ids) {
      const consumer = await store.findById(this.db, id);
      if (!consumer || consumer.organizationId !== ws.organizationId) {
        throw new InvalidError(`workspace "${id}" does not exist in organization "${ws.organizationName}"`, { pointer: '/data' });
      }
    }
  }

  async consumers(subject: Subject, ws: Workspace): Promise<Workspace[]> {
    this.authorize(subject, 'workspace:read', ws);
    const found = await Promise.all(ws.remoteStateConsumers.map((id) => store.findById(this.db, id)));
    return found.filter((w): w is Workspace => w !== null);
  }

  /** Adds, removes or replaces the workspaces allowed to read this workspace's state. */
  async changeConsumers(subject: Subject, ws: Workspace, how: 'add' | 'remove' | 'replace', ids: string[]): Promise<Workspace> {
    this.authorize(subject, 'workspace:update', ws);
    if (how !== 'remove') await this.checkConsumers(ws, ids);
    const consumersChange = { action: `workspace.${how}-remote-state-consumers`, resource: { type: 'workspaces', id: ws.id }, organizationId: ws.organizationId, details: { workspaces: ids.join(',') } };
    await audited(this.db, async (trx) => {
      if (how === 'add') await store.addConsumers(trx, ws.id, ids);
      else if (how === 'remove') await store.removeConsumers(trx, ws.id, ids);
      else await store.setConsumers(trx, ws.id, ids);
    }, consumersChange);
    return this.load(ws.id);
  }

  // ------------------------------------------------------------ tags

  /** Key-only bindings for tags named by id or name; an unknown id is a 422. */
  private async bindingsFor(db: Db, organizationId: string, refs: TagRef[]): Promise<TagBinding[]> {
    const ids = refs.flatMap((r) => ('id' in r ? [r.id] : []));
    const names = refs.flatMap((r) => ('name' in r ? [r.name] : []));
    const known = await store.findTags(db, organizationId, { ids, names: [] });
    for (const id of ids) {
      if (!known.some((t) => t.id === id)) throw new InvalidError(`tag "${id}" does not exist in this organization`, { pointer: '/data' });
    }
    return [...known.map((t) => t.name), ...names].map((key) => ({ key, value: '' }));
  }

  async addTags(subject: Subject, ws: Workspace, refs: TagRef[]): Promise<Workspace> {
    this.authorize(subject, 'workspace:manage-tags', ws);
    await this.db.transaction(async (trx) => {
      const fresh = (await this.bindingsFor(trx, ws.organizationId, refs)).filter((b) => !ws.tags.some((t) => t.key === b.key));
      await store.upsertTags(trx, ws.organizationId, ws.id, fresh, () => newId('tag'));
      await recordChange(trx, workspaceChange('add-tags', ws, { tags: fresh.map((b) => b.key).join(',') }));
    });
    return this.load(ws.id);
  }

  async removeTags(subject: Subject, ws: Workspace, refs: TagRef[]): Promise<Workspace> {
    this.authorize(subject, 'workspace:manage-tags', ws);
    const bindings = await this.bindingsFor(this.db, ws.organizationId, refs);
    const keys = bindings.map((b) => b.key);
    await audited(this.db, (trx) => store.removeTags(trx, ws.id, keys), workspaceChange('remove-tags', ws, { tags: keys.join(',') }));
    return this.load(ws.id);
  }

  /** Adds or updates key/value bindings; bindings not named stay as they are. */
  async addTagBindings(subject: Subject, ws: Workspace, bindings: TagBinding[]): Promise<Workspace> {
    this.authorize(subject, 'workspace:manage-tags', ws);
    const tagsChange = workspaceChange('add-tag-bindings', ws, { tags: bindings.map((b) => b.key).join(',') });
    await audited(this.db, (trx) => store.upsertTags(trx, ws.organizationId, ws.id, bindings, () => newId('tag')), tagsChange);
    return this.load(ws.id);
  }

  /** The organization's tags for the workspace's key-only tags, creating none. */
  async tagsOf(ws: Workspace): Promise<NamedTag[]> {
    const names = ws.tags.filter((t) => t.value === '').map((t) => t.key);
    return store.findTags(this.db, ws.organizationId, { ids: [], names });
  }
}

function describeHolder(holder: Principal | undefined): string {
  if (!holder) return 'nobody';
  const kind = { users: 'User', teams: 'Team', runs: 'Run' }[holder.type];
  return `${kind} ${holder.type === 'runs' ? holder.id : holder.name}`;
}

/** The audit trail's record of a change to a workspace. */
function workspaceChange(verb: string, ws: { id: string; organizationId: string }, details: Details): Change {
  return { action: `workspace.${verb}`, resource: { type: 'workspaces', id: ws.id }, organizationId: ws.organizationId, details };
}
