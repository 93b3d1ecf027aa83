// The fetch worker: fetches the commits of runs made from commits, a few at a time, in the
// background. The dispatch of a webhook delivery (and POST /runs on a VCS workspace) only creates
// the runs, their configuration versions `fetching`; a slow repository (git commands may take
// minutes) then holds up nothing but its own runs.
//
// Which otfd fetches which configuration version: each otfd holds one database connection of its
// own and, on it, a session advisory lock per configuration version it fetches. The lock is the
// lease: another otfd skips a locked one, and it is let go when the fetch ends or when the otfd's
// connection closes (the otfd stopped or died), so a fetch cut short is taken up again by whichever
// otfd looks next, also after a restart. Versions fetching for longer than any fetch takes are left
// to the lost-fetch sweep (IngressService.start), which errors their runs.
import type pg from 'pg';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import type { IngressService } from './service.js';

/** Namespace of the advisory locks of fetches (the first key of pg_try_advisory_lock(int, int)). */
const LOCK_SPACE = 0x0f7c;

export interface FetchWorkerOptions {
  /** Fetches at once in this otfd (default 4). */
  concurrency?: number;
  /** How often to look for work other otfds made (default 2 s); work of this otfd wakes it at once. */
  intervalMs?: number;
  /** Versions fetching longer than this are the lost-fetch sweep's, not the worker's. */
  maxAgeMs: number;
}

export class FetchWorker {
  private conn: pg.PoolClient | null = null;
  private readonly active = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private looking: Promise<void> | null = null;
  private again = false;
  private released: Promise<unknown> = Promise.resolve();
  /** The connection's last query: one at a time on it (pg queues them, but deprecates doing so). */
  private tail: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private readonly concurrency: number;
  private readonly intervalMs: number;

  constructor(
    private readonly db: Db,
    private readonly ingress: IngressService,
    private readonly logger: Logger,
    private readonly opts: FetchWorkerOptions,
  ) {
    this.concurrency = opts.concurrency ?? 4;
    this.intervalMs = opts.intervalMs ?? 2_000;
  }

  start(): void {
    this.timer = setInterval(() => this.wake(), this.intervalMs);
    this.timer.unref();
    this.wake();
  }

  /** Looks for work now (a run from a commit was just made). */
  wake(): void {
    if (this.stopped) return;
    if (this.looking) {
      this.again = true;
      return;
    }
    this.looking = this.look()
      .catch((err: unknown) => this.logger.warn({ err }, 'could not look for commits to fetch'))
      .finally(() => {
        this.looking = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Takes no new work (fetches under way go on until drain()). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.looking;
  }

  /**
   * Waits for the fetches under way (stopping the repository cache first ends their git commands:
   * their versions stay fetching, for the next otfd), then gives back the connection and its leases.
   */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.active.values()]);
    this.release(false);
    await this.released;
  }

  private async connection(): Promise<pg.PoolClient> {
    if (!this.conn) {
      const client = this.db.client as { acquireConnection(): Promise<pg.PoolClient> };
      this.conn = await client.acquireConnection();
    }
    return this.conn;
  }

  /** Gives the connection back to the pool, without a lease of this worker's left on it. */
  private release(broken: boolean): void {
    const conn = this.conn;
    this.conn = null;
    if (!conn) return;
    const client = this.db.client as { releaseConnection(c: pg.PoolClient): Promise<unknown> };
    if (broken) this.logger.warn('the fetch worker lost its database connection; fetches under way may be taken up by another otfd');
    this.released = this.query(conn, 'SELECT pg_advisory_unlock_all()', [])
      .catch(() => undefined)
      .finally(() => client.releaseConnection(conn).catch(() => undefined));
  }

  /** One query on the worker's connection, after the ones before it. */
  private query<R extends pg.QueryResultRow>(conn: pg.PoolClient, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    const result = this.tail.then(
      () => conn.query<R>(text, values),
      () => conn.query<R>(text, values),
    );
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async look(): Promise<void> {
    while (!this.stopped && this.active.size < this.concurrency) {
      const free = this.concurrency - this.active.size;
      let conn: pg.PoolClient;
      try {
        conn = await this.connection();
      } catch (err) {
        this.logger.warn({ err }, 'the fetch worker could not get a database connection');
        return;
      }
      const claimed: { id: string; runId: string }[] = [];
      try {
        // Oldest first; the ones this otfd fetches already are locked by this very session, so skipped here.
        // The run of each (a version from a commit has exactly one), read here as the lost-fetch sweep does.
        const { rows } = await this.query<{ id: string; run_id: string }>(
          conn,
          `SELECT cv.id, r.id AS run_id FROM configuration_versions cv JOIN runs r ON r.configuration_version_id = cv.id
            WHERE cv.status = 'fetching' AND cv.created_at > now() - make_interval(secs => $1::double precision / 1000)
              AND NOT (cv.id = ANY($2::text[]))
            ORDER BY cv.created_at, cv.id LIMIT $3`,
          [this.opts.maxAgeMs, [...this.active.keys()], free * 4],
        );
        for (const { id, run_id: runId } of rows) {
          if (claimed.length >= free) break;
          const lock = await this.query<{ ok: boolean }>(conn, 'SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_SPACE, id]);
          if (!lock.rows[0].ok) continue;
          // Fetched by another otfd between the select and the lock: let go.
          const still = await this.query<{ status: string }>(conn, 'SELECT status FROM configuration_versions WHERE id = $1', [id]);
          if (still.rows[0]?.status !== 'fetching') {
            await this.query(conn, 'SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_SPACE, id]);
            continue;
          }
          claimed.push({ id, runId });
        }
      } catch (err) {
        this.logger.warn({ err }, 'the fetch worker could not claim commits to fetch');
        if (this.active.size === 0) this.release(true);
        return;
      }
      if (claimed.length === 0) return;
      for (const { id, runId } of claimed) {
        const done = this.ingress
          .fetchConfiguration(id, runId)
          .catch((err: unknown) => this.logger.warn({ err, cv: id }, 'fetching a commit failed'))
          .finally(async () => {
            this.active.delete(id);
            // The lease goes once the outcome is stored (or the fetch was left for another otfd).
            if (this.conn === conn) await this.query(conn, 'SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_SPACE, id]).catch(() => this.release(true));
            this.wake();
          });
        this.active.set(id, done);
      }
    }
  }
}
