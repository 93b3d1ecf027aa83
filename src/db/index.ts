// The database: a knex pool over PostgreSQL, migrated at start under an advisory lock so that
// replicas starting together apply each migration once.
import { randomUUID } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { ConfigError } from '../config.js';
import { currentScope, type Logger, type WorkScope } from '../logger.js';
import { migrations, type Migration } from '../../migrations/index.js';

// int8 (counts, sums) as numbers; our values stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type Db = Knex;

/** Arbitrary but fixed key of the migration advisory lock. */
const MIGRATION_LOCK_KEY = 7_362_481_001;

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e.message || e.code || String(err);
}

export interface DatabaseOptions {
  poolMax?: number;
  /** PostgreSQL's statement_timeout for every connection of the pool; 0 means none. */
  statementTimeoutMs?: number;
  /** Where knex's own complaints go (a connection that failed, say), instead of the console. */
  logger?: Logger;
}

export async function openDatabase(url: string, opts: DatabaseOptions | number = {}): Promise<Db> {
  const { poolMax = 20, statementTimeoutMs = 0, logger } = typeof opts === 'number' ? { poolMax: opts } : opts;
  const db = knexFactory({
    client: 'pg',
    // During an outage every request says so once (src/api/errors.ts); knex's echo of it is detail.
    ...(logger
      ? {
          log: {
            warn: (message: unknown) => logger.debug({ knex: String(message) }, 'database pool'),
            error: (message: unknown) => logger.warn({ knex: String(message) }, 'database pool'),
            debug: (message: unknown) => logger.debug({ knex: String(message) }, 'database pool'),
            deprecate: (method: unknown, alternative: unknown) => logger.debug({ method, alternative }, 'knex deprecation'),
          },
        }
      : {}),
    // statement_timeout is a startup parameter of each connection: no extra round trip per query.
    // TCP keepalive lets a connection cut off without a word (a partition) be noticed and dropped.
    connection: {
      connectionString: url,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs } : {}),
    },
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10_000,
  });
  try {
    await db.raw('SELECT 1');
  } catch (err) {
    await db.destroy();
    throw new ConfigError(`cannot connect to the database: ${describe(err)}`);
  }
  trackConnections(db, url);
  return db;
}

// ------------------------------------------------------------ outages and cancellation

/** Node's codes for a server that cannot be reached or dropped the connection. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);
/** SQLSTATEs of a server shutting down, starting up, or out of connections; class 08 is added below. */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** What pg says when a connection ends under it, or cannot be made in time. */
const CONNECTION_MESSAGES = /Connection terminated|connection error and is not queryable|Connection ended unexpectedly|^timeout expired$/i;

export type DatabaseTrouble = 'unreachable' | 'timeout';

/**
 * Whether an error means the database could not be reached or did not answer in time, rather than a
 * bug: 'unreachable' for refused, dropped or unobtainable connections (pool acquire timeouts, an
 * administrator shutdown), 'timeout' for a statement cancelled by statement_timeout or by us.
 */
export function databaseTrouble(err: unknown): DatabaseTrouble | null {
  const seen = new Set<unknown>();
  const walk = (e: unknown): DatabaseTrouble | null => {
    if (!e || typeof e !== 'object' || seen.has(e)) return null;
    seen.add(e);
    const x = e as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    const code = typeof x.code === 'string' ? x.code : '';
    if (code === '57014') return 'timeout';
    if (NETWORK_CODES.has(code) || UNAVAILABLE_STATES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return 'unreachable';
    // A Unix socket that is not there: PostgreSQL is down (a missing file elsewhere is a bug).
    if (code === 'ENOENT' && (e as { syscall?: unknown }).syscall === 'connect') return 'unreachable';
    if (x.name === 'KnexTimeoutError') return 'unreachable';
    if (typeof x.message === 'string' && CONNECTION_MESSAGES.test(x.message)) return 'unreachable';
    for (const inner of [x.cause, ...(Array.isArray(x.errors) ? x.errors : [])]) {
      const found = walk(inner);
      if (found) return found;
    }
    return null;
  };
  return walk(err);
}

interface PgConnection {
  processID?: number;
}

/** The set of held connections (of a WorkScope) each connection is noted in. */
const owners = new WeakMap<PgConnection, Set<object>>();
/** Connections a cancel was sent for: they go back to the pool only once it has landed. */
const cancelling = new WeakMap<PgConnection, Promise<void>>();
const cancelUrls = new WeakMap<Db, string>();

/**
 * Notes which connections each cancellable unit of work (a WorkScope with a `held` set) holds, by
 * wrapping the pool's acquire and release: every query, transaction and stream of knex goes
 * through them. Work that cannot be cancelled costs one lookup per acquire.
 */
function trackConnections(db: Db, url: string): void {
  cancelUrls.set(db, url);
  const client = db.client as { acquireConnection(): Promise<PgConnection>; releaseConnection(c: PgConnection): Promise<unknown> };
  const acquire = client.acquireConnection.bind(client);
  const release = client.releaseConnection.bind(client);
  client.acquireConnection = () => {
    const held = currentScope()?.held;
    if (!held) return acquire();
    return acquire().then((conn) => {
      held.add(conn);
      owners.set(conn, held);
      return conn;
    });
  };
  client.releaseConnection = (conn: PgConnection) => {
    const held = owners.get(conn);
    if (held) {
      held.delete(conn);
      owners.delete(conn);
    }
    // A cancel still on its way must not hit the next borrower's query: hold the connection back
    // until it has landed (on an idle backend PostgreSQL ignores it).
    const pending = cancelling.get(conn);
    if (pending) {
      cancelling.delete(conn);
      return pending.then(() => release(conn));
    }
    return release(conn);
  };
}

/**
 * Cancels the SQL the connections of this work are running (its client hung up), with
 * pg_cancel_backend from a connection of its own: the pool may be the very thing the runaway
 * queries exhaust. A query cancelled so fails with SQLSTATE 57014. Only work whose scope has a
 * `held` set is tracked; for other work this does nothing.
 */
export function cancelWork(db: Db, scope: WorkScope): void {
  const url = cancelUrls.get(db);
  if (!url || !scope.held) return;
  const conns = [...(scope.held as Set<PgConnection>)].filter((c) => typeof c.processID === 'number');
  if (!conns.length) return;
  const sent = cancelBackends(url, conns.map((c) => c.processID!));
  for (const c of conns) cancelling.set(c, sent);
}

async function cancelBackends(url: string, pids: number[]): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
  } catch {
    // The database is gone too, or the queries ended meanwhile: nothing left to cancel.
  } finally {
    await client.end().catch(() => undefined);
  }
}

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name): Promise<Migration> => migrations[name],
};

