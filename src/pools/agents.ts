// The agent protocol's rules (docs/agent-protocol.md): registration, heartbeats and their
// instructions, the jobs long-poll, deregistration, and the health of agents: silent ones become
// unknown, then errored, and the runs they held end errored instead of waiting for hours.
import { audited, recordChange } from '../audit/index.js';
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import type { TokenResolver } from '../auth/service.js';
import type { Subject } from '../auth/subject.js';
import { secretMatches, sha256 } from '../auth/tokens.js';
import { databaseTrouble, type Db } from '../db/index.js';
import type { Listener } from '../db/notify.js';
import { ConflictError, InvalidError, NotFoundError, UnauthorizedError } from '../errors.js';
import { newId } from '../ids.js';
import { JOBS_CHANNEL, SIGNALS_CHANNEL, type Job, type JobService } from '../jobs/index.js';
import { AGENT_NAME, AGENT_NAME_RULE, type Instruction, type PollAnswer, type Registration as RegisterBody, type SyncAnswer } from '../protocol/agent.js';
import * as store from './store.js';
import type { Agent, AgentStatus, Pool } from './store.js';

/** A registration as the service takes it: the request body, its concurrency defaulted. */
export type Registration = Omit<RegisterBody, 'concurrency'> & { concurrency: number };

export interface AgentServiceOptions {
  heartbeatSeconds: number;
  gracePeriodSeconds: number;
}

type WakeReason = { kind: 'job' } | { kind: 'signal'; signal: Instruction } | { kind: 'timeout' };

interface Waiter {
  agentId: string;
  /** False for an agent with no free slot: it waits for signals only. */
  wantsJobs: boolean;
  wake: (reason: WakeReason) => void;
}

/** A claimed job not started this long after it was handed out, and not reported, goes back to the queue. */
const UNSTARTED_SECONDS = 15;
/** The longest a jobs long-poll may wait. */
export const MAX_WAIT_SECONDS = 60;

/**
 * The sweep's decision: a runner whose last contact is older than the returned instant has been
 * silent for `seconds` that this otfd could have heard. Silence is counted from the later of the
 * last contact and `healthySince` (when this otfd started, or last got its database back): while
 * otfd could not reach PostgreSQL no ping could be recorded, so that time is not the runner's
 * fault. Null when this otfd has not been able to hear for `seconds` yet (or is not able now):
 * nobody is silent.
 */
export function silentBefore(now: Date, healthySince: Date | null, seconds: number): Date | null {
  if (!healthySince) return null;
  const cutoff = new Date(now.getTime() - seconds * 1000);
  return healthySince.getTime() > cutoff.getTime() ? null : cutoff;
}

/** What changed of an agent: its status or the jobs it holds (see AgentService.onChange). */
export interface AgentChange {
  poolId: string;
  agentId: string;
  status: AgentStatus;
}

