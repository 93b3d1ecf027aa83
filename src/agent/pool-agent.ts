// otf-agent: a pool agent. It registers with its pool's agent token, sends heartbeats (whose
// answers may ask it to cancel a job or shut down), long-polls for jobs and runs each with the
// runner core, all over outbound HTTPS (docs/agent-protocol.md).
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { certificateError, describeCertificateError, peerCertificate } from './certificates.js';
import type { AgentConfig } from './config.js';
import { HttpClient, HttpError } from './client.js';
import { EngineResolver } from './engines.js';
import { JobApi } from './jobapi.js';
import { Outbox, type Delivery, type OutboxEntry } from './outbox.js';
import { JobFolders } from './jobdirs.js';
import type { Instruction, PollAnswer, RegisterAnswer, Registration, SyncAnswer, SyncReport } from '../protocol/agent.js';
import type { HookOptions } from './hooks.js';
import { FORCE_KILL_AFTER_MS, JobControl, runJob } from './runner.js';

export const AGENT_VERSION = '0.1.0';

/** What otfd answered to this agent's registration. */
type Registered = RegisterAnswer;

/** Why the agent stopped; fatal ones end the process with exit code 1. */
export interface Outcome {
  exitCode: 0 | 1;
  reason: string;
}

/** The server refused the agent's credentials: nothing to retry. */
class Refused extends Error {}

/** Sleeps `ms`, or less when `signal` aborts: a stopping agent does not sit out a backoff. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}

/** How long a stopping agent waits for otfd to acknowledge its deregistration. */
const DEREGISTER_TIMEOUT_MS = 750;
/** How long an agent stopped by a signal tries to deliver its outbox before it leaves the rest on disk. */
const SIGNALED_FLUSH_MS = 3000;

export class PoolAgent {
  private readonly http: HttpClient;
  private readonly engines: EngineResolver;
  private agent: Registered | null = null;
  private readonly running = new Map<string, { control: JobControl; phase: 'plan' | 'apply'; done: Promise<void> }>();
  private readonly outbox: Outbox;
  /** When otfd last answered a heartbeat or a long-poll. */
  private lastContact = Date.now();
  /** otfd's grace period, from its sync answers; until the first one, otfd's default. */
  private gracePeriodSeconds = 60;
  /** Out of touch with otfd for longer than its grace period: otfd may have written this agent's jobs off. */
  private cutOff = false;
  /** A second stop: leave without waiting for the outbox to be delivered (its files stay for the next start). */
  private leaveNow = false;
  private stopping = false;
  private ending = false;
  private jobsDone = 0;
  private idleSince = Date.now();
  private poll: AbortController | null = null;
  private folders: JobFolders | null = null;
  private reregistering: Promise<void> | null = null;
  private finished!: (outcome: Outcome) => void;
  /** Aborted by SIGTERM/SIGINT: ends registration attempts, their backoff and every wait. */
  private readonly stopped = new AbortController();
  private readonly outcome = new Promise<Outcome>((resolve) => (this.finished = resolve));

  constructor(
    private readonly config: AgentConfig,
    private readonly logger: Logger,
  ) {
    this.http = new HttpClient({ baseUrl: config.address });
    this.engines = new EngineResolver({ binsDir: config.engineBinsDir });
    this.outbox = new Outbox({ dir: path.join(config.dataDir, 'outbox'), logger, retryHours: config.stateRetryHours });
  }

  /** Runs until told to stop, or until the server refuses it; resolves with the exit code. */
  async run(): Promise<Outcome> {
    // States an earlier run of this agent could not deliver go first, in the background: they
    // need no registration (the late path takes the pool's agent token), only otfd.
    this.outbox.start((entry, state) => this.deliverLate(entry, state));
    try {
      // First, before anything can fail: the job folders a killed agent left behind go.
      this.folders = JobFolders.open('otf-agent', this.logger);
    } catch (err) {
      return this.end(1, `cannot make a folder for jobs: ${(err as Error).message}`);
    }
    try {
      await this.register();
    } catch (err) {
      if (this.stopped.signal.aborted) return this.end(0, 'stopped by signal before it registered');
      return this.end(1, err instanceof Refused ? err.message : `cannot register with ${this.config.address}: ${(err as Error).message}`);
    }
    if (this.stopped.signal.aborted) {
      // Registered just as the signal came: leave properly.
      void this.leave('stopped by signal');
      return this.outcome;
    }
    // The long-poll goes first: it takes the connection the registration left open, so that a job
    // waiting for this pool is claimed without a new TLS handshake (the heartbeat opens its own).
    void this.takeJobs();
    void this.heartbeats();
    return this.outcome;
  }

