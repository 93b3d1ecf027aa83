// Comments on runs (TFC's Comments API) and the reading of run events. A comment is written with
// its `commented` run event in one transaction, whether it comes through POST /runs/:id/comments
// or with a run action (actions/apply, discard, cancel, force-cancel take a comment too).
import { recordChange } from '../audit/index.js';
import { authorize } from '../auth/authorize.js';
import { principalOf, type Principal, type Subject } from '../auth/subject.js';
import type { Db } from '../db/index.js';
import { InvalidError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { countEvents, eventsOfComments, findEvent, listEvents, recordEvent, type RunEventRecord } from './events.js';
import type { Run, RunService } from './service.js';

export interface RunComment {
  id: string;
  runId: string;
  body: string;
  /** Null for comments made before authors were recorded. */
  author: Principal | null;
  /** The `commented` event that records it; null for comments made before run events were. */
  eventId: string | null;
  createdAt: Date;
}

/** The longest comment, in characters: a comment is a remark on a run, not a place to store files. */
export const MAX_COMMENT_LENGTH = 10_000;

interface CommentRow {
  id: string;
  run_id: string;
  body: string;
  author_type: Principal['type'] | null;
  author_id: string | null;
  author_name: string | null;
  created_at: Date;
}

function toComment(r: CommentRow, eventId: string | null): RunComment {
  return {
    id: r.id,
    runId: r.run_id,
    body: r.body,
    author: r.author_type && r.author_id ? { type: r.author_type, id: r.author_id, name: r.author_name ?? r.author_id } : null,
    eventId,
    createdAt: r.created_at,
  };
}

/** Stores a comment and its `commented` event, in the caller's transaction. */
export async function addComment(db: Db, c: { runId: string; body: string; author: Principal }): Promise<RunComment> {
  const id = newId('wsc');
  const [row] = await db('run_comments')
    .insert({ id, run_id: c.runId, body: c.body, author_type: c.author.type, author_id: c.author.id, author_name: c.author.name })
    .returning('*');
  const eventId = await recordEvent(db, { runId: c.runId, action: 'commented', actor: c.author, commentId: id });
  return toComment(row as CommentRow, eventId);
}

async function withEvents(db: Db, rows: CommentRow[]): Promise<RunComment[]> {
  const events = await eventsOfComments(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => toComment(r, events.get(r.id) ?? null));
}

export class RunCommentService {
  constructor(
    private readonly db: Db,
    private readonly runs: RunService,
  ) {}

  private scope(run: Run) {
    return { organizationId: run.organizationId, workspaceId: run.workspaceId };
  }

  /** The comments of a run, oldest first. */
  async list(subject: Subject, runId: string, limit: number, offset: number): Promise<{ items: RunComment[]; total: number }> {
    const run = await this.runs.get(subject, runId);
    const q = this.db('run_comments').where({ run_id: run.id });
    const [rows, counted] = await Promise.all([
      q.clone().orderBy('created_at').orderBy('id').limit(limit).offset(offset).select<CommentRow[]>('*'),
      q.clone().count<{ n: string }[]>({ n: '*' }).first(),
    ]);
    return { items: await withEvents(this.db, rows), total: Number(counted?.n ?? 0) };
  }

  async get(subject: Subject, id: string): Promise<RunComment> {
    const row = await this.db('run_comments').where({ id }).first<CommentRow | undefined>();
    const run = row ? await this.runs.byId(row.run_id) : null;
    if (!row || !run) throw notFound('comment', id);
    authorize(subject, 'run:read', this.scope(run), () => notFound('comment', id));
    return (await withEvents(this.db, [row]))[0];
  }

  /** Comments of these ids, for include=comment on events whose runs the caller has read. */
  async byIds(ids: string[]): Promise<RunComment[]> {
    if (ids.length === 0) return [];
    return withEvents(this.db, await this.db('run_comments').whereIn('id', ids).select<CommentRow[]>('*'));
  }

  async create(subject: Subject, runId: string, body: string): Promise<RunComment> {
    const run = await this.runs.get(subject, runId);
    authorize(subject, 'run:comment', this.scope(run), () => notFound('run', runId));
    if (body.trim() === '') throw new InvalidError('body must not be empty', { pointer: '/data/attributes/body' });
    return this.db.transaction(async (trx) => {
      const comment = await addComment(trx, { runId: run.id, body, author: principalOf(subject) });
      // The comment's text is the commenter's to show, in the run's events: the trail says only that one was made.
      await recordChange(trx, { action: 'comment.create', resource: { type: 'comments', id: comment.id }, organizationId: run.organizationId, details: { run: run.id, workspace: run.workspaceId } });
      return comment;
    });
  }

  /** The run's events, in the order they happened. */
  async events(subject: Subject, runId: string, limit: number, offset: number): Promise<{ items: RunEventRecord[]; total: number }> {
    const run = await this.runs.get(subject, runId);
    const [items, total] = await Promise.all([listEvents(this.db, run.id, limit, offset), countEvents(this.db, run.id)]);
    return { items, total };
  }

  async event(subject: Subject, id: string): Promise<RunEventRecord> {
    const event = await findEvent(this.db, id);
    const run = event ? await this.runs.byId(event.runId) : null;
    if (!event || !run) throw notFound('run event', id);
    authorize(subject, 'run:read', this.scope(run), () => notFound('run event', id));
    return event;
  }
}
