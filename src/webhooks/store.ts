// The webhook deliveries otfd accepted: one row per (repository hook, provider's delivery id) and
// per (hook, SHA-256 of the body), so that a replayed delivery is refused, also one sent again under
// a new delivery id (the signature does not cover that header); each row is processed once by a
// worker of some otfd. Processed rows are pruned after some days.
import type { Knex } from 'knex';
import { isUniqueViolation, type Db } from '../db/index.js';
import type { HookKind, VcsEvent } from '../vcs/types.js';

export interface Delivery {
  id: string;
  hookId: string;
  kind: HookKind;
  deliveryId: string;
  /** Null for a ping or an event otfd ignores: nothing to process. */
  event: VcsEvent | null;
  requestId: string | null;
  receivedAt: Date;
  attempts: number;
  processedAt: Date | null;
  error: string | null;
}

interface DeliveryRow {
  id: string;
  hook_id: string;
  kind: HookKind;
  delivery_id: string;
  event: VcsEvent | null;
  request_id: string | null;
  received_at: Date;
  attempts: number;
  processed_at: Date | null;
  error: string | null;
}

function toDelivery(r: DeliveryRow): Delivery {
  return {
    id: String(r.id),
    hookId: r.hook_id,
    kind: r.kind,
    deliveryId: r.delivery_id,
    event: r.event,
    requestId: r.request_id,
    receivedAt: r.received_at,
    attempts: r.attempts,
    processedAt: r.processed_at,
    error: r.error,
  };
}

/** The unique index on (hook_id, body_sha256), migration 0026. */
const BODY_UNIQUE = 'vcs_deliveries_hook_body_unique';

/**
 * Records an accepted delivery. A replay is not recorded: 'delivery-id' when this hook already
 * received this delivery id, 'body' when it already received this very body under another id.
 */
export async function insertDelivery(
  db: Db,
  d: { hookId: string; kind: HookKind; deliveryId: string; bodySha256: string; event: VcsEvent | null; requestId: string | null },
): Promise<Delivery | { replayOf: 'delivery-id' | 'body' }> {
  try {
    const [row] = await db('vcs_deliveries')
      .insert({
        hook_id: d.hookId,
        kind: d.kind,
        delivery_id: d.deliveryId,
        body_sha256: d.bodySha256,
        event: d.event === null ? null : JSON.stringify(d.event),
        request_id: d.requestId,
        // Nothing to do for a ping: it is recorded (replays are still refused) as processed.
        processed_at: d.event === null ? db.fn.now() : null,
      })
      .returning('*');
    return toDelivery(row as DeliveryRow);
  } catch (err) {
    if (isUniqueViolation(err)) return { replayOf: (err as { constraint?: string }).constraint === BODY_UNIQUE ? 'body' : 'delivery-id' };
    throw err;
  }
}

/**
 * Claims the oldest delivery waiting to be processed: unclaimed, or claimed longer ago than the
 * lease (its otfd stopped or lost its database). SKIP LOCKED: two otfds claiming at once take two
 * different rows. The attempt is counted when it is claimed, so one that kills its otfd counts too.
 */
export async function claimDelivery(db: Db, leaseSeconds: number, maxAttempts: number): Promise<Delivery | null> {
  const { rows } = (await db.raw(
    `UPDATE vcs_deliveries SET claimed_at = now(), attempts = attempts + 1
      WHERE id = (SELECT id FROM vcs_deliveries
                   WHERE processed_at IS NULL AND attempts < ?
                     AND (claimed_at IS NULL OR claimed_at < now() - make_interval(secs => ?))
                   ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
      RETURNING *`,
    [maxAttempts, leaseSeconds],
  )) as { rows: DeliveryRow[] };
  return rows[0] ? toDelivery(rows[0]) : null;
}

/** Keeps a claim alive while it is being processed. */
export async function extendClaim(db: Db, id: string): Promise<void> {
  await db('vcs_deliveries').where({ id }).whereNull('processed_at').update({ claimed_at: db.fn.now() });
}

/** The delivery was processed; with an error, it failed for good (or was given up). */
export async function finishDelivery(db: Db | Knex.Transaction, id: string, error: string | null): Promise<void> {
  await db('vcs_deliveries').where({ id }).update({ processed_at: db.fn.now(), error, claimed_at: null });
}

/** The attempt failed: the error is kept, and the delivery is tried again once its lease ends. */
export async function failAttempt(db: Db, id: string, error: string): Promise<void> {
  await db('vcs_deliveries').where({ id }).update({ error });
}

/**
 * Deliveries whose every attempt ended without them being processed (the last one's otfd stopped
 * midway) are given up, their last error kept: they are never tried forever.
 */
export async function giveUpExhausted(db: Db, leaseSeconds: number, maxAttempts: number): Promise<number> {
  return db('vcs_deliveries')
    .whereNull('processed_at')
    .where('attempts', '>=', maxAttempts)
    .andWhereRaw('(claimed_at IS NULL OR claimed_at < now() - make_interval(secs => ?))', [leaseSeconds])
    .update({ processed_at: db.fn.now(), error: db.raw("coalesce(error, 'gave up: every attempt to process it was interrupted')"), claimed_at: null });
}

/**
 * Deletes at most `limit` processed deliveries received more than `days` days ago, oldest first, and
 * answers how many. Their body hashes go with them: a body replayed after that is accepted again,
 * and then finds the run its event already made (the dispatch's run key), if any.
 */
export async function pruneDeliveries(db: Db, days: number, limit: number): Promise<number> {
  const { rowCount } = (await db.raw(
    `DELETE FROM vcs_deliveries WHERE id IN (
       SELECT id FROM vcs_deliveries
        WHERE received_at < now() - make_interval(days => ?) AND processed_at IS NOT NULL
        ORDER BY received_at LIMIT ?)`,
    [days, limit],
  )) as { rowCount: number };
  return rowCount;
}
