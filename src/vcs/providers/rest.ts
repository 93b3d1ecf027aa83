// The one way the adapters talk to a provider's REST API: global fetch with a timeout on every
// call, JSON bodies, and every failure turned into a VcsApiError whose message says what was asked
// and the status the provider answered: never the text of its answer (an api-url pointed at an
// internal host must not make otfd a way to read that host's pages) and never the token (it
// travels only in a header). Hosts resolving to link-local or unspecified addresses are refused
// at request time (see ../addresses.ts), and redirects are not followed (they could lead there).
import { STATUS_CODES } from 'node:http';
import { refusedHost } from '../addresses.js';
import { splitOwnerAndName } from '../names.js';
import { VcsApiError } from '../types.js';

/** How long one call may take before it counts as unreachable; a provider that hangs must not hold a run. */
export const DEFAULT_TIMEOUT_MS = 15_000;

/** The largest answer read: a pull request's 3,000 files are well under it; more is not a provider's answer. */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

export interface AdapterOptions {
  /** Milliseconds before a call is given up (status 0). */
  timeoutMs?: number;
}

export interface RestAnswer {
  status: number;
  /** The parsed JSON body; null when there was none (204) or it was not JSON. */
  body: unknown;
  headers: Headers;
}

export class RestClient {
  private readonly base: string;
  private readonly timeoutMs: number;

  constructor(
    /** The provider's name for messages, e.g. "GitHub". */
    private readonly label: string,
    apiUrl: string,
    /** The headers every call sends, the token's among them. */
    private readonly headers: Record<string, string>,
    /** The token, only so that a message which somehow holds it is cleaned. */
    private readonly token: string,
    options: AdapterOptions = {},
  ) {
    this.base = apiUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * Calls `path` (already encoded, starting with "/") under the API's URL. Statuses in `accept`
   * besides 2xx (e.g. 404 for a delete) are answered, not thrown.
   */
  async call(method: string, path: string, body?: unknown, accept: number[] = []): Promise<RestAnswer> {
    const what = `${method} ${path.split('?')[0]}`;
    let refused: string | null;
    try {
      refused = await refusedHost(new URL(this.base));
    } catch {
      refused = 'an invalid URL';
    }
    if (refused) throw new VcsApiError(`${this.label} API not called (${what}): ${refused}; otfd makes no requests there`, 400);
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          ...this.headers,
          Accept: this.headers.Accept ?? 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'manual',
      });
    } catch (err) {
      throw new VcsApiError(this.clean(`${this.label} API at ${this.origin()} unreachable (${what}): ${reasonOf(err, this.timeoutMs)}`), 0);
    }
    let text: string;
    try {
      text = await readLimited(res, MAX_ANSWER_BYTES);
    } catch (err) {
      if (err instanceof VcsApiError) throw new VcsApiError(`${this.label} API ${what}: ${err.message}`, err.status);
      throw new VcsApiError(this.clean(`${this.label} API at ${this.origin()} broke off its answer (${what}): ${reasonOf(err, this.timeoutMs)}`), 0);
    }
    const parsed = parseJson(text);
    if ((res.status >= 200 && res.status < 300) || accept.includes(res.status)) {
      return { status: res.status, body: parsed, headers: res.headers };
    }
    throw this.refused(method, path, { status: res.status, body: parsed, headers: res.headers });
  }

  /**
   * The error for an answer that refused the call: its status (with the standard reason phrase,
   * not the provider's) and what was asked. What the provider said is not repeated: see above.
   */
  refused(method: string, path: string, answer: RestAnswer): VcsApiError {
    const phrase = STATUS_CODES[answer.status];
    const message = `${this.label} answered ${answer.status}${phrase ? ` ${phrase}` : ''} when asked ${method} ${path.split('?')[0]}`;
    return new VcsApiError(this.clean(message), answer.status);
  }

  /** GETs every page of a list: `page` counts from 1, and a page is followed while the provider says there is a next one. */
  async pages(path: string, pageParam: string, sizeParam: string, size: number, maxPages = 100): Promise<unknown[]> {
    const items: unknown[] = [];
    const sep = path.includes('?') ? '&' : '?';
    for (let page = 1; page <= maxPages; page++) {
      const answer = await this.call('GET', `${path}${sep}${sizeParam}=${size}&${pageParam}=${page}`);
      if (!Array.isArray(answer.body)) throw this.unexpected('GET', path, 'a list');
      items.push(...answer.body);
      if (!hasNextPage(answer.headers) || answer.body.length === 0) break;
    }
    return items;
  }

  /** The error for an answer whose shape is not the documented one. */
  unexpected(method: string, path: string, expected: string): VcsApiError {
    // 502: the provider answered, but not as documented; retrying may help as much as with a 5xx.
    return new VcsApiError(`${this.label} API ${method} ${path.split('?')[0]} did not answer ${expected}`, 502);
  }

  private origin(): string {
    try {
      return new URL(this.base).origin;
    } catch {
      return 'an invalid URL';
    }
  }

  /** Belt and braces: a message never carries the token, whatever a provider echoed. */
  private clean(message: string): string {
    return this.token.length > 0 ? message.split(this.token).join('[token]') : message;
  }
}

/** The body as text, refusing (502) one larger than `limit` bytes instead of holding it all. */
async function readLimited(res: Response, limit: number): Promise<string> {
  if (!res.body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.length;
    if (size > limit) throw new VcsApiError(`the answer is larger than ${limit} bytes`, 502);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Link: <…>; rel="next" (GitHub, GitLab, Forgejo) or X-Next-Page (GitLab) say there is a next page. */
function hasNextPage(headers: Headers): boolean {
  const link = headers.get('link') ?? '';
  if (/rel="?next"?/.test(link)) return true;
  const next = headers.get('x-next-page');
  return next !== null && next.trim() !== '';
}

function parseJson(text: string): unknown {
  if (text.length === 0) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function reasonOf(err: unknown, timeoutMs: number): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof Error) {
      const code = (cause as { code?: unknown }).code;
      return typeof code === 'string' ? code : cause.message;
    }
    return err.message;
  }
  return String(err);
}

/** Reads a string field of a JSON object, or null. */
export function str(obj: unknown, key: string): string | null {
  if (obj === null || typeof obj !== 'object') return null;
  const v = (obj as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : null;
}

/** Reads a field of a JSON object. */
export function field(obj: unknown, key: string): unknown {
  if (obj === null || typeof obj !== 'object') return undefined;
  return (obj as Record<string, unknown>)[key];
}

/** "owner/name" split and checked (src/vcs/names.ts): both parts are what GitHub and Forgejo allow in a name. */
export function ownerAndName(label: string, identifier: string): { owner: string; name: string } {
  const split = splitOwnerAndName(identifier);
  if (!split) throw new VcsApiError(`${label}: "${identifier.slice(0, 200)}" is not a repository identifier of the form owner/name`, 400);
  return split;
}

/** At most `max` characters (code points, so that no emoji is cut in half): providers cut descriptions at 140. */
export function cut(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, max).join('');
}

/** The unique, non-empty paths in order of first appearance. */
export function uniquePaths(paths: Array<string | null>): string[] {
  const seen = new Set<string>();
  for (const p of paths) if (p) seen.add(p);
  return [...seen];
}
