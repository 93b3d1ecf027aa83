// HTTP routes of comments (/runs/:id/comments, /comments/:id) and run events (/runs/:id/run-events,
// /run-events/:id), with their JSON:API views.
import { encode, pageOffset, paginate, parseIncludes, parsePage, resources, timestamp, type Resource, type ResourceType, type View } from '../api/jsonapi.js';
import { body, query, requestUrl, send, subjectOf, type ApiRouter, type Ctx, type Site } from '../api/http.js';
import { Type, resourceDocument, validator } from '../api/schema.js';
import { userType } from '../users/index.js';
import { MAX_COMMENT_LENGTH, type RunComment, type RunCommentService } from './comments.js';
import type { RunEventRecord } from './events.js';
import { presentPrincipalAsUser, principalUserId } from './presenters.js';

const readCreateComment = validator(
  resourceDocument('comments', {
    attributes: Type.Object({ body: Type.String({ minLength: 1, maxLength: MAX_COMMENT_LENGTH }) }),
  }),
);

export const commentType: ResourceType = {
  type: 'comments',
  attributes: ['body', 'created-at'],
  relationships: { 'run-event': 'run-events' },
  selfLink: (v) => `/api/v2/comments/${v.id}`,
};

export function presentComment(c: RunComment): View {
  return { id: c.id, body: c.body, 'created-at': timestamp(c.createdAt), 'run-event': c.eventId ? { id: c.eventId } : null };
}

export const runEventType: ResourceType = {
  type: 'run-events',
  attributes: ['action', 'created-at', 'description'],
  relationships: { actor: 'users', comment: 'comments' },
  selfLink: (v) => `/api/v2/run-events/${v.id}`,
};

export function presentRunEvent(e: RunEventRecord): View {
  return {
    id: e.id,
    action: e.action,
    'created-at': timestamp(e.createdAt),
    description: e.description,
    actor: e.actor ? { id: principalUserId(e.actor) } : null,
    comment: e.commentId ? { id: e.commentId } : null,
  };
}

export function registerCommentRoutes(router: ApiRouter, deps: { comments: RunCommentService; site: Site }): void {
  const { comments, site } = deps;

  router.get('/runs/:id/comments', async (ctx) => {
    const page = parsePage(query(ctx));
    const { items, total } = await comments.list(subjectOf(ctx), ctx.params.id, page.size, pageOffset(page));
    send(ctx, 200, encode(commentType, items.map(presentComment), paginate(page, total, requestUrl(ctx, site))));
  });

  router.post('/runs/:id/comments', async (ctx) => {
    const doc = readCreateComment(body(ctx));
    const comment = await comments.create(subjectOf(ctx), ctx.params.id, doc.data.attributes.body);
    send(ctx, 201, encode(commentType, presentComment(comment)));
  });

  router.get('/comments/:id', async (ctx) => {
    send(ctx, 200, encode(commentType, presentComment(await comments.get(subjectOf(ctx), ctx.params.id))));
  });

  /** include=actor and include=comment on events (of runs the caller may read). */
  async function included(ctx: Ctx, events: RunEventRecord[]): Promise<Resource[]> {
    const wanted = parseIncludes(query(ctx));
    const out: Resource[] = [];
    if (wanted.has('actor')) out.push(...resources(userType, events.flatMap((e) => (e.actor ? [presentPrincipalAsUser(e.actor)] : []))));
    if (wanted.has('comment')) {
      const found = await comments.byIds(events.flatMap((e) => (e.commentId ? [e.commentId] : [])));
      out.push(...resources(commentType, found.map(presentComment)));
    }
    return out;
  }

  router.get('/runs/:id/run-events', async (ctx) => {
    const page = parsePage(query(ctx));
    const { items, total } = await comments.events(subjectOf(ctx), ctx.params.id, page.size, pageOffset(page));
    send(ctx, 200, encode(runEventType, items.map(presentRunEvent), { ...paginate(page, total, requestUrl(ctx, site)), included: await included(ctx, items) }));
  });

  router.get('/run-events/:id', async (ctx) => {
    const event = await comments.event(subjectOf(ctx), ctx.params.id);
    send(ctx, 200, encode(runEventType, presentRunEvent(event), { included: await included(ctx, [event]) }));
  });
}
