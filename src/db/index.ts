// The database: a knex pool over PostgreSQL, migrated at start under an advisory lock so that
// replicas starting together apply each migration once.
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { ConfigError } from '../config.js';
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

export async function openDatabase(url: string, poolMax = 20): Promise<Db> {
  const db = knexFactory({
    client: 'pg',
    connection: { connectionString: url, connectionTimeoutMillis: 10_000 },
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10_000,
  });
  try {
    await db.raw('SELECT 1');
  } catch (err) {
    await db.destroy();
    throw new ConfigError(`cannot connect to the database: ${describe(err)}`);
  }
  return db;
}

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name): Promise<Migration> => migrations[name],
};

/** Applies pending migrations, holding a session-level advisory lock on a connection of its own. */
export async function migrate(url: string, db: Db): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await db.migrate.latest({ migrationSource: source });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
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
 */
export async function paged<Row>(db: Db, q: Knex.QueryBuilder, limit: number, offset: number): Promise<{ rows: Row[]; total: number }> {
  const rows = (await q.clone().select(db.raw('count(*) OVER () AS total_count')).limit(limit).offset(offset)) as Array<Row & { total_count: number }>;
  if (rows.length > 0) return { rows, total: rows[0].total_count };
  if (offset === 0) return { rows: [], total: 0 };
  const counted = await db.count<{ n: number }[]>({ n: '*' }).from(q.clone().clearSelect().clearOrder().select(db.raw('1')).as('sub'));
  return { rows: [], total: Number(counted[0].n) };
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
