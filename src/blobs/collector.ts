// Blobs outlive their records when a workspace or an organization is deleted: the database takes
// the runs, configuration versions and state versions with it, not the blobs named after them.
// Every hour each owner of blobs says which of its records still exist, and the blobs of the
// others are deleted. Only blobs an hour old or more are looked at, so that a blob written in a
// transaction that has not yet committed its record is never taken. Replicas may collect at the
// same time: deleting twice does nothing more.
//
// Data retention (src/retention/) runs first in each pass, given as `beforeCollect`: the records it
// deletes are old, and so are their blobs, which the same pass then collects.
import type { Logger } from 'pino';
import type { BlobStore } from './store.js';

/** A domain whose records own blobs: each key starts with prefix and names one record. */
export interface BlobOwner {
  /** e.g. "runs/" */
  prefix: string;
  /** The id of the record the blob under key belongs to. */
  recordOf(key: string): string;
  /** Which of these records exist. */
  existing(ids: string[]): Promise<Set<string>>;
}

const BATCH = 500;
const HOUR = 3600;

export class BlobCollector {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly blobs: BlobStore,
    private readonly owners: BlobOwner[],
    private readonly logger: Logger,
    private readonly beforeCollect: () => Promise<unknown> = async () => undefined,
  ) {}

  start(intervalSeconds = HOUR): void {
    this.timer = setInterval(() => void this.pass().catch((err) => this.logger.error({ err }, 'collecting blobs failed')), intervalSeconds * 1000);
    this.timer.unref();
  }

  /** One periodic pass: beforeCollect (retention), then collect. */
  private async pass(): Promise<void> {
    try {
      await this.beforeCollect();
    } catch (err) {
      // Retention failing must not keep the blobs of deleted workspaces forever.
      this.logger.error({ err }, 'enforcing data retention failed');
    }
    await this.collect();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Deletes the blobs, written graceSeconds ago or more, whose records are gone; returns how many. */
  async collect(graceSeconds = HOUR): Promise<number> {
    let deleted = 0;
    for (const owner of this.owners) {
      for (let after = owner.prefix; ; ) {
        const keys = await this.blobs.listOlder(owner.prefix, graceSeconds, after, BATCH);
        if (keys.length === 0) break;
        after = keys[keys.length - 1];
        const live = await owner.existing([...new Set(keys.map((k) => owner.recordOf(k)))]);
        const gone = keys.filter((k) => !live.has(owner.recordOf(k)));
        if (gone.length > 0) deleted += await this.blobs.deleteMany(gone);
      }
    }
    if (deleted > 0) this.logger.info({ deleted }, 'collected the blobs of deleted records');
    return deleted;
  }
}
