// Sends a phase's output to otfd while the engine runs: batched (every 250 ms, or at once past
// 1 MiB), addressed by byte offset, one request at a time, retried until it gets through. A resent
// chunk is harmless: otfd keeps each byte once. A refusal (a 4xx: the job's token was revoked)
// ends the log: retrying cannot help.
import { HttpError } from './client.js';

export type SendChunk = (offset: number, data: Buffer) => Promise<{ length: number; gap: boolean }>;

export class LogWriter {
  private pending: Buffer[] = [];
  private pendingSize = 0;
  /** Bytes otfd has acknowledged. */
  private sent = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private failures = 0;
  /** Set once otfd refused the log; everything after is dropped. */
  private refused = false;

  constructor(
    private readonly send: SendChunk,
    private readonly intervalMs = 250,
    private readonly maxBatch = 1024 * 1024,
  ) {}

  write(data: string | Buffer): void {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    if (chunk.length === 0 || this.refused) return;
    this.pending.push(chunk);
    this.pendingSize += chunk.length;
    if (this.pendingSize >= this.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.intervalMs);
  }

  /** Sends what is pending; resolves when it is acknowledged (or, on failure, queued for a retry). */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.flushing = this.flushing.then(() => this.sendPending());
    return this.flushing;
  }

  private async sendPending(): Promise<void> {
    if (this.pendingSize === 0) return;
    // What is written while this request is on its way stays pending behind what it sends.
    const taken = this.pending.length;
    const data = Buffer.concat(this.pending.slice(0, taken));
    try {
      const { length } = await this.send(this.sent, data);
      // otfd tells how long the log is: everything up to there is safe.
      const acknowledged = Math.min(data.length, Math.max(0, length - this.sent));
      this.sent += acknowledged;
      const rest = data.subarray(acknowledged);
      this.pending = rest.length ? [rest, ...this.pending.slice(taken)] : this.pending.slice(taken);
      this.pendingSize = this.pending.reduce((n, b) => n + b.length, 0);
      this.failures = 0;
    } catch (err) {
      if (err instanceof HttpError && err.status >= 400 && err.status < 500 && err.status !== 429) {
        this.refused = true;
        this.pending = [];
        this.pendingSize = 0;
        return;
      }
      this.failures++;
      // keep the data; try again later
      this.timer ??= setTimeout(() => void this.flush(), Math.min(10_000, this.intervalMs * 2 ** this.failures));
    }
  }

  /** Flushes until everything is acknowledged or `attempts` flushes have failed. */
  async close(attempts = 20): Promise<void> {
    for (let i = 0; i < attempts && this.pendingSize > 0; i++) {
      await this.flush();
      if (this.pendingSize > 0) await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** i)));
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  get length(): number {
    return this.sent + this.pendingSize;
  }
}
