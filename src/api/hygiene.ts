// HTTP hygiene shared by every route: security headers, refusal of NUL bytes and invalid UTF-8
// before anything reaches the database, a JSON body parser that bounds size and depth and checks
// the content type, and a limit on failed authentication per client address.
import type { Context, Next } from 'koa';
import { BadRequestError, InvalidError, TooManyRequestsError, UnauthorizedError, UnsupportedMediaTypeError } from '../errors.js';
import { readBody } from './body.js';
import type { AppState } from './http.js';
import { MAX_LIST_VALUES, MEDIA_TYPE } from './jsonapi.js';

type AnyCtx = Context & { state: AppState };

// ---------------------------------------------------------------- headers

/**
 * nosniff on every answer; HSTS when otfd itself serves TLS (behind plain HTTP it would be a lie);
 * no-store on every API answer. Many API answers carry a secret (token creation, sensitive-less
 * variable values, state and its outputs, signed upload and log URLs), and telling them apart
 * route by route is easy to get wrong when a route is added; Terraform Cloud does not let its API
 * answers be cached either.
 */
export function setSecurityHeaders(ctx: AnyCtx, opts: { tls: boolean }): void {
  ctx.set('X-Content-Type-Options', 'nosniff');
  if (opts.tls) ctx.set('Strict-Transport-Security', 'max-age=31536000');
  if (ctx.path.startsWith('/api/') || ctx.path.startsWith('/_signed/')) ctx.set('Cache-Control', 'no-store');
}

// ---------------------------------------------------------------- path, query and headers

/** decodeURIComponent that says what was wrong instead of throwing a URIError. */
function decoded(raw: string, where: string, parameter?: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw new BadRequestError(`the ${where} is not valid percent-encoded UTF-8`, { parameter });
  }
  if (value.includes('\0')) throw new BadRequestError(`the ${where} may not contain a NUL byte`, { parameter });
  return value;
}

/** The most query parameters a request may have (filter[tagged][i][key] takes one per tag). */
export const MAX_QUERY_PARAMETERS = 300;
const LIST_PARAMETER = /^(include|search\[.*\]|filter\[.*\]|fields\[.*\])$/;

/** The longest query string read, in bytes; more is refused before it is parsed. */
export const MAX_QUERY_BYTES = 64 * 1024;

/**
 * Path, query and credentials checked before routing: PostgreSQL refuses NUL in text and would
 * answer an error the API could only report as a 500, and a URIError in the router is a 500 too.
 */
export function refuseBadInput(ctx: AnyCtx, next: Next): Promise<void> {
  decoded(ctx.path, 'path');
  const qs = ctx.querystring;
  if (qs.length > MAX_QUERY_BYTES) throw new BadRequestError(`the query string may be at most ${MAX_QUERY_BYTES} bytes`);
  if (qs) {
    for (const pair of qs.split('&')) {
      const eq = pair.indexOf('=');
      const name = decoded((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '), 'query parameter name');
      if (eq >= 0) decoded(pair.slice(eq + 1).replace(/\+/g, ' '), `query parameter ${name}`, name);
    }
  }
  const params = Object.entries(ctx.query);
  if (params.length > MAX_QUERY_PARAMETERS) {
    throw new BadRequestError(`a request may have at most ${MAX_QUERY_PARAMETERS} query parameters, got ${params.length}`);
  }
  // Every list filter at once, including on routes that ignore it: no request makes any later
  // step split, look up or match thousands of values.
  for (const [name, value] of params) {
    if (!LIST_PARAMETER.test(name)) continue;
    const values = new Set((Array.isArray(value) ? value : [value ?? '']).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean));
    if (values.size > MAX_LIST_VALUES) {
      throw new InvalidError(`query parameter ${name} may list at most ${MAX_LIST_VALUES} values, got ${values.size}`, { parameter: name });
    }
  }
  // Node's parser already refuses NUL and control bytes in headers; bytes above ASCII in a token
  // can never match one, and would only be re-encoded on their way to the database.
  const authorization = ctx.get('Authorization');
  if (authorization && !/^[\x20-\x7e]*$/.test(authorization)) {
    throw new UnauthorizedError('the Authorization header must be "Bearer <token>" in printable ASCII');
  }
  // Not async: a check that throws is turned into a rejection by koa-compose, and a request that
  // passes costs no promise of its own.
  return next();
}

// ---------------------------------------------------------------- JSON bodies

export interface JsonBodyOptions {
  /** Largest body, in bytes. */
  limit: number;
  /** Deepest nesting of arrays and objects. */
  maxDepth: number;
  /** Content types passed on unread (the agent protocol's log chunks and artifacts). */
  rawTypes?: string[];
}

const JSON_TYPES = [MEDIA_TYPE, 'application/json'];

function hasBody(ctx: AnyCtx): boolean {
  const length = ctx.get('Content-Length');
  if (length) return Number(length) > 0;
  return Boolean(ctx.get('Transfer-Encoding'));
}

/**
 * The deepest nesting of the JSON text, found without recursion and without parsing, so that no
 * depth of input can exhaust the stack of the parser or of anything that walks the result.
 */
export function jsonDepth(text: string, stopAt: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > stopAt) return deepest;
      }
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return deepest;
}

/** What PostgreSQL cannot store in text: NUL, and UTF-16 halves without their other half. */
function unstorable(s: string): 'nul' | 'surrogate' | null {
  if (s.includes('\0')) return 'nul';
  if (!(s as string & { isWellFormed(): boolean }).isWellFormed()) return 'surrogate';
  return null;
}

/** Where in the body a JSON pointer points, in words: `attribute "name"`, or the pointer. */
function memberWords(pointer: string): string {
  const m = /^\/data\/attributes\/(.+)$/.exec(pointer);
  return m ? `attribute "${m[1]}"` : `the member at ${pointer}`;
}

