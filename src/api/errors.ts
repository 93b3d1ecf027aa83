// The one place where errors become HTTP responses: typed service errors, body-parser errors and
// unknown routes all leave as JSON:API error documents.
import type { Context, Next } from 'koa';
import { databaseTrouble } from '../db/index.js';
import { AppError } from '../errors.js';
import { MEDIA_TYPE } from './jsonapi.js';
import type { AppState } from './http.js';
import type { Logger } from '../logger.js';

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

/** Errors thrown by koa's ctx.throw (and Node's own HTTP errors) carry a status. */
interface HttpishError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message?: string;
}

/** Seconds a client is told to wait before it tries again while the database is away. */
export const RETRY_AFTER_SECONDS = 5;

/** Every error of a request as a JSON:API error document; the unexpected ones logged. */
export function errorMiddleware(logger: Logger): (ctx: Context & { state: AppState }, next: Next) => Promise<void> {
  return async (ctx, next) => {
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
        const httpStatus = e.status ?? e.statusCode;
        const trouble = databaseTrouble(err);
        if (trouble) {
          // Not a bug of ours: PostgreSQL is away or slow. The client should come back, not give up.
          status = 503;
          ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
          logger.warn({ reason: (err as Error).message, trouble }, 'database unavailable');
          doc = errorDocument(
            503,
            'service unavailable',
            trouble === 'timeout'
              ? 'the database did not answer in time (statement timeout); try again later'
              : 'the database is unreachable; try again later',
          );
        } else if (httpStatus && httpStatus < 500 && e.expose) {
          status = httpStatus;
          doc = errorDocument(status, 'bad request', e.message ?? 'bad request');
        } else {
          status = 500;
          logger.error({ err }, 'request failed');
          doc = errorDocument(500, 'internal server error', `the server failed to handle the request (request id ${ctx.state.requestId})`);
        }
      }
      ctx.status = status;
      ctx.type = MEDIA_TYPE;
      ctx.body = doc;
    }
  };
}