  /** SIGTERM: stop taking jobs, let running ones finish, deregister. A second one cancels them. */
  stop(): void {
    this.stopped.abort();
    if (!this.agent) {
      // Still registering: nothing to finish or to deregister; run() ends at once.
      this.stopping = true;
      return;
    }
    if (this.stopping) {
      this.logger.warn({ jobs: [...this.running.keys()] }, 'stopping now: canceling running jobs');
      for (const r of this.running.values()) r.control.cancel();
      this.leaveNow = true;
      return;
    }
    this.logger.info({ jobs: this.running.size }, 'stopping: no more jobs; waiting for running ones to finish');
    this.windDown('stopped by signal');
  }

  private async register(replacing?: Registered): Promise<void> {
    const registration: Registration = {
      name: replacing?.name ?? this.config.name ?? undefined,
      version: AGENT_VERSION,
      hostname: os.hostname(),
      os: os.platform(),
      arch: os.arch(),
      concurrency: this.config.concurrency,
      replaces: replacing ? { id: replacing.id, token: replacing.token } : undefined,
    };
    const body = JSON.stringify(registration);
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.http.request('POST', '/api/agent/register', {
          token: this.config.token,
          body,
          contentType: 'application/json',
          signal: this.stopped.signal,
          timeoutMs: 30_000,
        });
        this.agent = JSON.parse(res.body.toString('utf8')) as Registered;
        this.logger.info({ agent: this.agent.id, name: this.agent.name, pool: this.agent.pool.name }, 'registered; waiting for jobs');
        this.touched();
        return;
      } catch (err) {
        if (err instanceof HttpError && err.status === 401) throw new Refused(`the server refused the agent token: ${err.message}`);
        if (err instanceof HttpError && err.status < 500) throw new Refused(`registration refused: ${err.message}`);
        if (this.stopped.signal.aborted) throw err;
        const certificate = await this.certificateRefusal(err);
        if (certificate) throw new Refused(certificate);
        if (attempt >= 30) throw err;
        this.logger.warn({ err: (err as Error).message, attempt }, 'cannot reach otfd; retrying');
        await sleep(Math.min(10_000, 500 * attempt), this.stopped.signal);
        if (this.stopped.signal.aborted) throw err;
      }
    }
  }

  /** A certificate error behind err, told with the certificate the server presents; else null. */
  private async certificateRefusal(err: unknown): Promise<string | null> {
    const problem = certificateError(err);
    if (!problem) return null;
    const peer = await peerCertificate(this.config.address, this.stopped.signal);
    return describeCertificateError(this.config.address, problem, peer, process.env.NODE_EXTRA_CA_CERTS || undefined);
  }

  private get token(): string {
    return this.agent!.token;
  }

  /**
   * Hands otfd a state from the outbox by the late path: with the pool's agent token, which
   * outlives this agent's registrations and every job token (docs/agent-protocol.md).
   */
  private async deliverLate(entry: OutboxEntry, state: Buffer): Promise<Delivery> {
    try {
      await this.http.request('POST', `/api/agent/jobs/${encodeURIComponent(entry.jobId)}/late-state?md5=${entry.md5}`, {
        token: this.config.token,
        body: state,
        contentType: 'application/octet-stream',
      });
      return { result: 'acknowledged' };
    } catch (err) {
      if (err instanceof HttpError && err.status < 500 && err.status !== 429 && err.status !== 408) return { result: 'refused', reason: err.message };
      return { result: 'failed', reason: (err as Error).message, retryAfterMs: err instanceof HttpError ? err.retryAfterMs : null };
    }
  }

  /** otfd answered: in touch again. */
  private touched(): void {
    this.lastContact = Date.now();
    if (this.cutOff) {
      this.cutOff = false;
      this.logger.info('in touch with otfd again; taking jobs');
    }
  }

  /**
   * Out of touch for longer than the grace period, otfd may have written this agent off and handed
   * its workspaces to another runner. Until it hears otfd again it starts nothing, and stops its
   * plans (worthless now); an apply runs on, since killing it mid-way is worse, and its state
   * goes to the outbox. A heartbeat answer that says force-cancel stops the apply too.
   */
  private checkCutOff(): void {
    if (this.cutOff || Date.now() - this.lastContact <= this.gracePeriodSeconds * 1000) return;
    this.cutOff = true;
    const plans = [...this.running].filter(([, r]) => r.phase === 'plan');
    this.logger.warn(
      { silentSeconds: Math.round((Date.now() - this.lastContact) / 1000), gracePeriodSeconds: this.gracePeriodSeconds, stoppingPlans: plans.map(([id]) => id) },
      'out of touch with otfd for longer than its grace period: taking no jobs, stopping plans, letting applies finish',
    );
    for (const [, r] of plans) r.control.cancel();
  }

  /**
   * Handles a refusal shared by every agent call: 401 ends the agent, 409 means register anew. The
   * heartbeat and the long-poll may both hear the 409: they share one re-registration, and a 409
   * earned by the token of an earlier registration needs none.
   */
  private async refused(err: unknown, token: string): Promise<boolean> {
    const certificate = await this.certificateRefusal(err);
    if (certificate) {
      // otfd's certificate changed under a running agent: retrying will not change it back.
      this.end(1, certificate);
      return true;
    }
    if (!(err instanceof HttpError)) return false;
    if (err.status === 401) {
      this.end(1, `the server refused the agent's credentials: ${err.message}`);
      return true;
    }
    if (err.status === 409) {
      if (token !== this.token) return true;
      this.reregistering ??= (async () => {
        this.logger.warn({ reason: err.message }, 'otfd marked this agent errored; registering again');
        try {
          await this.register(this.agent!);
        } catch (again) {
          // Stopped meanwhile: leave() ends the agent.
          if (this.stopped.signal.aborted && !(again instanceof Refused)) return;
          this.end(1, again instanceof Refused ? again.message : `cannot register again: ${(again as Error).message}`);
        }
      })().finally(() => (this.reregistering = null));
      await this.reregistering;
      return true;
    }
    return false;
  }

  private async heartbeats(): Promise<void> {
    // Jobs still finishing after a SIGTERM keep the agent alive in otfd's eyes.
    while (!this.stopping || this.running.size > 0) {
      let next = this.agent!.heartbeatSeconds;
      const token = this.token;
      this.checkCutOff();
      try {
        const answer = await this.http.json<SyncAnswer>('POST', '/api/agent/sync', {
          token,
          json: { status: this.running.size ? 'busy' : 'idle', jobs: [...this.running.keys()] } satisfies SyncReport,
          timeoutMs: 30_000,
        });
        next = answer.heartbeatSeconds;
        if (answer.gracePeriodSeconds) this.gracePeriodSeconds = answer.gracePeriodSeconds;
        this.touched();
        for (const i of answer.instructions) this.obey(i);
      } catch (err) {
        if (await this.refused(err, token)) {
          if (this.stopping) return;
          continue;
        }
        // A 503 is otfd itself saying its database is away: by its own rule it then counts nobody's
        // silence, so this agent is not cut off either and its plans run on.
        if (err instanceof HttpError && err.status === 503) this.touched();
        this.logger.warn({ err: (err as Error).message }, 'heartbeat failed; retrying');
      }
      this.checkIdle();
      await sleep(next * 1000);
    }
  }

  private obey(i: Instruction): void {
    const job = i.job ? this.running.get(i.job) : undefined;
    if (i.action === 'cancel' && job) job.control.cancel();
    if (i.action === 'force-cancel' && job) job.control.forceCancel();
    if (i.action === 'shutdown' && !this.stopping) {
      this.logger.info({ reason: i.reason }, 'otfd asked this agent to shut down');
      this.stop();
    }
  }

  private checkIdle(): void {
    const timeout = this.config.idleTimeoutSeconds;
    if (timeout > 0 && !this.stopping && this.running.size === 0 && Date.now() - this.idleSince > timeout * 1000) {
      this.logger.info({ idleSeconds: timeout }, 'idle timeout reached');
      this.windDown(`no job for ${timeout} s`);
    }
  }

  private wantsJobs(): boolean {
    if (this.stopping || this.cutOff) return false;
    if (this.config.disconnectAfterJob && this.jobsDone + this.running.size >= 1) return false;
    return this.running.size < this.config.concurrency;
  }

  private async takeJobs(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      if (!this.wantsJobs()) {
        await sleep(100);
        continue;
      }
      this.poll = new AbortController();
      const token = this.token;
      try {
        const wait = this.config.idleTimeoutSeconds > 0 ? Math.min(30, Math.max(1, this.config.idleTimeoutSeconds)) : 30;
        const answer = await this.http.json<PollAnswer>('GET', `/api/agent/jobs?wait=${wait}`, { token, signal: this.poll.signal, timeoutMs: 90_000 });
        failures = 0;
        this.touched();
        for (const s of answer.signals) this.obey(s);
        for (const job of answer.jobs) this.execute(job.id, job.token, job.phase);
      } catch (err) {
        if (this.stopping) return;
        if (await this.refused(err, token)) continue;
        failures++;
        this.logger.warn({ err: (err as Error).message }, 'waiting for jobs failed; retrying');
        await sleep(Math.min(10_000, 500 * 2 ** failures), this.stopped.signal);
      } finally {
        this.poll = null;
      }
      this.checkIdle();
    }
  }

  /** The agent hooks of --hooks-dir, run by every job (src/agent/hooks.ts). */
  private get hooks(): HookOptions {
    return { dir: this.config.hooksDir, timeoutMs: this.config.hookTimeoutMs };
  }

  private execute(jobId: string, token: string, phase: 'plan' | 'apply'): void {
    const control = new JobControl();
    this.logger.info({ job: jobId }, 'running job');
    const caFiles = process.env.NODE_EXTRA_CA_CERTS ? [process.env.NODE_EXTRA_CA_CERTS] : [];
    const done = runJob(new JobApi(this.http, jobId, token), control, { engines: this.engines, workRoot: this.folders!.dir, logger: this.logger, caFiles, outbox: this.outbox, hooks: this.hooks })
      .then(() => undefined)
      .catch((err: Error) => this.logger.error({ err: err.message, job: jobId }, 'job failed to execute'))
      .finally(() => {
        this.running.delete(jobId);
        this.jobsDone++;
        this.idleSince = Date.now();
        if (this.config.disconnectAfterJob && !this.stopping) this.windDown('ran its one job (--disconnect-after-job)');
      });
    this.running.set(jobId, { control, phase, done });
  }

  /** Takes no more jobs, and leaves (exit code 0) once the running ones are done. */
  private windDown(reason: string): void {
    this.stopping = true;
    this.poll?.abort();
    void this.leave(reason);
  }

  /** Waits for running jobs, deregisters, and ends with exit code 0. */
  private async leave(reason: string): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.done));
    // An agent that leaves (often for good: --disconnect-after-job, a container) first hands otfd
    // the states it still holds; a second SIGTERM leaves them on disk for the next start.
    // Stopped by a signal, an operator wants the agent gone: it tries for a few seconds only, and
    // what is left stays on disk for the next start.
    const deadline = this.stopped.signal.aborted ? Date.now() + SIGNALED_FLUSH_MS : Infinity;
    if (this.outbox.pending() && !this.leaveNow) {
      this.logger.info({ outbox: this.outbox.dir }, 'delivering the states in the outbox before leaving (SIGTERM again to leave them for the next start)');
      while (this.outbox.pending() && !this.leaveNow && Date.now() < deadline) await sleep(100);
      if (this.outbox.pending()) this.logger.warn({ outbox: this.outbox.dir }, 'leaving undelivered states in the outbox for the next start');
    }
    try {
      // Short: a stopping agent ends within a second even when otfd is out of reach; an agent that
      // could not deregister is written off after the grace period instead.
      await this.http.request('POST', '/api/agent/deregister', { token: this.token, body: '{}', contentType: 'application/json', timeoutMs: DEREGISTER_TIMEOUT_MS });
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not deregister');
    }
    this.end(0, reason);
  }

  private end(exitCode: 0 | 1, reason: string): Promise<Outcome> {
    if (this.ending) return this.outcome;
    this.ending = true;
    this.stopping = true;
    this.poll?.abort();
    void (async () => {
      // Refused mid-job: the engines must not outlive the agent, but an apply stopped now still
      // leaves a state, which must reach the outbox before its job folder goes.
      const running = [...this.running.values()];
      for (const r of running) r.control.forceCancel();
      await Promise.race([Promise.all(running.map((r) => r.done)), sleep(FORCE_KILL_AFTER_MS + 5_000)]);
      await this.outbox.stop();
      this.folders?.close();
      this.finished({ exitCode, reason });
      this.http.close();
    })();
    return this.outcome;
  }
}
