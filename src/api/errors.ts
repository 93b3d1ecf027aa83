// The one place where errors become HTTP responses: typed service errors, body-parser errors and
// unknown routes all leave as JSON:API error documents.
import type { Context, Next } from 'koa';
import { databaseTrouble } from '../db/index.js';
import { AppError } from '../errors.js';
import { MEDIA_TYPE } from './jsonapi.js';
import type { AppState } from './http.js';

export interface ErrorObject {
  status: string;
  title: string;
  detail: string;
  source?: { pointer?: string; parameter?: string };
}

export function errorDocument(status: number, title: string, detail: string, source?: ErrorObject['source']): { errors: ErrorObject[] } {
  const e: ErrorObject = { status: String(status), title, detail };
  if (source && (source.pointer || source.parameter)) e.source = source;
  return { errors: [e] };
}

/** Errors thrown by co-body (koa-body) and by koa's ctx.throw carry a status and a type. */
interface HttpishError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
  message?: string;
}

function fromBodyParser(err: HttpishError): { status: number; title: string; detail: string } | null {
  // co-body rethrows JSON.parse's SyntaxError with status 400.
  // The parser's own message quotes the body, which may hold a secret: say where, not what.
  if (((err as unknown) instanceof SyntaxError && err.status === 400) || err.type === 'entity.parse.failed') {
    const position = /position (\d+)/.exec(err.message ?? '');
    return { status: 400, title: 'bad request', detail: `malformed JSON in the request body${position ? ` at position ${position[1]}` : ''}` };
  }
  switch (err.type) {
    case 'entity.too.large':
      return { status: 413, title: 'payload too large', detail: 'the request body is too large' };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, title: 'unsupported media type', detail: err.message ?? 'unsupported encoding' };
    case 'request.aborted':
      return { status: 400, title: 'bad request', detail: 'the request was aborted by the client' };
    default:
      return null;
  }
}

/** Seconds a client is told to wait before it tries again while the database is away. */
export const RETRY_AFTER_SECONDS = 5;

export async function errorMiddleware(ctx: Context & { state: AppState }, next: Next): Promise<void> {
  try {
    await next();
  } catch (err) {
    let status: number;
    let doc: ReturnType<typeof errorDocument>;
    if (err instanceof AppError) {
      status = err.status;
      doc = errorDocument(status, err.title, err.message, { pointer: err.pointer, parameter: err.parameter });
    } else {
      const e = err as HttpishError;
      const parsed = fromBodyParser(e);
      const httpStatus = e.status ?? e.statusCode;
      const trouble = parsed ? null : databaseTrouble(err);
      if (trouble) {
        // Not a bug of ours: PostgreSQL is away or slow. The client should come back, not give up.
        status = 503;
        ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
        ctx.state.log.warn({ reason: (err as Error).message, trouble }, 'database unavailable');
        doc = errorDocument(
          503,
          'service unavailable',
          trouble === 'timeout'
            ? 'the database did not answer in time (statement timeout); try again later'
            : 'the database is unreachable; try again later',
        );
      } else if (parsed) {
        status = parsed.status;
        doc = errorDocument(status, parsed.title, parsed.detail);
      } else if (httpStatus && httpStatus < 500 && e.expose) {
        status = httpStatus;
        doc = errorDocument(status, 'bad request', e.message ?? 'bad request');
      } else {
        status = 500;
        ctx.state.log.error({ err }, 'request failed');
        doc = errorDocument(500, 'internal server error', `the server failed to handle the request (request id ${ctx.state.requestId})`);
      }
    }
    ctx.status = status;
    ctx.type = MEDIA_TYPE;
    ctx.body = doc;
  }
}
