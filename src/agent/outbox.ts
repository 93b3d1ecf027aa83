// A runner's outbox of states: every state an apply leaves behind is written here, durably, before
// the runner does anything else with it, and stays until otfd has acknowledged it. The job's own
// folder is temporary and its token dies with the job; the outbox outlives both, and the agent
// process too: a restarted agent delivers what it finds here (docs/agent-protocol.md, "Late
// states").
//
// An entry is two files named after its job: <job>.tfstate (the state as the engine wrote it) and
// <job>.json (the sidecar below). Each is written to a temporary name, fsynced and renamed, the
// sidecar last, so an entry with a sidecar is whole; a state file without one is a write cut short
// and is kept for an operator, never delivered.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { backoffMs } from './client.js';

export interface OutboxEntry {
  jobId: string;
  runId: string;
  workspaceId: string;
  /** From the state's first bytes, for people reading the sidecar and the logs; null if not found there. */
  serial: number | null;
  lineage: string | null;
  /** hex MD5 of the state file */
  md5: string;
  /** ISO time the state was kept */
  createdAt: string;
}

/** What a delivery attempt came to. */
export type Delivery =
  | { result: 'acknowledged' }
  /** otfd will never take it (unknown job, another pool's job, not a state): stop trying, keep the file. */
  | { result: 'refused'; reason: string }
  /** Try again later, after `retryAfterMs` when otfd said so. */
  | { result: 'failed'; reason: string; retryAfterMs?: number | null };

export type Deliver = (entry: OutboxEntry, state: Buffer) => Promise<Delivery>;

export interface OutboxOptions {
  dir: string;
  logger: Logger;
  /** How long an entry is offered to otfd before the outbox stops trying (it keeps the file). */
  retryHours: number;
  /** The longest pause between two attempts of one entry. */
  maxDelayMs?: number;
}

