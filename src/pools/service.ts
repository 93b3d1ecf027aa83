// Rules of agent pools as users manage them: pools and the workspaces they allow, agent tokens, and
// the agents seen by a pool.
import { audited, recordChange } from '../audit/index.js';
import { authorize, isAllowed, type Action } from '../auth/authorize.js';
import type { TokenResolver } from '../auth/service.js';
import { principalOf, type Subject } from '../auth/subject.js';
import { issueToken, secretMatches, UsageRecorder } from '../auth/tokens.js';
import { isUniqueViolation, type Db } from '../db/index.js';
import { ConflictError, InvalidError, notFound, PreconditionFailedError } from '../errors.js';
import { newId } from '../ids.js';
import type { JobService } from '../jobs/index.js';
import type { Organization, OrganizationService } from '../orgs/index.js';
import { workspaceScope, type WorkspaceService } from '../workspaces/index.js';
import * as store from './store.js';
import type { Agent, AgentToken, Pool, PoolFilter, PoolRunners } from './store.js';

export type { Agent, AgentStatus, AgentToken, Pool, PoolRunners } from './store.js';

export interface PoolInput {
  name?: string;
  organizationScoped?: boolean;
  nameReleaseSeconds?: number;
  allowedWorkspaceIds?: string[];
}


/** A job an agent holds, as a pool's page shows it: its workspace's name only to who may read that workspace. */
export interface HeldJob {
  runId: string;
  phase: string;
  workspaceName: string | null;
}

/** A workspace a pool names, as a pool's page shows it. */
export interface PoolWorkspace {
  id: string;
  name: string;
}

export class PoolService implements TokenResolver {
  readonly prefix = 'at';
  private readonly usage = new UsageRecorder();
  private abandon: (runnerId: string, why: string) => Promise<void> = async () => undefined;

  constructor(
    private readonly db: Db,
    private readonly orgs: OrganizationService,
    private readonly workspaces: WorkspaceService,
    /** The jobs agents hold, for the pool page's "current job". */
    private readonly jobs: Pick<JobService, 'heldByAny'>,
  ) {}

  private authorize(subject: Subject, action: Action, organizationId: string, what: string, id: string): void {
    authorize(subject, action, { organizationId }, () => notFound(what, id));
  }

  // ------------------------------------------------------------ pools

  async list(
    subject: Subject,
    orgName: string,
    opts: Omit<PoolFilter, 'organizationId' | 'allowedWorkspaceId'> & { allowedWorkspaceName?: string },
  ): Promise<{ org: Organization; items: Pool[]; total: number }> {
    const org = await this.orgs.resolve(subject, orgName);
    this.authorize(subject, 'pool:read', org.id, 'organization', orgName);
    let allowedWorkspaceId: string | undefined;
    if (opts.allowedWorkspaceName !== undefined) {
      const ws = await this.workspaces.getByName(subject, orgName, opts.allowedWorkspaceName).catch(() => null);
      if (!ws) return { org, items: [], total: 0 };
      allowedWorkspaceId = ws.id;
    }
    return { org, ...(await store.listPools(this.db, { ...opts, organizationId: org.id, allowedWorkspaceId })) };
  }

  /** The pool, if the subject may see it. */
  async get(subject: Subject, id: string, action: Action = 'pool:read'): Promise<{ pool: Pool; org: Organization }> {
    const pool = await store.findPool(this.db, id);
    const org = pool ? await this.orgs.byId(pool.organizationId) : null;
    if (!pool || !org) throw notFound('agent pool', id);
    this.authorize(subject, action, org.id, 'agent pool', id);
    return { pool, org };
  }

  /** Internal lookup without authorization. */
  async byId(id: string): Promise<Pool | null> {
    return store.findPool(this.db, id);
  }

  /** Internal, for runs that wait for the pool: the pool, its agents by status, their job slots and the jobs they hold. */
  async runnersOf(id: string): Promise<{ pool: Pool; runners: PoolRunners } | null> {
    const pool = await store.findPool(this.db, id);
    return pool ? { pool, runners: await store.poolRunners(this.db, id) } : null;
  }

