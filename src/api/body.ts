// Request bodies read as streams with a size limit: uploads (configuration tarballs, state files,
// runner logs and artifacts) and, whole, JSON bodies before they are parsed.
import { AppError, BadRequestError, PayloadTooLargeError } from '../errors.js';
import type { Context } from 'koa';

/**
 * The body's chunks; 413 as soon as it exceeds `limit` bytes (or declares that it will). The
 * connection is closed after such an answer rather than reading and discarding the rest; the
 * request stream is not destroyed on an early exit, so the answer still reaches the client.
 */
export async function* limitedBody(ctx: Context, limit: number, what: string): AsyncGenerator<Buffer> {
  const tooLarge = (detail: string) => {
    ctx.set('Connection', 'close');
    return new PayloadTooLargeError(detail);
  };
  const declared = Number(ctx.get('Content-Length') || 0);
  if (declared > limit) throw tooLarge(`${what} may be at most ${limit} bytes; this one has ${declared}`);
  let size = 0;
  try {
    for await (const chunk of ctx.req.iterator({ destroyOnReturn: false })) {
      const piece = chunk as Buffer;
      size += piece.length;
      if (size > limit) throw tooLarge(`${what} may be at most ${limit} bytes`);
      yield piece;
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new BadRequestError(`the upload of ${what} ended before it was complete`);
  }
}

/** The whole body in memory, for bodies that are small by nature. */
export async function readBody(ctx: Context, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of limitedBody(ctx, limit, what)) chunks.push(chunk);
  return Buffer.concat(chunks);
}