/**
 * Applies pending migrations, holding a session-level advisory lock on a connection of its own. They
 * run on a pool of their own, free of the statement timeout: rewriting a big table may take longer.
 */
export async function migrate(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const db = knexFactory({ client: 'pg', connection: { connectionString: url, connectionTimeoutMillis: 10_000 }, pool: { min: 0, max: 2 } });
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await db.migrate.latest({ migrationSource: source });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await db.destroy();
    await client.end();
  }
}

/** True when a query can run; used by /healthz. */
export async function databaseUsable(db: Db, timeoutMs = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
    });
    await Promise.race([db.raw('SELECT 1'), timeout]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** PostgreSQL error code for unique violations. */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === '23505';
}

/**
 * Runs a list query for one page and counts the whole list in the same statement. The query must
 * already select its columns and order its rows.
 *
 * With `widen`, q selects only the ids (as `id`) and the page is chosen over those narrow rows;
 * widen(page) then reads the page's rows in full, joining `page` on its id and selecting
 * `page.total_count`. For lists whose rows are wide: sorting and counting every match with all its
 * columns costs the database several times what the page needs.
 */
export async function paged<Row>(
  db: Db,
  q: Knex.QueryBuilder,
  limit: number,
  offset: number,
  widen?: (page: Knex.QueryBuilder) => Knex.QueryBuilder,
): Promise<{ rows: Row[]; total: number }> {
  const page = q.clone().select(db.raw('count(*) OVER () AS total_count')).limit(limit).offset(offset);
  const rows = (await (widen ? widen(page) : page)) as Array<Row & { total_count: number }>;
  if (rows.length > 0) return { rows, total: Number(rows[0].total_count) };
  if (offset === 0) return { rows: [], total: 0 };
  const counted = await db.count<{ n: number }[]>({ n: '*' }).from(q.clone().clearSelect().clearOrder().select(db.raw('1')).as('sub'));
  return { rows: [], total: Number(counted[0].n) };
}

/** Holds the transaction-scoped advisory lock named `key` until trx ends (a lock on a name, not on a row others write). */
export async function advisoryXactLock(trx: Db, key: string): Promise<void> {
  await trx.raw('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [key]);
}

/** Escapes LIKE wildcards so user input matches literally. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Which of these ids the table (one with an `id` primary key) holds. */
export async function existingIds(db: Db, table: string, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  return new Set(await db(table).whereIn('id', ids).pluck('id'));
}

interface PgClient extends PgConnection {
  query<Row>(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: Row[] }>;
}


/**
 * A hot read, built once with knex and afterwards sent as its SQL text under a name, so that the
 * driver prepares it once per connection and no request builds and compiles the same query again
 * (for a single read that is a good part of the time otfd spends on it). `build` receives what to
 * put where the i-th value of each call goes. Runs on the pool, or on the transaction given as db;
 * the connection is borrowed through knex, so the cancellation of a hung-up read covers it too.
 */
export function statement<Row>(name: string, build: (db: Db, parameter: (i: number) => string) => Knex.QueryBuilder): (db: Db, values: unknown[]) => Promise<Row[]> {
  // Each binding of the compiled SQL: the index of a call's value, or a value of the query itself.
  let compiled: { text: string; slots: Array<{ index: number } | { value: unknown }> } | null = null;
  return async (db, values) => {
    if (!compiled) {
      // While it is built, parameter i stands for a value no query holds, told apart afterwards.
      const marks = new Map<unknown, number>();
      const nonce = randomUUID();
      const parameter = (i: number) => {
        const mark = `otf-parameter-${i}-${nonce}`;
        marks.set(mark, i);
        return mark;
      };
      const { sql, bindings } = build(db, parameter).toSQL().toNative();
      const slots = bindings.map((b) => (marks.has(b) ? { index: marks.get(b)! } : { value: b }));
      compiled = { text: sql, slots };
    }
    const params = compiled.slots.map((s) => ('index' in s ? values[s.index] : s.value));
    const client = db.client as { acquireConnection(): Promise<PgClient>; releaseConnection(c: PgClient): Promise<unknown> };
    const conn = await client.acquireConnection();
    try {
      return (await conn.query<Row>({ name, text: compiled.text, values: params })).rows;
    } finally {
      await client.releaseConnection(conn);
    }
  };
}
