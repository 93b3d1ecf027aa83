// The server agent: the runner inside otfd that executes the jobs of remote-mode workspaces,
// --concurrency at a time. It claims jobs straight from the queue, is woken by NOTIFY the moment
// one is queued, and talks to otfd like any runner: over HTTP, with each job's token, through a
// private Unix socket of this otfd. It is a part of otfd (it claims from the jobs table), built on
// the runner core of src/agent/ that otf-agent uses too.
import crypto from 'node:crypto';
import os from 'node:os';
import type { Listener } from '../db/notify.js';
import type { Logger } from '../logger.js';
import { HttpClient, type Transport } from '../agent/client.js';
import { JobApi } from '../agent/jobapi.js';
import { JobControl, runJob, type RunnerOptions } from '../agent/runner.js';
import { JOBS_CHANNEL, SIGNALS_CHANNEL, type Job, type JobService } from './service.js';

export interface ServerAgentOptions {
  jobs: JobService;
  listener: Listener;
  concurrency: number;
  transport: Transport;
  runner: RunnerOptions;
  logger: Logger;
  /** Ends a run whose job could not be executed at all. */
  failRun: (runId: string, message: string) => Promise<void>;
  /** Tells otfd this server agent is alive (every heartbeat), and that it is gone (on stop). */
  alive: (id: string) => Promise<void>;
  gone: (id: string) => Promise<void>;
  heartbeatSeconds: number;
}

/** How often running jobs are checked for cancel requests a notification may have missed. */
const SIGNAL_POLL_MS = 5000;
/** How long to wait for a job to be claimed before looking again without a notification. */
const IDLE_POLL_MS = 5000;

export class ServerAgent {
  /** Unique per otfd process: a restarted otfd does not inherit the jobs of the one before. */
  readonly id = `server-${os.hostname()}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  private readonly running = new Map<string, { job: Job; control: JobControl; done: Promise<void> }>();
  private readonly http: HttpClient;
  private stopping = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private unsubscribe: Array<() => void> = [];
  private signalTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private cancelWait: (() => void) | null = null;
  private cancelRequested = false;
  private stopped: Promise<void> | null = null;

  constructor(private readonly opts: ServerAgentOptions) {
    this.http = new HttpClient(opts.transport);
  }

  async start(): Promise<void> {
    this.unsubscribe.push(
      await this.opts.listener.on(JOBS_CHANNEL, (pool) => {
        if (pool === 'server') this.wake?.();
      }),
      await this.opts.listener.on(SIGNALS_CHANNEL, (jobId) => {
        if (this.running.has(jobId)) void this.checkSignals(jobId);
      }),
    );
    this.signalTimer = setInterval(() => {
      for (const id of this.running.keys()) void this.checkSignals(id);
    }, SIGNAL_POLL_MS);
    await this.opts.alive(this.id);
    this.heartbeatTimer = setInterval(
      () => void this.opts.alive(this.id).catch((err) => this.opts.logger.warn({ err }, 'server agent heartbeat failed')),
      this.opts.heartbeatSeconds * 1000,
    );
    this.loop = this.claimLoop();
  }

  private async claimLoop(): Promise<void> {
    while (!this.stopping) {
      while (!this.stopping && this.running.size < this.opts.concurrency) {
        let claimed;
        try {
          claimed = await this.opts.jobs.claim(this.id, null);
        } catch (err) {
          this.opts.logger.error({ err }, 'server agent failed to claim a job');
          break;
        }
        if (!claimed) break;
        this.execute(claimed.job, claimed.token);
      }
      if (this.stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, IDLE_POLL_MS);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private execute(job: Job, token: string): void {
    const control = new JobControl();
    const api = new JobApi(this.http, job.id, token);
    const done = runJob(api, control, this.opts.runner)
      .then(() => undefined)
      .catch(async (err: Error) => {
        this.opts.logger.error({ err, job: job.id, run: job.runId }, 'job failed to execute');
        await this.opts.failRun(job.runId, `the server agent could not execute the ${job.phase}: ${err.message}`).catch(() => undefined);
      })
      .finally(() => {
        this.running.delete(job.id);
        this.wake?.();
      });
    this.running.set(job.id, { job, control, done });
  }

  /** Applies a cancel or force-cancel stored on the job row. */
  private async checkSignals(jobId: string): Promise<void> {
    const entry = this.running.get(jobId);
    if (!entry) return;
    const job = await this.opts.jobs.get(jobId).catch(() => null);
    if (!job) return;
    if (job.forceCancelRequested) entry.control.forceCancel();
    else if (job.cancelRequested) entry.control.cancel();
  }

  /**
   * Stops for good: claims nothing more at once, lets running jobs finish for up to `drainMs` (or
   * until cancelNow), then asks what is left to cancel (SIGINT) and kills it after `killAfterMs`.
   * Cancels and heartbeats keep flowing meanwhile, so a draining job is neither written off nor deaf.
   */
  stop(drainMs = 0, killAfterMs = 10_000): Promise<void> {
    return (this.stopped ??= this.stopNow(drainMs, killAfterMs));
  }

  private async stopNow(drainMs: number, killAfterMs: number): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    if (this.running.size > 0 && !this.cancelRequested) {
      this.opts.logger.info({ jobs: [...this.running.keys()], drainMs }, 'server agent: letting running jobs finish before stopping');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        this.cancelWait = () => {
          clearTimeout(timer);
          resolve();
        };
        void Promise.all([...this.running.values()].map((r) => r.done)).then(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const running = [...this.running.values()];
    if (running.length) this.opts.logger.warn({ jobs: running.map((r) => r.job.id) }, 'server agent: canceling the jobs still running');
    for (const r of running) r.control.cancel();
    const timer = setTimeout(() => running.forEach((r) => r.control.killNow()), killAfterMs);
    await Promise.all(running.map((r) => r.done));
    clearTimeout(timer);
    for (const u of this.unsubscribe) u();
    if (this.signalTimer) clearInterval(this.signalTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await this.opts.gone(this.id).catch((err) => this.opts.logger.warn({ err }, 'server agent could not sign off'));
    this.http.close();
  }

  /** A stop waiting for running jobs to finish cancels them now instead (a second SIGTERM). */
  cancelNow(): void {
    this.cancelRequested = true;
    this.cancelWait?.();
  }
}
