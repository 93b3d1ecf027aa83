// How a runner talks to otfd: over HTTP(S) to its address (pool agents), or over the private Unix
// socket of the otfd it lives in (the server agent). Requests that can safely be repeated are
// retried on network errors, server errors and 429, with exponential backoff that honours
// Retry-After, for long enough to ride out an otfd restart or a PostgreSQL outage of minutes.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface Transport {
  /** e.g. https://otf.example.com:8443 */
  baseUrl: string;
  /** When set, connect to this Unix socket instead of the host of baseUrl. */
  socketPath?: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
    /** What the server's Retry-After asked for, in ms, when it sent one. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(`${what}: HTTP ${status}${body ? `: ${HttpError.detail(body)}` : ''}`);
  }

  private static detail(body: string): string {
    try {
      const doc = JSON.parse(body) as { errors?: Array<{ detail?: string; title?: string }> };
      const e = doc.errors?.[0];
      if (e) return e.detail ?? e.title ?? body;
    } catch {
      // not JSON
    }
    return body.slice(0, 500);
  }
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface RequestOptions {
  token?: string;
  body?: Buffer | string;
  contentType?: string;
  /** Statuses that are answers, not failures (default: 2xx only). */
  accept?: number[];
  /** Retry network errors, 5xx and 429 (for requests that can be repeated), for up to RETRY_MS. */
  retry?: boolean;
  /** Abandons the request (a long-poll the agent no longer wants). */
  signal?: AbortSignal;
  /** Give up on an answer after this long; default 120 s. */
  timeoutMs?: number;
}

/**
 * How long a repeatable request keeps trying: long enough for otfd to be restarted or for its
 * PostgreSQL to come back (both answer nothing, or 503, meanwhile). A state never depends on this
 * budget alone: it waits in the runner's outbox (outbox.ts) for far longer.
 */
export const RETRY_MS = 10 * 60_000;
/** The longest pause between two attempts. */
const MAX_DELAY_MS = 10_000;
/** The longest Retry-After honoured as such; a longer one is cut to this. */
const MAX_RETRY_AFTER_MS = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retry-After in ms (seconds or an HTTP date), or null. */
export function retryAfterMs(headers: http.IncomingHttpHeaders): number | null {
  const raw = headers['retry-after'];
  if (!raw) return null;
  const seconds = Number(raw);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(raw) - Date.now();
  return Number.isFinite(ms) ? Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms)) : null;
}

/** The pause before attempt `attempt + 1`: exponential from 500 ms, capped, with jitter so agents do not return in step. */
export function backoffMs(attempt: number, capMs = MAX_DELAY_MS): number {
  const base = Math.min(capMs, 250 * 2 ** Math.min(attempt, 20));
  return Math.round(base * (0.75 + Math.random() * 0.25));
}

/** Whether an answer is worth asking again for. */
function retriableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

export class HttpClient {
  private readonly agent: http.Agent;

  constructor(readonly transport: Transport) {
    const secure = transport.baseUrl.startsWith('https:') && !transport.socketPath;
    this.agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  /** Accepts a path (/api/v2/...) or an absolute URL of this otfd; only its path and query are used. */
  private target(pathOrUrl: string): { path: string; url: URL } {
    const url = new URL(pathOrUrl, this.transport.baseUrl);
    return { path: url.pathname + url.search, url };
  }

  private open(method: string, pathOrUrl: string, opts: RequestOptions): Promise<http.IncomingMessage> {
    const { path, url } = this.target(pathOrUrl);
    const headers: Record<string, string> = { Accept: 'application/json, application/vnd.api+json, */*' };
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    }
    const secure = url.protocol === 'https:' && !this.transport.socketPath;
    const options: http.RequestOptions = {
      method,
      path,
      headers: { ...headers, Host: url.host },
      agent: this.agent,
      ...(this.transport.socketPath ? { socketPath: this.transport.socketPath } : { host: url.hostname, port: url.port || (secure ? 443 : 80) }),
    };
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request({ ...options, signal: opts.signal }, resolve);
      req.setTimeout(opts.timeoutMs ?? 120_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(opts.body);
    });
  }

  private async attempt(method: string, pathOrUrl: string, opts: RequestOptions): Promise<Response> {
    const res = await this.open(method, pathOrUrl, opts);
    const chunks: Buffer[] = [];
    for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
    return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
  }

  async request(method: string, pathOrUrl: string, opts: RequestOptions = {}): Promise<Response> {
    const what = `${method} ${this.target(pathOrUrl).url.pathname}`;
    const giveUpAt = Date.now() + RETRY_MS;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.attempt(method, pathOrUrl, opts);
      } catch (err) {
        if (opts.retry && Date.now() < giveUpAt && !opts.signal?.aborted) {
          await sleep(backoffMs(attempt));
          continue;
        }
        throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
      }
      if ((res.status >= 200 && res.status < 300) || opts.accept?.includes(res.status)) return res;
      const after = retryAfterMs(res.headers);
      if (retriableStatus(res.status) && opts.retry && Date.now() < giveUpAt && !opts.signal?.aborted) {
        await sleep(after ?? backoffMs(attempt));
        continue;
      }
      throw new HttpError(res.status, res.body.toString('utf8'), what, after);
    }
  }

  async json<T>(method: string, pathOrUrl: string, opts: RequestOptions & { json?: unknown } = {}): Promise<T> {
    const body = opts.json === undefined ? opts.body : JSON.stringify(opts.json);
    const res = await this.request(method, pathOrUrl, { ...opts, body, contentType: opts.contentType ?? 'application/json' });
    return (res.body.length ? JSON.parse(res.body.toString('utf8')) : null) as T;
  }

  /** Streams a response body into a file; false when the server answered 404. */
  async download(pathOrUrl: string, file: string, token?: string): Promise<boolean> {
    const giveUpAt = Date.now() + RETRY_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.open('GET', pathOrUrl, { token });
        if (res.statusCode === 404) {
          res.resume();
          return false;
        }
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
          throw new HttpError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), `GET ${this.target(pathOrUrl).url.pathname}`, retryAfterMs(res.headers));
        }
        await pipeline(res as Readable, fs.createWriteStream(file));
        return true;
      } catch (err) {
        const retriable = !(err instanceof HttpError) || retriableStatus(err.status);
        if (!retriable || Date.now() >= giveUpAt) throw err;
        await sleep((err instanceof HttpError ? err.retryAfterMs : null) ?? backoffMs(attempt));
      }
    }
  }

  close(): void {
    this.agent.destroy();
  }
}
