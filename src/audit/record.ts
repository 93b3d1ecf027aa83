// Writing the audit trail. A change is recorded by the service that makes it, with the change's
// own transaction (recordChange), so that both commit or neither: a change that rolls back leaves
// no record, and no change is left without one. Who acts and from where come from the request's
// WorkScope (src/logger.ts), set once the caller is authenticated; work outside a request (a
// scheduler, a trigger) is the system's.
import type { Principal } from '../auth/subject.js';
import type { Db } from '../db/index.js';
import { newId } from '../ids.js';
import { currentScope, type WorkActor } from '../logger.js';
import { ANONYMOUS_ACTOR, SYSTEM_ACTOR } from './actor.js';
import * as store from './store.js';

/** A few facts about a change; never a secret (a value, a token, a key). */
export type Details = Record<string, string | number | boolean | null | undefined>;

export interface Change {
  /** `<resource>.<verb>`, e.g. workspace.update, run.apply. */
  action: string;
  /** The resource changed, as the API names it: its type (plural, as in JSON:API) and id. */
  resource: { type: string; id: string };
  /** Null for a user's own things (a user token), which belong to no organization: the site's trail. */
  organizationId: string | null;
  details?: Details;
  /** Who acts, when not the request's caller (a run trigger queues its run for the source run's creator). */
  actor?: WorkActor;
}

/**
 * Names of details that could carry a secret: dropped whatever the caller passed, so that a slip
 * in one service cannot put a credential in the trail.
 */
const SECRET_NAMES = /value|token|secret|password|private|credential|state-?content/i;
/** A detail is a fact, not a document. */
const MAX_DETAIL_CHARS = 256;

function clean(details: Details | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(details ?? {})) {
    if (v === undefined || SECRET_NAMES.test(name)) continue;
    out[name] = typeof v === 'string' && v.length > MAX_DETAIL_CHARS ? `${v.slice(0, MAX_DETAIL_CHARS)}…` : v;
  }
  return out;
}

/** Records a change that succeeds. Call it with the change's transaction. */
export async function recordChange(trx: Db, change: Change): Promise<void> {
  await insertEvent(trx, change.actor, {
    organizationId: change.organizationId,
    action: change.action,
    resourceType: change.resource.type,
    resourceId: change.resource.id,
    result: 'success',
    details: clean(change.details),
  });
}

/** Writes an event, its actor (unless given) and address taken from the request's scope, else the system's. */
async function insertEvent(
  db: Db,
  actor: WorkActor | undefined,
  e: Omit<store.NewEvent, 'id' | 'actorType' | 'actorId' | 'actorName' | 'tokenId' | 'clientAddress' | 'requestId'>,
): Promise<void> {
  const scope = currentScope();
  const who = actor ?? scope?.actor ?? SYSTEM_ACTOR;
  await store.insert(db, {
    ...e,
    id: newId('ae'),
    actorType: who.type,
    actorId: who.id,
    actorName: who.name,
    tokenId: who.tokenId ?? null,
    clientAddress: scope?.address ?? null,
    requestId: typeof scope?.fields.reqId === 'string' ? scope.fields.reqId : null,
  });
}

export interface Refusal {
  organizationId: string | null;
  method: string;
  /** The route's pattern (e.g. /api/v2/workspaces/:id), or the path when no route matched. */
  route: string;
  /** The path as logged (signed URLs' secrets hidden); ids only, never a body. */
  path: string;
  status: number;
  /** Who asked, when not the request's caller (a failed sign-in's visitor is nobody yet). */
  actor?: WorkActor;
}

/**
 * Records a change request that was refused (4xx) or failed (5xx), after its answer, outside any
 * transaction (whatever the request did rolled back). The request's body is never recorded.
 */
export async function recordRefusal(db: Db, r: Refusal): Promise<void> {
  await insertEvent(db, r.actor, {
    organizationId: r.organizationId,
    action: `request.${r.method.toLowerCase()}`,
    resourceType: 'requests',
    resourceId: r.route,
    result: r.status >= 500 ? 'failed' : 'denied',
    details: { method: r.method, path: r.path, status: r.status },
  });
}

/** Refusals by `anonymous` recorded per client address and minute: more are a flood, not news. */
export const ANONYMOUS_REFUSALS_PER_MINUTE = 30;
const anonymousWindows = new Map<string, { start: number; count: number }>();

/**
 * Records a refusal of a visitor who has proven nothing (a failed sign-in), as `anonymous`, but
 * at most ANONYMOUS_REFUSALS_PER_MINUTE per address and minute (per otfd): anyone can send these,
 * and a flood of them must not fill the trail (or the database).
 */
export async function recordAnonymousRefusal(db: Db, r: Omit<Refusal, 'actor' | 'organizationId'>): Promise<void> {
  const address = currentScope()?.address ?? 'unknown';
  const now = Date.now();
  if (anonymousWindows.size > 10_000) {
    for (const [a, w] of anonymousWindows) if (now - w.start >= 60_000) anonymousWindows.delete(a);
    // Still full within the minute: a flood from many addresses, and no news of a new one.
    if (anonymousWindows.size > 10_000 && !anonymousWindows.has(address)) return;
  }
  let w = anonymousWindows.get(address);
  if (!w || now - w.start >= 60_000) anonymousWindows.set(address, (w = { start: now, count: 0 }));
  if (++w.count > ANONYMOUS_REFUSALS_PER_MINUTE) return;
  await recordRefusal(db, { ...r, organizationId: null, actor: ANONYMOUS_ACTOR });
}

/**
 * Runs a change that has no transaction of its own in one, with its record: `change` names it, or
 * says from the change's result whether anything changed (null: nothing to record).
 */
export async function audited<T>(db: Db, fn: (trx: Db) => Promise<T>, change: Change | ((result: T) => Change | null)): Promise<T> {
  return db.transaction(async (trx) => {
    const result = await fn(trx);
    const c = typeof change === 'function' ? change(result) : change;
    if (c) await recordChange(trx, c);
    return result;
  });
}

/**
 * Who created a resource, as the trail recorded its creation (`action`), with the token used: the
 * actor an upload to a signed URL stands for, since otfd hands that URL to the creator. For a
 * resource whose creation is no longer on record (made before the trail, or pruned), the creator
 * the resource itself names.
 */
export async function creatorOf(db: Db, resource: { type: string; id: string }, action: string, createdBy: Principal | null): Promise<WorkActor> {
  const first = await store.firstActor(db, resource.type, resource.id, action);
  if (first) return { type: first.actorType, id: first.actorId, name: first.actorName, tokenId: first.tokenId ?? undefined };
  if (!createdBy) return SYSTEM_ACTOR;
  // A principal says only users, teams or runs: a run's principal is one of its jobs.
  const type = createdBy.type === 'teams' ? 'team' : createdBy.type === 'runs' ? 'job' : 'user';
  return { type, id: createdBy.id, name: createdBy.name };
}