/** The first string (value or member name) PostgreSQL could not store, as a pointer and a reason. */
export function findUnstorable(value: unknown): { pointer: string; detail: string } | null {
  const problem = (pointer: string, kind: 'nul' | 'surrogate') => ({
    pointer,
    detail: kind === 'nul' ? `${memberWords(pointer)} must not contain NUL characters (\\u0000)` : `${memberWords(pointer)} must be valid Unicode text (it has an unpaired surrogate)`,
  });
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length > 0) {
    const [v, pointer] = stack.pop()!;
    if (typeof v === 'string') {
      const kind = unstorable(v);
      if (kind) return problem(pointer || '/', kind);
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push([item, `${pointer}/${i}`]));
    } else if (v !== null && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) {
        const at = `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        const kind = unstorable(k);
        if (kind) return problem(at, kind);
        stack.push([item, at]);
      }
    }
  }
  return null;
}

/**
 * Parses JSON request bodies into ctx.request.body ({} when there is none). Refuses: other content
 * types (415), other charsets or content encodings (415), more than `limit` bytes (413), invalid
 * UTF-8 (400), nesting deeper than `maxDepth` (400), malformed JSON (400), NUL in any string (422).
 */
export function jsonBody(opts: JsonBodyOptions) {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // Most requests have no body: they pass on without an async layer (and its promise) of their own.
  return <C extends AnyCtx>(ctx: C, next: Next): Promise<void> => {
    (ctx.request as { body?: unknown }).body = {};
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(ctx.method) || !hasBody(ctx)) return next();
    return parse(ctx, next);
  };

  async function parse(ctx: AnyCtx, next: Next): Promise<void> {
    const request = ctx.request as { body?: unknown };
    if (opts.rawTypes && ctx.is(opts.rawTypes)) {
      await next();
      return;
    }
    if (!ctx.is(JSON_TYPES)) {
      throw new UnsupportedMediaTypeError(`the request body must be ${JSON_TYPES.join(' or ')}, got "${ctx.get('Content-Type') || 'no content type'}"`);
    }
    const charset = ctx.request.charset;
    if (charset && charset.toLowerCase() !== 'utf-8' && charset.toLowerCase() !== 'utf8') {
      throw new UnsupportedMediaTypeError(`the request body must be encoded in UTF-8, not ${charset}`);
    }
    const encoding = ctx.get('Content-Encoding');
    if (encoding && encoding.toLowerCase() !== 'identity') throw new UnsupportedMediaTypeError(`content encoding ${encoding} is not accepted`);

    const raw = await readBody(ctx, opts.limit, 'a JSON request body');
    let text: string;
    try {
      text = decoder.decode(raw);
    } catch {
      throw new BadRequestError('the request body is not valid UTF-8');
    }
    if (text.trim() === '') {
      await next();
      return;
    }
    if (jsonDepth(text, opts.maxDepth) > opts.maxDepth) {
      throw new BadRequestError(`the request body nests arrays and objects more than ${opts.maxDepth} deep`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      // The parser's own message quotes the body, which may hold a secret: say where, not what.
      const position = /position (\d+)/.exec((err as Error).message);
      throw new BadRequestError(`malformed JSON in the request body${position ? ` at position ${position[1]}` : ''}`);
    }
    // A JSON:API document, and every body of the agent protocol, is an object; anything else
    // would read as "no body" to routes whose body is optional.
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new InvalidError('the request body must be a JSON object', { pointer: '/' });
    }
    const bad = findUnstorable(parsed);
    if (bad !== null) throw new InvalidError(bad.detail, { pointer: bad.pointer });
    request.body = parsed;
    await next();
  }
}

// ---------------------------------------------------------------- failed authentication

interface Window {
  start: number;
  failures: number;
}

/**
 * At most `perMinute` failed authentications per client address in a fixed one-minute window;
 * past that, a request of that address whose token fails is answered 429 with Retry-After until
 * the window ends. A good token still goes through: many clients share one address (a NAT, a
 * proxy, agents on one host), and one of them sending bad tokens must not lock the others out
 * (an agent locked out for the grace period would be written off). Tokens are 256-bit random
 * values, so there is nothing to guess; the limit keeps a flood of bad tokens from reading as
 * anything but 429. Successful requests are not counted. In memory, per otfd: replicas each count
 * on their own. 0 turns it off.
 */
export function authFailureLimit(perMinute: number, now: () => number = Date.now) {
  const windows = new Map<string, Window>();
  const WINDOW_MS = 60_000;
  const current = (address: string): Window | undefined => {
    const w = windows.get(address);
    if (w && now() - w.start >= WINDOW_MS) {
      windows.delete(address);
      return undefined;
    }
    return w;
  };
  const sweep = () => {
    for (const [address, w] of windows) if (now() - w.start >= WINDOW_MS) windows.delete(address);
  };
  return async <C extends AnyCtx>(ctx: C, next: Next): Promise<void> => {
    if (perMinute <= 0) {
      await next();
      return;
    }
    const address = ctx.ip || 'unknown';
    try {
      await next();
    } catch (err) {
      if (!(err instanceof UnauthorizedError)) throw err;
      if (windows.size > 100_000) sweep();
      const entry = current(address) ?? { start: now(), failures: 0 };
      entry.failures++;
      windows.set(address, entry);
      if (entry.failures <= perMinute) throw err;
      const seconds = Math.max(1, Math.ceil((entry.start + WINDOW_MS - now()) / 1000));
      ctx.set('Retry-After', String(seconds));
      throw new TooManyRequestsError(`more than ${perMinute} failed authentications from this address in a minute; retry after ${seconds} s`);
    }
  };
}