export class AgentService implements TokenResolver {
  readonly prefix = 'agent';
  /** Told of every agent change (the web UI's live pool pages); never awaited. */
  private readonly changeHooks: Array<(change: AgentChange) => void> = [];
  /** Long-polls waiting for a job, per pool, oldest first. */
  private readonly waiters = new Map<string, Waiter[]>();
  private sweeper: NodeJS.Timeout | null = null;
  /** Set when otfd begins to stop: long-polls hand out no more jobs and answer at once. */
  private draining = false;
  private sweeping = false;
  private unsubscribe: Array<() => void> = [];
  /**
   * Since when (on the database's clock) this otfd has been able to hear runners: its start, or
   * the return of its database after an outage. Null while the database is known unreachable.
   */
  private healthySince: Date | null = null;
  /**
   * The jobs each agent held at its last contact with this otfd: a heartbeat that changes neither
   * the agent's status nor its jobs tells nobody (an agent polls every few seconds).
   */
  private readonly heldAtContact = new Map<string, string>();
  /** The server agents living in this otfd: never written off by it while it runs. */
  private readonly ownServerAgents = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly jobs: JobService,
    private readonly listener: Listener,
    private readonly logger: Logger,
    private readonly opts: AgentServiceOptions,
  ) {}

  /**
   * Calls `hook` after each change of an agent: registration, a heartbeat that changes its status
   * (idle or busy) or the jobs it holds, a job claimed, deregistration, unknown, errored. The hook is called synchronously and must not wait
   * for anything: an agent's request is never slowed down by who listens.
   */
  onChange(hook: (change: AgentChange) => void): void {
    this.changeHooks.push(hook);
  }

  private changed(poolId: string, agentId: string, status: AgentStatus): void {
    if (status !== 'idle' && status !== 'busy') this.heldAtContact.delete(agentId);
    for (const hook of this.changeHooks) {
      try {
        hook({ poolId, agentId, status });
      } catch (err) {
        this.logger.warn({ err, agent: agentId }, 'an agent change hook failed');
      }
    }
  }

  get heartbeatSeconds(): number {
    return this.opts.heartbeatSeconds;
  }

  async start(): Promise<void> {
    this.healthySince = await store.databaseNow(this.db);
    // The notification connection is the first to hear that PostgreSQL went away, even between
    // two sweeps; the next sweep that reaches the database again restarts the count.
    this.listener.watchConnection((connected) => {
      if (!connected && this.healthySince) {
        this.healthySince = null;
        this.logger.warn('lost the database: runner silence is not counted until it is back');
      }
    });
    this.unsubscribe.push(
      // One queued job wakes one waiting agent of its pool (on each otfd): no thundering herd.
      await this.listener.on(JOBS_CHANNEL, (poolId) => this.waiters.get(poolId)?.find((w) => w.wantsJobs)?.wake({ kind: 'job' })),
      await this.listener.on(SIGNALS_CHANNEL, (jobId) => void this.deliverSignal(jobId)),
    );
    this.sweeper = setInterval(() => {
      // A sweep waiting on an unreachable database is not joined by another every heartbeat.
      if (this.sweeping) return;
      this.sweeping = true;
      void this.sweep()
        .catch((err) => this.logger.error({ err }, 'agent health sweep failed'))
        .finally(() => (this.sweeping = false));
    }, this.opts.heartbeatSeconds * 1000);
  }

  /**
   * otfd is stopping: every held long-poll answers now with no job, and later ones answer at once,
   * so agents move to another otfd instead of waiting on this one or being handed a job it may not see through.
   */
  drain(): void {
    this.draining = true;
    // Agents cannot reach an otfd that stopped listening: their silence from now on says nothing
    // about them, so this otfd judges nobody any more (the others, or the next start, do).
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const list of this.waiters.values()) for (const w of [...list]) w.wake({ kind: 'timeout' });
  }

  async stop(): Promise<void> {
    this.drain();
    for (const u of this.unsubscribe) u();
  }

  // ------------------------------------------------------------ registration

  async register(subject: Subject, input: Registration, ipAddress: string | null): Promise<{ agent: Agent; token: string; pool: Pool }> {
    if (subject.kind !== 'agent-token') throw new UnauthorizedError('registering an agent needs an agent token of its pool');
    const name = input.name ?? `agent-${crypto.randomBytes(6).toString('hex')}`;
    if (!AGENT_NAME.test(name)) {
      throw new InvalidError(`agent name "${name}" ${AGENT_NAME_RULE}`, { pointer: '/name' });
    }
    const id = newId('agent');
    const secret = crypto.randomBytes(32).toString('base64url');
    const { agent, pool } = await this.db.transaction(async (trx) => {
      // Names are checked and taken one registration at a time per pool.
      await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [subject.poolId]);
      const pool = (await store.findPool(trx, subject.poolId))!;
      const replaced = input.replaces ? await this.replaceable(trx, subject.poolId, input.replaces) : null;
      const holders = (await store.holdersOfName(trx, pool.id, name, pool.nameReleaseSeconds)).filter((a) => a.id !== replaced?.id);
      if (holders.length) {
        const holder = holders[0];
        const why = store.LIVE_STATUSES.includes(holder.status)
          ? `is in use by live agent ${holder.id} (${holder.status})`
          : `is reserved until ${new Date(holder.statusChangedAt.getTime() + pool.nameReleaseSeconds * 1000).toISOString()} (agent ${holder.id} ${holder.status})`;
        throw new ConflictError(`agent name "${name}" ${why} in pool "${pool.name}"`, { pointer: '/name' });
      }
      if (replaced) await store.setAgentStatus(trx, replaced.id, 'exited');
      const inserted = await store.insertAgent(trx, {
        id,
        poolId: pool.id,
        tokenId: subject.tokenId,
        name,
        accessHash: sha256(secret),
        ipAddress,
        version: input.version ?? null,
        hostname: input.hostname ?? null,
        os: input.os ?? null,
        arch: input.arch ?? null,
        concurrency: input.concurrency,
      });
      await recordChange(trx, { action: 'agent.register', resource: { type: 'agents', id }, organizationId: pool.organizationId, details: { pool: pool.id, name, replaces: replaced?.id ?? null } });
      return { agent: inserted, pool };
    });
    this.logger.info({ agent: agent.id, name: agent.name, pool: agent.poolId }, 'agent registered');
    if (input.replaces) this.changed(pool.id, input.replaces.id, 'exited');
    this.changed(pool.id, agent.id, agent.status);
    return { agent, token: `${id}.${secret}`, pool };
  }

  /** The earlier agent a re-registration names, if its token proves it is that agent. */
  private async replaceable(db: Db, poolId: string, replaces: { id: string; token: string }): Promise<Agent | null> {
    const found = await store.agentForAuth(db, replaces.id);
    const secret = replaces.token.startsWith(`${replaces.id}.`) ? replaces.token.slice(replaces.id.length + 1) : '';
    if (!found || found.agent.poolId !== poolId || !secretMatches(secret, found.accessHash)) {
      throw new InvalidError('"replaces" must name an agent of this pool with its access token', { pointer: '/replaces' });
    }
    return found.agent;
  }

  async authenticateToken(id: string, secret: string): Promise<Subject | null> {
    const found = await store.agentForAuth(this.db, id);
    if (!found || !secretMatches(secret, found.accessHash)) return null;
    if (!found.tokenExists) {
      // The agent stops when it hears this: it has exited, not gone silent. Its jobs are written
      // off first, as the sweep would, so that no exited agent is seen holding a run.
      if (store.LIVE_STATUSES.includes(found.agent.status)) await this.revoked(found.agent);
      throw new UnauthorizedError(`the agent token agent "${found.agent.name}" registered with has been deleted; the agent must stop`);
    }
    if (found.agent.status === 'exited') throw new UnauthorizedError(`agent "${found.agent.name}" has deregistered; register again`);
    return { kind: 'agent', agentId: found.agent.id, poolId: found.agent.poolId, organizationId: found.organizationId };
  }

  /** An agent whose agent token was deleted is refused, and so stops: it is listed exited. */
  private async revoked(agent: Agent): Promise<void> {
    await this.abandon(agent.id, `the agent token agent "${agent.name}" (${agent.id}) registered with was deleted`);
    if (await store.markExited(this.db, agent.id)) {
      this.changed(agent.poolId, agent.id, 'exited');
      this.logger.info({ agent: agent.id, name: agent.name }, 'agent refused: its agent token was deleted; marked exited');
    }
  }

  private async agentOf(subject: Subject): Promise<Agent> {
    if (subject.kind !== 'agent') throw new UnauthorizedError('this endpoint needs the access token an agent got when it registered');
    const agent = await store.findAgent(this.db, subject.agentId);
    if (!agent) throw new NotFoundError(`agent ${subject.agentId} not found`);
    if (agent.status === 'errored') {
      throw new ConflictError(`agent "${agent.name}" was marked errored after ${this.opts.gracePeriodSeconds} s without contact; register again`);
    }
    return agent;
  }

  /** Contact: last-ping-at, and idle or busy from the jobs the agent holds. */
  private async contact(agent: Agent): Promise<Job[]> {
    const held = await this.jobs.heldBy(agent.id);
    const status = held.length > 0 ? 'busy' : 'idle';
    await store.touchAgent(this.db, agent.id, status);
    const jobs = held.map((j) => j.id).join(',');
    if (agent.status !== status || this.heldAtContact.get(agent.id) !== jobs) this.changed(agent.poolId, agent.id, status);
    this.heldAtContact.set(agent.id, jobs);
    return held;
  }

  // ------------------------------------------------------------ heartbeats

  async sync(subject: Subject, reported: string[]): Promise<SyncAnswer> {
    const agent = await this.agentOf(subject);
    let held = await this.contact(agent);
    // A job handed out whose answer never reached the agent: back to the queue.
    const lost = held.some((j) => j.status === 'claimed' && !reported.includes(j.id) && Date.now() - (j.claimedAt?.getTime() ?? 0) > UNSTARTED_SECONDS * 1000);
    if (lost && (await this.jobs.requeue(agent.id, { olderThanSeconds: UNSTARTED_SECONDS, except: reported }))) held = await this.contact(agent);
    const instructions: Instruction[] = [];
    const heldIds = new Set(held.map((j) => j.id));
    for (const job of held) {
      if (job.forceCancelRequested) instructions.push({ action: 'force-cancel', job: job.id });
      else if (job.cancelRequested) instructions.push({ action: 'cancel', job: job.id });
    }
    // Jobs the agent runs that otfd has ended (force-canceled, or failed when the agent was lost).
    for (const id of reported) if (!heldIds.has(id)) instructions.push({ action: 'force-cancel', job: id });
    return { heartbeatSeconds: this.opts.heartbeatSeconds, gracePeriodSeconds: this.opts.gracePeriodSeconds, instructions };
  }

  // ------------------------------------------------------------ the jobs long-poll

  /**
   * Hands out queued jobs of the agent's pool, up to its free slots, as soon as there are any;
   * else waits until one is queued, a job it holds is asked to cancel, `waitSeconds` pass, or the
   * agent hangs up.
   */
  async poll(subject: Subject, waitSeconds: number, hungUp: AbortSignal): Promise<PollAnswer> {
    const agent = await this.agentOf(subject);
    if (this.draining) return { jobs: [], signals: [] };
    const deadline = Date.now() + Math.min(waitSeconds, MAX_WAIT_SECONDS) * 1000;
    // The free slots are counted once; a wake-up for a job goes straight to claiming.
    const free = agent.concurrency - (await this.contact(agent)).length;
    for (;;) {
      if (this.draining) return { jobs: [], signals: [] };
      if (free > 0) {
        const claimed = await this.jobs.claimMany(agent.id, agent.poolId, free);
        if (claimed.length) {
          await store.touchAgent(this.db, agent.id, 'busy');
          this.changed(agent.poolId, agent.id, 'busy');
          return { jobs: claimed.map(({ job, token }) => ({ id: job.id, token, phase: job.phase, run: job.runId })), signals: [] };
        }
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0 || hungUp.aborted) return { jobs: [], signals: [] };
      const reason = await this.waitFor(agent, remaining, free > 0, hungUp);
      if (reason.kind === 'signal') return { jobs: [], signals: [reason.signal] };
      if (reason.kind === 'timeout') return { jobs: [], signals: [] };
    }
  }

  /** Waits for a job (only when the agent has a free slot), a cancel signal, the deadline or a hang-up. */
  private waitFor(agent: Agent, ms: number, wantsJobs: boolean, hungUp: AbortSignal): Promise<WakeReason> {
    return new Promise((resolve) => {
      if (this.draining) return resolve({ kind: 'timeout' });
      const list = this.waiters.get(agent.poolId) ?? [];
      this.waiters.set(agent.poolId, list);
      const waiter: Waiter = {
        agentId: agent.id,
        wantsJobs,
        wake: (reason) => {
          clearTimeout(timer);
          hungUp.removeEventListener('abort', onAbort);
          const i = list.indexOf(waiter);
          if (i >= 0) list.splice(i, 1);
          resolve(reason);
        },
      };
      const onAbort = () => waiter.wake({ kind: 'timeout' });
      const timer = setTimeout(() => waiter.wake({ kind: 'timeout' }), ms);
      hungUp.addEventListener('abort', onAbort);
      list.push(waiter);
    });
  }

  /** A cancel of a job reaches the long-poll of the agent running it at once. */
  private async deliverSignal(jobId: string): Promise<void> {
    const job = await this.jobs.get(jobId);
    if (!job?.runnerId) return;
    for (const list of this.waiters.values()) {
      const waiter = list.find((w) => w.agentId === job.runnerId);
      if (waiter) waiter.wake({ kind: 'signal', signal: { action: job.forceCancelRequested ? 'force-cancel' : 'cancel', job: job.id } });
    }
  }

  // ------------------------------------------------------------ leaving

  async deregister(subject: Subject): Promise<void> {
    const agent = await this.agentOf(subject);
    await this.jobs.requeue(agent.id);
    const organizationId = subject.kind === 'agent' ? subject.organizationId : null;
    await audited(this.db, (trx) => store.setAgentStatus(trx, agent.id, 'exited'), { action: 'agent.deregister', resource: { type: 'agents', id: agent.id }, organizationId, details: { pool: agent.poolId, name: agent.name } });
    this.changed(agent.poolId, agent.id, 'exited');
    this.logger.info({ agent: agent.id, name: agent.name }, 'agent deregistered');
  }

  // ------------------------------------------------------------ health

  /**
   * Agents silent for 3 heartbeats are unknown; silent for the grace period, errored: jobs they
   * claimed go back to the queue, and the runs of jobs they were running end errored. Silence is
   * counted only while this otfd could hear (see silentBefore), and never against its own server
   * agents. A runner is written off only once its work is: a sweep cut short (otfd stopped) is
   * finished by the next one, and nobody sees an errored agent still holding a run. Sweeps of
   * several otfds may overlap; abandoning twice does nothing more. Each otfd counts from its own
   * healthy-since: an outage of PostgreSQL is seen by all of them, and an otfd that just started
   * waits a whole grace period before judging runners that may have been talking to it.
   */
  async sweep(): Promise<void> {
    let now: Date;
    try {
      now = await store.databaseNow(this.db);
    } catch (err) {
      if (this.healthySince) this.logger.warn('lost the database: runner silence is not counted until it is back');
      this.healthySince = null;
      throw err;
    }
    if (!this.healthySince) {
      this.healthySince = now;
      this.logger.info({ graceSeconds: this.opts.gracePeriodSeconds }, 'database reachable again: runners are judged on their silence from now on');
      return;
    }
    try {
      await this.writeOffSilent(now, this.healthySince);
    } catch (err) {
      // The database went away mid-way: the count starts again when it is back. Any other
      // failure (one run that cannot be failed, say) must not stop write-offs for good.
      if (databaseTrouble(err) === 'unreachable') this.healthySince = null;
      throw err;
    }
  }

  private async writeOffSilent(now: Date, healthySince: Date): Promise<void> {
    const grace = this.opts.gracePeriodSeconds;
    const unknownBefore = silentBefore(now, healthySince, 3 * this.opts.heartbeatSeconds);
    if (unknownBefore) for (const a of await store.markUnknown(this.db, unknownBefore)) this.changed(a.poolId, a.id, 'unknown');
    const erroredBefore = silentBefore(now, healthySince, grace);
    if (!erroredBefore) return;
    for (const agent of await store.silentAgents(this.db, erroredBefore)) {
      await this.abandon(agent.id, `agent "${agent.name}" (${agent.id}) stopped responding for ${grace} s`);
      if (await store.markErrored(this.db, agent.id, erroredBefore)) this.changed(agent.poolId, agent.id, 'errored');
    }
    for (const id of await store.silentServerAgents(this.db, erroredBefore, [...this.ownServerAgents])) {
      await this.abandon(id, `the otfd instance whose server agent (${id}) was running it stopped`);
      await store.deleteSilentServerAgent(this.db, id, erroredBefore);
    }
  }

  /** The runner is gone: the jobs domain requeues what it claimed and fails the runs it was running. */
  async abandon(runnerId: string, why: string): Promise<void> {
    await this.jobs.abandon(runnerId, why);
  }

  /** A server agent (inside an otfd) is alive; one silent for the grace period is abandoned. */
  async serverAgentAlive(id: string): Promise<void> {
    this.ownServerAgents.add(id);
    await store.touchServerAgent(this.db, id);
  }

  /** A server agent stopped cleanly: it holds no job any more. */
  async serverAgentGone(id: string): Promise<void> {
    this.ownServerAgents.delete(id);
    await this.jobs.requeue(id);
    await store.deleteServerAgent(this.db, id);
  }
}
