// Table of the audit domain: audit_events, in time order within each organization.
import type { Db } from '../db/index.js';
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
  const [rows, count] = await Promise.all([
    since(db, organizationId, after).orderBy([{ column: 'time' }, { column: 'seq' }]).offset(offset).limit(limit) as Promise<Row[]>,
    since(db, organizationId, after).count<{ count: number }[]>('* as count'),
  ]);
  return { items: rows.map(toEvent), total: Number(count[0]?.count ?? 0) };
}

/**
 * The events after the one numbered afterSeq (null: from the start), oldest first, at most
 * `limit`: the export reads the trail in batches from where the last batch ended, never all at once.
 */
export async function batchAfter(db: Db, organizationId: string | null, after: Date | undefined, afterSeq: number | null, limit: number): Promise<AuditEvent[]> {
  const q = since(db, organizationId, after);
  // The last event's own time, read in the database: a JavaScript Date would drop its microseconds.
  if (afterSeq !== null) q.andWhereRaw('(time, seq) > (SELECT time, seq FROM audit_events WHERE seq = ?)', [afterSeq]);
  const rows = (await q.orderBy([{ column: 'time' }, { column: 'seq' }]).limit(limit)) as Row[];
  return rows.map(toEvent);
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
