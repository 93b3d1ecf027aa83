// Reading lists: many rows by id in one statement, and list statements prepared once per
// connection.
import crypto from 'node:crypto';
import type { Knex } from 'knex';

/**
 * The found records in the order of the ids asked for (the order a statement per id would have
 * given), each once; ids that found nothing are left out. For reads of many rows by id in one
 * statement (WHERE id = ANY(?), one statement text whatever the number of ids).
 */
export function inOrderOf<T extends { id: string }>(ids: readonly string[], found: readonly T[]): T[] {
  const byId = new Map(found.map((r) => [r.id, r]));
  const out: T[] = [];
  for (const id of new Set(ids)) {
    const r = byId.get(id);
    if (r) out.push(r);
  }
  return out;
}

/**
 * Names the statement after its text, so the driver prepares it once per connection and
 * PostgreSQL stops parsing and planning it on every page: for a list statement with its
 * subqueries that was more than half of its time. Only for statements whose text comes in a few
 * shapes (values as bindings, lists as = ANY(?)): each distinct text stays prepared on every
 * connection of the pool. For a page read by paged(): knex leaves OFFSET out of the text when it
 * is 0, so a first page and a later one are two statements, told apart by `offset`. (A statement
 * of one fixed text can simply be named; the hottest single read goes further, with statement()
 * in src/db/index.ts, which also skips building the query with knex on every call.)
 */
export function prepared(q: Knex.QueryBuilder, prefix: string, offset: number): Knex.QueryBuilder {
  const hash = crypto.createHash('sha1').update(q.toSQL().sql).digest('base64url').slice(0, 16);
  return q.options({ name: `${prefix}.${hash}${offset > 0 ? '.offset' : ''}` });
}
