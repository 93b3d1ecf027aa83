// A run's history as Terraform Cloud's run events show it: every status the run entered, who made
// it so, and the comments left on it, in the order they happened. Events are written when they
// happen, in the transaction that changes the run (RunService.fire, RunService.create, comments),
// because the run's status timestamps keep only the last time each status was entered and say
// neither who caused it nor what was said.
import type { Knex } from 'knex';
import type { Principal } from '../auth/subject.js';
import type { Db } from '../db/index.js';
import { newId } from '../ids.js';
import type { RunStatus } from './machine.js';

/** `created`, a status the run entered (its name, as in TFC's run statuses), or `commented`. */
export type RunEventAction = 'created' | RunStatus | 'commented';

export interface RunEventRecord {
  id: string;
  runId: string;
  action: RunEventAction;
  description: string;
  /** Who caused it; null when otfd did (a runner's report, the workspace queue, auto-apply). */
  actor: Principal | null;
  commentId: string | null;
  createdAt: Date;
}

const DESCRIPTIONS: Record<RunEventAction, string> = {
  created: 'Run created',
  pending: 'Run pending',
  plan_queued: 'Plan queued',
  planning: 'Plan started',
  planned: 'Plan finished',
  planned_and_finished: 'Plan finished: nothing to apply',
  planned_and_saved: 'Plan finished and saved',
  confirmed: 'Apply confirmed',
  apply_queued: 'Apply queued',
  applying: 'Apply started',
  applied: 'Apply finished',
  discarded: 'Run discarded',
  errored: 'Run errored',
  canceled: 'Run canceled',
  force_canceled: 'Run force-canceled',
  commented: 'Comment added',
};

interface RunEventRow {
  id: string;
  run_id: string;
  action: RunEventAction;
  description: string;
  actor_type: Principal['type'] | null;
  actor_id: string | null;
  actor_name: string | null;
  comment_id: string | null;
  created_at: Date;
}

function toEvent(r: RunEventRow): RunEventRecord {
  return {
    id: r.id,
    runId: r.run_id,
    action: r.action,
    description: r.description,
    actor: r.actor_type && r.actor_id ? { type: r.actor_type, id: r.actor_id, name: r.actor_name ?? r.actor_id } : null,
    commentId: r.comment_id,
    createdAt: r.created_at,
  };
}

/** Writes one event of the run, in the caller's transaction. */
export async function recordEvent(
  db: Db,
  e: { runId: string; action: RunEventAction; actor: Principal | null; commentId?: string; detail?: string },
): Promise<string> {
  const id = newId('re');
  await db('run_events').insert({
    id,
    run_id: e.runId,
    action: e.action,
    // An error's message says why the run errored; the run's error-message carries it too.
    description: e.detail ? `${DESCRIPTIONS[e.action]}: ${e.detail}` : DESCRIPTIONS[e.action],
    actor_type: e.actor?.type ?? null,
    actor_id: e.actor?.id ?? null,
    actor_name: e.actor?.name ?? null,
    comment_id: e.commentId ?? null,
  });
  return id;
}

/** The event of a run entering `status`, written by RunService.fire in the transition's transaction. */
export function recordTransition(trx: Knex.Transaction, runId: string, status: RunStatus, actor: Principal | null, error?: string): Promise<string> {
  return recordEvent(trx, { runId, action: status, actor, detail: error });
}

export async function listEvents(db: Db, runId: string, limit: number, offset: number): Promise<RunEventRecord[]> {
  const rows = await db('run_events').where({ run_id: runId }).orderBy('seq').limit(limit).offset(offset).select<RunEventRow[]>('*');
  return rows.map(toEvent);
}

export async function countEvents(db: Db, runId: string): Promise<number> {
  const row = await db('run_events').where({ run_id: runId }).count<{ n: string }[]>({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

export async function findEvent(db: Db, id: string): Promise<RunEventRecord | null> {
  const row = await db('run_events').where({ id }).first<RunEventRow | undefined>();
  return row ? toEvent(row) : null;
}

/** The event that records each of these comments, by comment id. */
export async function eventsOfComments(db: Db, commentIds: string[]): Promise<Map<string, string>> {
  if (commentIds.length === 0) return new Map();
  const rows = await db('run_events').whereIn('comment_id', commentIds).select<{ id: string; comment_id: string }[]>('id', 'comment_id');
  return new Map(rows.map((r) => [r.comment_id, r.id]));
}