/** Writes `data` to `file` so that a crash leaves either the old file or the whole new one. */
function writeAtomically(file: string, data: Buffer | string): void {
  const tmp = path.join(path.dirname(file), `.tmp-${crypto.randomBytes(6).toString('hex')}`);
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export class Outbox {
  readonly dir: string;
  /** Entries a runner is delivering itself right now (with its job token): the background leaves them alone. */
  private readonly held = new Set<string>();
  /** Per entry: attempts made and when the next may be. */
  private readonly schedule = new Map<string, { attempts: number; nextAt: number }>();
  /** Entries the background gave up on in this process (refused or out of time). */
  private readonly abandoned = new Set<string>();
  private stopped = false;
  private wakeUp: (() => void) | null = null;
  private loop: Promise<void> | null = null;

  constructor(private readonly opts: OutboxOptions) {
    this.dir = opts.dir;
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  private stateFile(jobId: string): string {
    return path.join(this.dir, `${jobId}.tfstate`);
  }

  private sidecar(jobId: string): string {
    return path.join(this.dir, `${jobId}.json`);
  }

  /**
   * Keeps a state durably, held by the caller, who delivers it or releases it to the background.
   * Throws when the disk refuses it: the caller must not go on as if it were kept.
   */
  put(job: { jobId: string; runId: string; workspaceId: string }, state: Buffer): OutboxEntry {
    const { serial, lineage } = stateHeader(state);
    const entry: OutboxEntry = {
      ...job,
      serial,
      lineage,
      md5: crypto.createHash('md5').update(state).digest('hex'),
      createdAt: new Date().toISOString(),
    };
    this.held.add(job.jobId);
    writeAtomically(this.stateFile(job.jobId), state);
    writeAtomically(this.sidecar(job.jobId), JSON.stringify(entry) + '\n');
    fsyncDir(this.dir);
    this.opts.logger.info({ job: job.jobId, run: job.runId, serial: entry.serial, file: this.stateFile(job.jobId) }, 'state kept in the outbox until otfd acknowledges it');
    return entry;
  }

  /** otfd has the state: the entry goes. */
  acknowledge(jobId: string): void {
    this.held.delete(jobId);
    this.schedule.delete(jobId);
    // The sidecar first: a crash between the two leaves a state file without sidecar, kept, never resent.
    fs.rmSync(this.sidecar(jobId), { force: true });
    fs.rmSync(this.stateFile(jobId), { force: true });
  }

  /** The caller could not deliver it: the background takes over now. */
  release(jobId: string): void {
    this.held.delete(jobId);
    this.wakeUp?.();
  }

  /** Whole entries on disk, oldest first. */
  entries(): OutboxEntry[] {
    const found: OutboxEntry[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        const entry = JSON.parse(fs.readFileSync(path.join(this.dir, name), 'utf8')) as OutboxEntry;
        if (fs.existsSync(this.stateFile(entry.jobId))) found.push(entry);
      } catch (err) {
        this.opts.logger.warn({ file: name, err: (err as Error).message }, 'unreadable outbox entry; left for an operator');
      }
    }
    return found.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Whether some entry is still to be delivered (held by a runner, or waiting for its next attempt). */
  pending(): boolean {
    return this.held.size > 0 || this.entries().some((e) => !this.abandoned.has(e.jobId));
  }

  /** Delivers every entry not held by a runner, in the background, until stopped. */
  start(deliver: Deliver): void {
    this.loop ??= this.deliverLoop(deliver);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.loop;
  }

  private async deliverLoop(deliver: Deliver): Promise<void> {
    const cap = this.opts.maxDelayMs ?? 30_000;
    while (!this.stopped) {
      let next = Date.now() + cap;
      for (const entry of this.entries()) {
        if (this.stopped) return;
        const id = entry.jobId;
        if (this.held.has(id) || this.abandoned.has(id)) continue;
        const plan = this.schedule.get(id) ?? { attempts: 0, nextAt: 0 };
        if (plan.nextAt > Date.now()) {
          next = Math.min(next, plan.nextAt);
          continue;
        }
        const age = Date.now() - Date.parse(entry.createdAt);
        if (age > this.opts.retryHours * 3600_000) {
          this.abandoned.add(id);
          this.opts.logger.error(
            { job: id, run: entry.runId, file: this.stateFile(id), retryHours: this.opts.retryHours },
            'giving up delivering a state to otfd; the file stays in the outbox: push it with "terraform state push" or restart the agent to try again',
          );
          continue;
        }
        let outcome: Delivery;
        try {
          outcome = await deliver(entry, fs.readFileSync(this.stateFile(id)));
        } catch (err) {
          outcome = { result: 'failed', reason: (err as Error).message };
        }
        if (outcome.result === 'acknowledged') {
          this.acknowledge(id);
          this.opts.logger.info({ job: id, run: entry.runId, serial: entry.serial }, 'state delivered from the outbox');
        } else if (outcome.result === 'refused') {
          this.abandoned.add(id);
          this.opts.logger.error({ job: id, run: entry.runId, file: this.stateFile(id), reason: outcome.reason }, 'otfd refuses this state; the file stays in the outbox');
        } else {
          plan.attempts++;
          plan.nextAt = Date.now() + (outcome.retryAfterMs ?? backoffMs(plan.attempts, cap));
          this.schedule.set(id, plan);
          next = Math.min(next, plan.nextAt);
          this.opts.logger.warn({ job: id, run: entry.runId, attempt: plan.attempts, reason: outcome.reason }, 'cannot deliver a state yet; will retry');
        }
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(50, next - Date.now()));
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = null;
    }
  }
}

/**
 * The serial and lineage of a state, read from its head only: terraform and tofu write them among
 * the first members, and parsing a state of hundreds of MiB whole (inside otfd, for the server
 * agent) only to label it would cost several times its size in memory.
 */
export function stateHeader(state: Buffer): { serial: number | null; lineage: string | null } {
  const head = state.subarray(0, 64 * 1024).toString('utf8');
  const serial = /"serial"\s*:\s*(\d+)/.exec(head);
  const lineage = /"lineage"\s*:\s*"([^"\\]*)"/.exec(head);
  return { serial: serial ? Number(serial[1]) : null, lineage: lineage ? lineage[1] : null };
}
