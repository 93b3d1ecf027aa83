// Logs of plans and applies: written by runners in chunks addressed by byte offset, read by the
// terraform CLI through a signed URL as a stream that starts with 0x02 and, once the phase has
// ended, finishes with 0x03.
import type { Site } from '../api/http.js';
import type { UrlSigner } from '../api/signing.js';
import type { Db } from '../db/index.js';
import { NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PhaseStatus } from './machine.js';
import * as store from './store.js';

export const LOG_PURPOSE = 'logs';
const LOG_URL_TTL_SECONDS = 24 * 60 * 60;
const STX = Buffer.from([0x02]);
const ETX = Buffer.from([0x03]);

const TERMINAL: ReadonlySet<PhaseStatus> = new Set<PhaseStatus>(['finished', 'errored', 'canceled', 'unreachable']);

/**
 * Told that a run's plan or apply log grew (the web UI's open run pages read the new bytes).
 * Called without being awaited: a runner's upload never waits for it, nor fails with it.
 */
export type LogAppendHook = (runId: string, phase: 'plan' | 'apply') => Promise<void> | void;

export class RunLogService {
  private readonly appendHooks: LogAppendHook[] = [];

  constructor(
    private readonly db: Db,
    private readonly signer: UrlSigner,
    private readonly site: Site,
    private readonly logger: Logger,
  ) {}

  onAppend(hook: LogAppendHook): void {
    this.appendHooks.push(hook);
  }

  private announce(runId: string, phase: 'plan' | 'apply'): void {
    for (const hook of this.appendHooks) {
      const failed = (err: unknown) => this.logger.warn({ err, run: runId, phase }, 'a log-append hook failed');
      try {
        Promise.resolve(hook(runId, phase)).catch(failed);
      } catch (err) {
        failed(err);
      }
    }
  }

  /** The log-read-url of a plan or an apply: no token needed, the signature is in the path. */
  url(phaseId: string): string {
    return `${this.site.baseUrl}/_signed/${LOG_PURPOSE}/${phaseId}/${this.signer.sign(LOG_PURPOSE, phaseId, LOG_URL_TTL_SECONDS)}`;
  }

  verify(phaseId: string, signature: string): void {
    if (!this.signer.verify(LOG_PURPOSE, phaseId, signature)) throw new NotFoundError('log URL is invalid or has expired');
  }

  /** Appends a runner's chunk to the log of the run's plan or apply. */
  async append(runId: string, phase: 'plan' | 'apply', offset: number, data: Buffer): Promise<{ length: number; gap: boolean }> {
    const phaseId = await store.findPhaseId(this.db, runId, phase);
    if (!phaseId) throw new NotFoundError(`run ${runId} has no ${phase}`);
    const result = await store.appendLog(this.db, phaseId, offset, data);
    // A retried chunk may have added nothing: readers then find no new bytes, which costs them one read.
    if (!result.gap && data.length > 0) this.announce(runId, phase);
    return result;
  }

  /** Bytes [offset, offset + limit) of the log itself (no 0x02/0x03 framing). */
  content(phaseId: string, offset: number, limit: number): Promise<Buffer> {
    return store.readLog(this.db, phaseId, offset, limit);
  }

  /** How many bytes the log holds now. */
  length(phaseId: string): Promise<number> {
    return store.logLength(this.db, phaseId);
  }

  /**
   * Bytes [offset, offset + limit) of the stream 0x02, log..., and 0x03 once `status` is terminal.
   * The caller reads the status before calling, so a terminal status means the log is complete.
   */
  async read(phaseId: string, status: PhaseStatus, offset: number, limit: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let room = limit;
    if (offset === 0 && room > 0) {
      parts.push(STX);
      room--;
    }
    const contentOffset = Math.max(0, offset - 1);
    const content = room > 0 ? await store.readLog(this.db, phaseId, contentOffset, room) : Buffer.alloc(0);
    parts.push(content);
    room -= content.length;
    if (room > 0 && TERMINAL.has(status)) {
      // 0x03 sits right after the last byte of the log, at position 1 + length.
      const length = await store.logLength(this.db, phaseId);
      if (contentOffset + content.length >= length && offset <= 1 + length) parts.push(ETX);
    }
    return Buffer.concat(parts);
  }
}
