// A small JSON:API client for tests, over HTTP or HTTPS with the suite's certificate.
import http from 'node:http';
import https from 'node:https';

// Response documents are arbitrary JSON that tests pick apart; typing each shape buys nothing.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Json;
  text: string;
}

export interface RequestOptions {
  /** Bearer token; null sends none. Defaults to the client's token. */
  token?: string | null;
  body?: unknown;
  /** A raw body, sent as is (for malformed JSON). */
  raw?: string | Buffer;
  headers?: Record<string, string>;
}

export class Api {
  constructor(
    readonly baseUrl: string,
    readonly token: string | null,
    private readonly ca?: Buffer,
  ) {}

  withToken(token: string | null): Api {
    return new Api(this.baseUrl, token, this.ca);
  }

  /** Paths are relative to /api/v2 unless absolute URLs or outside the API (/.well-known, /healthz, ...). */
  resolve(path: string): string {
    if (/^https?:/.test(path)) return path;
    if (/^\/(api\/|\.well-known\/|healthz|metrics)/.test(path)) return `${this.baseUrl}${path}`;
    return `${this.baseUrl}/api/v2${path}`;
  }

  request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const url = new URL(this.resolve(path));
    const token = opts.token === undefined ? this.token : opts.token;
    const headers: Record<string, string> = { Accept: 'application/vnd.api+json', ...opts.headers };
    if (token) headers.Authorization = `Bearer ${token}`;
    let payload: Buffer | undefined;
    if (opts.raw !== undefined) payload = Buffer.from(opts.raw);
    else if (opts.body !== undefined) payload = Buffer.from(JSON.stringify(opts.body));
    if (payload) {
      headers['Content-Type'] ??= 'application/vnd.api+json';
      headers['Content-Length'] = String(payload.length);
    }
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method, headers, ca: this.ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: Json = null;
          if (text && /json/.test(String(res.headers['content-type']))) body = JSON.parse(text);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  get(path: string, opts?: RequestOptions) {
    return this.request('GET', path, opts);
  }
  post(path: string, body?: unknown, opts: RequestOptions = {}) {
    return this.request('POST', path, { ...opts, body });
  }
  patch(path: string, body?: unknown, opts: RequestOptions = {}) {
    return this.request('PATCH', path, { ...opts, body });
  }
  delete(path: string, opts?: RequestOptions) {
    return this.request('DELETE', path, opts);
  }
}

/** The ids of a list of resources. */
export const ids = (list: Json[]): string[] => list.map((x) => x.id);

/** The ids of the resources a relationship of the resource names. */
export const relatedIds = (resource: Json, name: string): string[] => (resource.relationships?.[name]?.data ?? []).map((x: Json) => x.id);