  /** Agents per pool and status, and the server agents as pool null, for /metrics. */
  async agentCounts(): Promise<Array<{ poolId: string | null; poolName: string | null; status: string; n: number }>> {
    return store.agentCounts(this.db);
  }

  /** How many otfds' server agents were heard from in the last `seconds`. */
  async liveServerAgents(seconds: number): Promise<number> {
    return store.liveServerAgents(this.db, seconds);
  }

  /** Allowed workspaces must be workspaces of the pool's organization. */
  private async checkAllowed(org: Organization, ids: string[]): Promise<void> {
    for (const id of ids) {
      const ws = await this.workspaces.byId(id);
      if (!ws || ws.organizationId !== org.id) {
        throw new InvalidError(`workspace "${id}" does not exist in organization "${org.name}"`, { pointer: '/data/relationships/allowed-workspaces' });
      }
    }
  }

  async create(subject: Subject, orgName: string, input: PoolInput & { name: string }): Promise<{ pool: Pool; org: Organization }> {
    const org = await this.orgs.resolve(subject, orgName);
    this.authorize(subject, 'pool:manage', org.id, 'organization', orgName);
    await this.checkAllowed(org, input.allowedWorkspaceIds ?? []);
    const id = newId('apool');
    try {
      await this.db.transaction(async (trx) => {
        await store.insertPool(trx, {
          id,
          organizationId: org.id,
          name: input.name,
          organizationScoped: input.organizationScoped ?? true,
          nameReleaseSeconds: input.nameReleaseSeconds ?? 0,
        });
        await store.setAllowedWorkspaces(trx, id, input.allowedWorkspaceIds ?? []);
        await recordChange(trx, { action: 'agent-pool.create', resource: { type: 'agent-pools', id }, organizationId: org.id, details: { name: input.name } });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`agent pool name "${input.name}" is already taken in organization "${org.name}"`, { pointer: '/data/attributes/name' });
      throw err;
    }
    return { pool: (await store.findPool(this.db, id))!, org };
  }

  async update(subject: Subject, id: string, input: PoolInput): Promise<{ pool: Pool; org: Organization }> {
    const { pool, org } = await this.get(subject, id, 'pool:manage');
    if (input.allowedWorkspaceIds) await this.checkAllowed(org, input.allowedWorkspaceIds);
    try {
      await this.db.transaction(async (trx) => {
        // Held to the end: an assignment of a workspace to the pool (checkAssignable) or the
        // pool becoming the organization's default (checkDefault) waits for this change, and
        // this change reads what those that came first wrote.
        if (!(await store.lockPool(trx, pool.id, 'update'))) throw notFound('agent pool', id);
        const locked = (await store.findPool(trx, pool.id))!;
        // New workspaces of the organization run on its default pool: it stays open to all of them.
        const defaultPoolId = (await this.orgs.byId(org.id))?.defaultAgentPoolId ?? null;
        if (input.organizationScoped === false && defaultPoolId === pool.id) {
          throw new ConflictError(`agent pool "${pool.name}" is the default agent pool of organization "${org.name}" and must stay organization-scoped; change the organization's default first`);
        }
        await this.checkAssignedStayAllowed(trx, subject, locked, input);
        await store.updatePool(trx, pool.id, input);
        if (input.allowedWorkspaceIds) await store.setAllowedWorkspaces(trx, pool.id, input.allowedWorkspaceIds);
        await recordChange(trx, { action: 'agent-pool.update', resource: { type: 'agent-pools', id: pool.id }, organizationId: org.id, details: { name: pool.name, changed: Object.keys(input).join(',') } });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`agent pool name "${input.name}" is already taken in organization "${org.name}"`, { pointer: '/data/attributes/name' });
      throw err;
    }
    return { pool: (await store.findPool(this.db, id))!, org };
  }

  /**
   * A pool that is not organization-scoped runs only the workspaces it allows: a change of its
   * scope or of its allowed workspaces must not leave out a workspace still assigned to it (its
   * runs would go on running on the pool's agents). Workspaces the subject may not read are
   * counted, not named. Runs under the pool's lock (update()).
   */
  private async checkAssignedStayAllowed(trx: Db, subject: Subject, pool: Pool, input: PoolInput): Promise<void> {
    if (input.organizationScoped ?? pool.organizationScoped) return;
    const allowed = new Set(input.allowedWorkspaceIds ?? pool.allowedWorkspaceIds);
    const assigned = (await store.assignedWorkspaceIds(trx, [pool.id])).get(pool.id) ?? [];
    const left = assigned.filter((wsId) => !allowed.has(wsId));
    if (left.length === 0) return;
    const readable = (await this.workspaces.byIds(left)).filter((ws) => isAllowed(subject, 'workspace:read', workspaceScope(ws)));
    const hidden = left.length - readable.length;
    const names = [...readable.map((ws) => `"${ws.name}"`), ...(hidden ? [`${hidden} more you cannot see`] : [])].join(', ');
    const them = left.length > 1 ? 'them' : 'it';
    throw new InvalidError(
      `agent pool "${pool.name}" is assigned to workspace${left.length > 1 ? 's' : ''} ${names}, which it would no longer allow: ` +
        `unassign ${them} from the pool first (another execution mode or agent pool), or keep ${them} among the pool's allowed workspaces`,
      { pointer: input.allowedWorkspaceIds !== undefined ? '/data/relationships/allowed-workspaces' : '/data/attributes/organization-scoped' },
    );
  }

  /** Deletes the pool, its tokens and agents; refused while workspaces run on it. */
  async delete(subject: Subject, id: string): Promise<void> {
    const { pool, org } = await this.get(subject, id, 'pool:manage');
    if (org.defaultAgentPoolId === pool.id) {
      throw new ConflictError(`agent pool "${pool.name}" is the default agent pool of organization "${org.name}"; change the organization's default execution mode or pool first`);
    }
    const using = await this.workspaces.usingPool(pool.id);
    if (using.length) {
      const names = using.map((w) => `"${w.name}"`).join(', ');
      throw new ConflictError(`agent pool "${pool.name}" is used by workspace${using.length > 1 ? 's' : ''} ${names}; assign ${using.length > 1 ? 'them' : 'it'} another execution mode or pool first`);
    }
    await audited(this.db, (trx) => store.deletePool(trx, pool.id), { action: 'agent-pool.delete', resource: { type: 'agent-pools', id: pool.id }, organizationId: org.id, details: { name: pool.name } });
  }

  /** Ids of the workspaces that run on each of the pools. */
  async assignedWorkspaceIds(poolIds: string[]): Promise<Map<string, string[]>> {
    return store.assignedWorkspaceIds(this.db, poolIds);
  }

  /**
   * For the orgs domain: may this pool be the organization's default, which new workspaces run on?
   * Called in the transaction that sets the default (`trx`): the pool's lock keeps it from ceasing
   * to be organization-scoped until that transaction ends.
   */
  async checkDefault(organizationId: string, poolId: string, trx: Db): Promise<void> {
    const pointer = '/data/relationships/default-agent-pool';
    await store.lockPool(trx, poolId, 'share');
    const pool = await store.findPool(trx, poolId);
    if (!pool || pool.organizationId !== organizationId) throw new InvalidError(`agent pool "${poolId}" does not exist in this organization`, { pointer });
    if (!pool.organizationScoped) {
      throw new InvalidError(`agent pool "${pool.name}" is not organization-scoped, so new workspaces may not use it: it cannot be the default agent pool`, { pointer });
    }
  }

  /**
   * For the workspaces domain: may this pool run this workspace (null: a workspace being created)?
   * Called in the transaction that assigns the workspace (`trx`): the pool's lock keeps its scope
   * and allowed workspaces as checked until that transaction ends (update() waits for it).
   */
  async checkAssignable(organizationId: string, poolId: string, ws: { id: string; name: string } | null, trx: Db): Promise<void> {
    await store.lockPool(trx, poolId, 'share');
    const pool = await store.findPool(trx, poolId);
    if (!pool || pool.organizationId !== organizationId) {
      throw new InvalidError(`agent pool "${poolId}" does not exist in this organization`, { pointer: '/data/attributes/agent-pool-id' });
    }
    if (pool.organizationScoped || (ws && pool.allowedWorkspaceIds.includes(ws.id))) return;
    const who = ws ? `workspace "${ws.name}"` : 'a new workspace';
    throw new InvalidError(
      `agent pool "${pool.name}" does not allow ${who}: it is not organization-scoped, so add the workspace to its allowed workspaces first`,
      { pointer: '/data/attributes/agent-pool-id' },
    );
  }

  // ------------------------------------------------------------ agent tokens

  async createToken(subject: Subject, poolId: string, description: string): Promise<{ token: AgentToken; secret: string }> {
    const { pool } = await this.get(subject, poolId, 'pool:manage');
    const issued = issueToken(this.prefix);
    const tokenChange = { action: 'agent-token.create', resource: { type: 'authentication-tokens', id: issued.id }, organizationId: pool.organizationId, details: { pool: pool.id, description } };
    const token = await audited(this.db, (trx) => store.insertToken(trx, { id: issued.id, poolId: pool.id, description, secretHash: issued.secretHash, createdBy: principalOf(subject) }), tokenChange);
    return { token, secret: issued.token };
  }

  async listTokens(subject: Subject, poolId: string, descending: boolean, limit: number, offset: number): Promise<{ items: AgentToken[]; total: number }> {
    const { pool } = await this.get(subject, poolId, 'pool:manage');
    return store.listTokens(this.db, pool.id, descending, limit, offset);
  }

  async getToken(subject: Subject, id: string): Promise<AgentToken> {
    return (await this.tokenWithPool(subject, id)).token;
  }

  /** Deletes the token: agents that registered with it stop at their next call. */
  async deleteToken(subject: Subject, id: string): Promise<void> {
    const { token, pool } = await this.tokenWithPool(subject, id);
    await audited(this.db, (trx) => store.deleteToken(trx, token.id), { action: 'agent-token.delete', resource: { type: 'authentication-tokens', id: token.id }, organizationId: pool.organizationId, details: { pool: pool.id } });
  }
  /** The token and its pool, once the subject may manage the pool. */
  private async tokenWithPool(subject: Subject, id: string) {
    const token = await store.findToken(this.db, id);
    if (!token) throw notFound('authentication token', id);
    const pool = await store.findPool(this.db, token.poolId);
    if (!pool) throw notFound('authentication token', id);
    this.authorize(subject, 'pool:manage', pool.organizationId, 'authentication token', id);
    return { token, pool };
  }


  async authenticateToken(id: string, secret: string): Promise<Subject | null> {
    const token = await store.findToken(this.db, id);
    if (!token || !secretMatches(secret, token.secretHash)) return null;
    const pool = await store.findPool(this.db, token.poolId);
    if (!pool) return null;
    if (this.usage.due(id)) await store.touchToken(this.db, id);
    return { kind: 'agent-token', tokenId: token.id, poolId: pool.id, organizationId: pool.organizationId };
  }

  // ------------------------------------------------------------ agents, as users see them

  async listAgents(subject: Subject, poolId: string, lastPingSince: Date | null, limit: number, offset: number): Promise<{ items: Agent[]; total: number }> {
    const { pool } = await this.get(subject, poolId);
    return store.listAgents(this.db, pool.id, lastPingSince, limit, offset);
  }

  /**
   * The jobs each of these agents of the pool holds now (claimed or running), for whoever may read
   * the pool; agents of other pools are left out. A job's workspace is named only to who may read
   * it. Two statements, whatever the number of agents and jobs.
   */
  async heldJobs(subject: Subject, poolId: string, agents: Agent[]): Promise<Map<string, HeldJob[]>> {
    const { pool } = await this.get(subject, poolId);
    const live = agents.filter((a) => a.poolId === pool.id && a.status !== 'exited' && a.status !== 'errored');
    const jobs = await this.jobs.heldByAny(live.map((a) => a.id));
    const workspaces = new Map((await this.workspaces.byIds(jobs.map((j) => j.workspaceId))).map((w) => [w.id, w]));
    const out = new Map<string, HeldJob[]>(live.map((a) => [a.id, []]));
    for (const job of jobs) {
      const ws = workspaces.get(job.workspaceId);
      const name = ws && isAllowed(subject, 'workspace:read', workspaceScope(ws)) ? ws.name : null;
      out.get(job.runnerId ?? '')?.push({ runId: job.runId, phase: job.phase, workspaceName: name });
    }
    return out;
  }

  /**
   * The workspaces a pool allows and those that run on it, for whoever may read the pool: only the
   * ones the subject may read are named; the others are counted.
   */
  async workspacesOf(subject: Subject, poolId: string): Promise<{ allowed: PoolWorkspace[]; assigned: PoolWorkspace[]; hidden: { allowed: number; assigned: number } }> {
    const { pool } = await this.get(subject, poolId);
    const assignedIds = (await store.assignedWorkspaceIds(this.db, [pool.id])).get(pool.id) ?? [];
    const found = new Map((await this.workspaces.byIds([...pool.allowedWorkspaceIds, ...assignedIds])).map((w) => [w.id, w]));
    const readable = (ids: string[]): PoolWorkspace[] =>
      ids.flatMap((id) => {
        const ws = found.get(id);
        return ws && isAllowed(subject, 'workspace:read', workspaceScope(ws)) ? [{ id: ws.id, name: ws.name }] : [];
      });
    const allowed = readable(pool.allowedWorkspaceIds);
    const assigned = readable(assignedIds);
    return { allowed, assigned, hidden: { allowed: pool.allowedWorkspaceIds.length - allowed.length, assigned: assignedIds.length - assigned.length } };
  }

  async getAgent(subject: Subject, id: string): Promise<Agent> {
    return (await this.findAgent(subject, id)).agent;
  }

  /** The agent and the organization of its pool, if the subject may see it. */
  private async findAgent(subject: Subject, id: string): Promise<{ agent: Agent; organizationId: string }> {
    const agent = await store.findAgent(this.db, id);
    const pool = agent ? await store.findPool(this.db, agent.poolId) : null;
    if (!agent || !pool) throw notFound('agent', id);
    this.authorize(subject, 'pool:read', pool.organizationId, 'agent', id);
    return { agent, organizationId: pool.organizationId };
  }

  /**
   * Removes an agent that is gone (unknown, errored or exited); an idle or busy one is a 412. The
   * jobs an unknown agent still holds are abandoned first: their runs end errored at once.
   */
  async deleteAgent(subject: Subject, id: string): Promise<void> {
    const { agent, organizationId } = await this.findAgent(subject, id);
    this.authorize(subject, 'pool:manage', organizationId, 'agent', id);
    if (agent.status === 'idle' || agent.status === 'busy') {
      throw new PreconditionFailedError(`agent "${agent.name}" is ${agent.status}; only unknown, errored or exited agents can be deleted`);
    }
    if (agent.status === 'unknown') await this.abandon(agent.id, `agent "${agent.name}" (${agent.id}) was deleted while it was unknown`);
    await store.deleteAgent(this.db, agent.id);
  }

  /** The agent protocol ends what a deleted agent held (AgentService sets it). */
  onAbandon(abandon: (runnerId: string, why: string) => Promise<void>): void {
    this.abandon = abandon;
  }
}
