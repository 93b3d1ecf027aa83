// otf runs watch: follows a run's plan log and then its apply log as they are written, read through
// their signed log-read-url at increasing offsets (the stream starts with 0x02 and, once its phase
// has ended, ends with 0x03), while polling the run; ends when the run reaches a final status.
import { ApiError, type Client, type Resource } from './client.js';
import { CliError } from './command.js';
import type { Sink } from './output.js';
import { seg } from './resolve.js';

/** Final statuses and whether they are a success (exit code 0). */
export const FINAL_STATUSES: ReadonlyMap<string, boolean> = new Map([
  ['applied', true],
  ['planned_and_finished', true],
  ['planned_and_saved', true],
  ['errored', false],
  ['canceled', false],
  ['force_canceled', false],
  ['discarded', false],
]);

const TERMINAL_PHASE = new Set(['finished', 'errored', 'canceled', 'unreachable']);
const STX = 0x02;
const ETX = 0x03;
const CHUNK = 65_536;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Attempts at a request that failed on the way (otfd restarting, a network hiccup) or with a 5xx. */
const ATTEMPTS = 5;

/** Runs `request` again after a pause when it failed for a reason that may pass; a 4xx is final. */
async function retrying<T>(request: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (err) {
      const lasting = err instanceof ApiError && err.status < 500;
      if (lasting || !(err instanceof CliError) || attempt >= ATTEMPTS) throw err;
      await sleep(1000 * attempt);
    }
  }
}

interface Snapshot {
  run: Resource;
  plan: Resource;
  apply: Resource;
}

export interface WatchOptions {
  /** Where the logs go (stdout; stderr with --json). */
  log: Sink;
  pollMs?: number;
}

export class RunWatcher {
  private readonly pollMs: number;
  /** Bytes of log printed so far, and whether the next phase's log should start after a blank line. */
  private printed = 0;
  private endsLine = true;
  private separate = false;

  constructor(
    private readonly api: Client,
    private readonly runId: string,
    private readonly opts: WatchOptions,
  ) {
    this.pollMs = opts.pollMs ?? 500;
  }

  /** The run with its plan and apply. */
  private async snapshot(): Promise<Snapshot> {
    const doc = await retrying(() => this.api.document('GET', `/runs/${seg(this.runId)}?include=plan%2Capply`));
    const run = doc.data as Resource;
    const find = (type: string) => {
      const found = (doc.included ?? []).find((r) => r.type === type);
      if (!found) throw new CliError(`otfd did not include the ${type} of run ${this.runId}`);
      return found;
    };
    return { run, plan: find('plans'), apply: find('applies') };
  }

  /** Prints one phase's log as it is written, until it ends. */
  private async follow(which: 'plan' | 'apply', first: Snapshot): Promise<void> {
    const url = String(first[which].attributes['log-read-url']);
    let offset = 0;
    // Set once the phase was seen ended: the next read then holds the whole rest of the log.
    let ended = TERMINAL_PHASE.has(String(first[which].attributes.status));
    for (;;) {
      const sep = url.includes('?') ? '&' : '?';
      const res = await retrying(() => this.api.raw('GET', `${url}${sep}offset=${offset}&limit=${CHUNK}`, { auth: false }));
      let data = res.body;
      const full = data.length === CHUNK;
      const start = offset;
      offset += data.length;
      if (start === 0 && data[0] === STX) data = data.subarray(1);
      const finished = data.length > 0 && data[data.length - 1] === ETX;
      if (finished) data = data.subarray(0, -1);
      if (data.length > 0) this.print(data);
      if (finished) return;
      if (full) continue;
      if (ended) return;
      await sleep(this.pollMs);
      ended = TERMINAL_PHASE.has(String((await this.snapshot())[which].attributes.status));
    }
  }

  private print(data: Buffer | string): void {
    if (data.length === 0) return;
    if (this.separate) this.blankLine();
    this.separate = false;
    this.printed += data.length;
    this.endsLine = (typeof data === 'string' ? data.charCodeAt(data.length - 1) : data[data.length - 1]) === 0x0a;
    this.opts.log.write(data);
  }

  /** Ends the output so far with a blank line, unless nothing was printed yet. */
  private blankLine(): void {
    if (this.printed === 0) return;
    this.opts.log.write(this.endsLine ? '\n' : '\n\n');
    this.endsLine = true;
  }

  /** Follows the run to its end; resolves with the run as it ended. */
  async watch(): Promise<Resource> {
    let snap = await this.snapshot();
    await this.follow('plan', snap);
    let announced = false;
    for (;;) {
      snap = await this.snapshot();
      const status = String(snap.run.attributes.status);
      const applyStatus = String(snap.apply.attributes.status);
      if (applyStatus !== 'pending') {
        this.separate = true;
        if (applyStatus !== 'unreachable') await this.follow('apply', snap);
        break;
      }
      if (FINAL_STATUSES.has(status)) break;
      if (status === 'planned' && !announced) {
        this.blankLine();
        this.print(`Run ${this.runId} is waiting for confirmation: otf runs apply ${this.runId} (or discard it).\n`);
        announced = true;
      }
      await sleep(this.pollMs);
    }
    for (;;) {
      const run = (await this.snapshot()).run;
      if (FINAL_STATUSES.has(String(run.attributes.status))) return run;
      await sleep(this.pollMs);
    }
  }
}
