// Table of the audit domain: audit_events, in time order within each organization.
import { paged, type Db } from '../db/index.js';
import type { ActorType } from '../logger.js';

export type Result = 'success' | 'denied' | 'failed';

export interface AuditEvent {
  id: string;
  seq: number;
  time: Date;
  organizationId: string | null;
  actorType: ActorType;
  actorId: string;
  actorName: string;
  tokenId: string | null;
  action: string;
  resourceType: string;
  resourceId: string;
  clientAddress: string | null;
  requestId: string | null;
  result: Result;
  details: Record<string, unknown>;
}

export type NewEvent = Omit<AuditEvent, 'seq' | 'time'>;

interface Row {
  id: string;
  seq: number;
  time: Date;
  organization_id: string | null;
  actor_type: ActorType;
  actor_id: string;
  actor_name: string;
  token_id: string | null;
  action: string;
  resource_type: string;
  resource_id: string;
  client_address: string | null;
  request_id: string | null;
  result: Result;
  details: Record<string, unknown>;
}

function toEvent(r: Row): AuditEvent {
  return {
    id: r.id,
    seq: r.seq,
    time: r.time,
    organizationId: r.organization_id,
    actorType: r.actor_type,
    actorId: r.actor_id,
    actorName: r.actor_name,
    tokenId: r.token_id,
    action: r.action,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    clientAddress: r.client_address,
    requestId: r.request_id,
    result: r.result,
    details: r.details,
  };
}

/** Writes one event with `db`: pass the change's transaction so that both commit or neither. */
export async function insert(db: Db, e: NewEvent): Promise<void> {
  await db('audit_events').insert({
    id: e.id,
    organization_id: e.organizationId,
    actor_type: e.actorType,
    actor_id: e.actorId,
    actor_name: e.actorName,
    token_id: e.tokenId,
    action: e.action,
    resource_type: e.resourceType,
    resource_id: e.resourceId,
    client_address: e.clientAddress,
    request_id: e.requestId,
    result: e.result,
    details: JSON.stringify(e.details),
  });
}

/** An organization's events, or (null) the site's: those of no organization. */
function since(db: Db, organizationId: string | null, after: Date | undefined) {
  const q = organizationId === null ? db('audit_events').whereNull('organization_id') : db('audit_events').where({ organization_id: organizationId });
  return after ? q.andWhere('time', '>', after) : q;
}

/** One page of an organization's events, oldest first, and how many there are in all. */
export async function page(db: Db, organizationId: string | null, after: Date | undefined, offset: number, limit: number): Promise<{ items: AuditEvent[]; total: number }> {
  const { rows, total } = await paged<Row>(db, since(db, organizationId, after).select('*').orderBy([{ column: 'time' }, { column: 'seq' }]), limit, offset);
  return { items: rows.map(toEvent), total };
}

/** Where a batch of the export ended: its last event's time as the database wrote it (a JavaScript Date would drop its microseconds), and its number. */
export interface ExportCursor {
  time: string;
  seq: number;
}

/**
 * The events after `cursor` (null: from the start), oldest first, at most `limit`, and the cursor
 * after them: the export reads the trail in batches from where the last one ended, never all at
 * once, each batch a range of the (organization, time, seq) index.
 */
export async function batchAfter(
  db: Db,
  organizationId: string | null,
  after: Date | undefined,
  cursor: ExportCursor | null,
  limit: number,
): Promise<{ items: AuditEvent[]; cursor: ExportCursor | null }> {
  const q = since(db, organizationId, after);
  if (cursor) q.andWhereRaw('(time, seq) > (?::timestamptz, ?)', [cursor.time, cursor.seq]);
  const rows = (await q.select('*', db.raw('time::text AS time_key')).orderBy([{ column: 'time' }, { column: 'seq' }]).limit(limit)) as Array<Row & { time_key: string }>;
  const last = rows[rows.length - 1];
  return { items: rows.map(toEvent), cursor: last ? { time: last.time_key, seq: Number(last.seq) } : null };
}

/**
 * Deletes at most `limit` events older than `before`, oldest first; returns how many. One batch is
 * one short statement, so that pruning a long backlog never holds the table for long.
 */
export async function deleteBefore(db: Db, before: Date, limit: number): Promise<number> {
  return db('audit_events')
    .whereIn('id', db('audit_events').where('time', '<', before).orderBy('time').limit(limit).select('id'))
    .delete();
}

/** The actor of the first successful event of a resource with this action (its creation); null when none is kept. */
export async function firstActor(db: Db, resourceType: string, resourceId: string, action: string): Promise<Pick<AuditEvent, 'actorType' | 'actorId' | 'actorName' | 'tokenId'> | null> {
  const row = await db('audit_events')
    .where({ resource_type: resourceType, resource_id: resourceId, action, result: 'success' })
    .orderBy('seq')
    .first<Pick<Row, 'actor_type' | 'actor_id' | 'actor_name' | 'token_id'> | undefined>('actor_type', 'actor_id', 'actor_name', 'token_id');
  return row ? { actorType: row.actor_type, actorId: row.actor_id, actorName: row.actor_name, tokenId: row.token_id } : null;
}
