// How otf talks to otfd: JSON:API requests over HTTP(S) with the bearer token, lists read page by
// page, raw bodies (state files, run logs) as buffers or streams. TLS trusts what node trusts (the
// system's CAs plus NODE_EXTRA_CA_CERTS). Failures become CliError with one line to print: the
// server's JSON:API error detail, or why otfd could not be reached.
import http from 'node:http';
import https from 'node:https';
import { CliError } from './command.js';

/** A resource object of a JSON:API document. */
export interface Resource {
  id: string;
  type: string;
  attributes: Record<string, unknown>;
  relationships?: Record<string, Relationship>;
  links?: Record<string, string | null>;
}

export interface ResourceRef {
  id: string;
  type: string;
}

export interface Relationship {
  data?: ResourceRef | ResourceRef[] | null;
  links?: Record<string, string>;
}

export interface Pagination {
  'current-page'?: number;
  'next-page'?: number | null;
  'total-count'?: number;
}

export interface ErrorObject {
  status?: string;
  title?: string;
  detail?: string;
}

export interface Document {
  data?: Resource | Resource[] | null;
  included?: Resource[];
  meta?: { pagination?: Pagination };
  errors?: ErrorObject[];
}

/** A request the server answered with an error status. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const PAGE_SIZE = 100;
const TIMEOUT_MS = 120_000;
const MEDIA_TYPE = 'application/vnd.api+json';

/** A bare host[:port] means HTTPS; returns scheme://host[:port]. */
export function normalizeAddress(raw: string): string {
  const trimmed = raw.trim();
  const withScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CliError(`--address: "${raw}" is not https://host[:port], http://host[:port] or host[:port]`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new CliError(`--address: "${raw}" must use https or http, not ${url.protocol.slice(0, -1)}`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
    throw new CliError(`--address: "${raw}" must be only a scheme, a host and a port`);
  }
  return `${url.protocol}//${url.host}`;
}

/** The detail of a JSON:API error document, or a short description of any other body. */
function errorMessage(status: number, body: string, contentType: string | undefined): string {
  if (/json/.test(contentType ?? '')) {
    try {
      const doc = JSON.parse(body) as Document;
      const e = doc.errors?.[0];
      if (e?.detail) return e.detail;
      if (e?.title) return e.title;
    } catch {
      // not JSON after all
    }
  }
  const text = body.replace(/\s+/g, ' ').trim().slice(0, 200);
  return `the server answered ${status}${http.STATUS_CODES[status] ? ` ${http.STATUS_CODES[status]}` : ''}${text ? `: ${text}` : ''}`;
}

/** Why a request could not be made at all, in one line. */
function networkMessage(baseUrl: string, err: Error & { code?: string }): string {
  const reason = err.message || err.code || 'connection failed';
  if (err.code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(err.code)) {
    return `cannot reach otfd at ${baseUrl}: ${reason} (trust its certificate with NODE_EXTRA_CA_CERTS)`;
  }
  if (err.code === 'EPROTO' || /wrong version number|packet length too long/i.test(reason)) {
    return `cannot reach otfd at ${baseUrl}: ${reason} (does it serve ${baseUrl.startsWith('https:') ? 'HTTP rather than HTTPS' : 'HTTPS rather than HTTP'}?)`;
  }
  return `cannot reach otfd at ${baseUrl}: ${reason}`;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export class Client {
  private readonly agent: http.Agent;

  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {
    this.agent = baseUrl.startsWith('https:') ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * A path under /api/v2 (without the prefix), a path from the server's root (/_signed/...), or an
   * absolute URL of otfd: only its path and query are used, so links the server builds from its
   * --hostname still reach it through --address.
   */
  private url(pathOrUrl: string): URL {
    if (/^https?:\/\//.test(pathOrUrl)) {
      const given = new URL(pathOrUrl);
      return new URL(given.pathname + given.search, this.baseUrl);
    }
    const path = pathOrUrl.startsWith('/api/') || pathOrUrl.startsWith('/_') ? pathOrUrl : `/api/v2${pathOrUrl}`;
    return new URL(path, this.baseUrl);
  }

  /** Opens a request and resolves with the response once its headers arrived. */
  private open(method: string, pathOrUrl: string, opts: { body?: unknown; auth?: boolean } = {}): Promise<http.IncomingMessage> {
    const url = this.url(pathOrUrl);
    const headers: Record<string, string> = { Accept: `${MEDIA_TYPE}, application/json, */*` };
    if (opts.auth !== false) headers.Authorization = `Bearer ${this.token}`;
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = MEDIA_TYPE;
      headers['Content-Length'] = String(payload.length);
    }
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method, headers, agent: this.agent }, resolve);
      req.setTimeout(TIMEOUT_MS, () => req.destroy(Object.assign(new Error(`no answer within ${TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
      req.on('error', (err: Error & { code?: string }) => reject(new CliError(networkMessage(this.baseUrl, err))));
      req.end(payload);
    });
  }

  private static read(res: http.IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', (err) => reject(new CliError(`reading the answer of otfd: ${err.message}`)));
    });
  }

  /** Any request; a status of 400 or more throws ApiError with the server's detail. */
  async raw(method: string, pathOrUrl: string, opts: { body?: unknown; auth?: boolean } = {}): Promise<RawResponse> {
    const res = await this.open(method, pathOrUrl, opts);
    const body = await Client.read(res);
    const status = res.statusCode ?? 0;
    if (status >= 400) throw new ApiError(status, errorMessage(status, body.toString('utf8'), res.headers['content-type']));
    return { status, headers: res.headers, body };
  }

  /** A JSON:API request; null when the answer has no body (204, 202). */
  async request(method: string, path: string, body?: unknown): Promise<Document | null> {
    const res = await this.raw(method, path, { body });
    if (res.body.length === 0) return null;
    try {
      return JSON.parse(res.body.toString('utf8')) as Document;
    } catch {
      throw new CliError(`otfd answered ${method} ${path} with something that is not JSON`);
    }
  }

  async document(method: string, path: string, body?: unknown): Promise<Document> {
    const doc = await this.request(method, path, body);
    if (!doc) throw new CliError(`otfd answered ${method} ${path} without a document`);
    return doc;
  }

  /** The one resource of a document. */
  async one(method: string, path: string, body?: unknown): Promise<Resource> {
    const doc = await this.document(method, path, body);
    if (!doc.data || Array.isArray(doc.data)) throw new CliError(`otfd answered ${method} ${path} without a resource`);
    return doc.data;
  }

  get(path: string): Promise<Resource> {
    return this.one('GET', path);
  }

  /** Every item of a list, page after page; at most `limit` items when given. */
  async list(path: string, limit = Infinity): Promise<Resource[]> {
    return (await this.listIncluding(path, limit)).items;
  }

  /** Every item of a list with the resources its pages include (?include=...), each once. */
  async listIncluding(path: string, limit = Infinity): Promise<{ items: Resource[]; included: Resource[] }> {
    const items: Resource[] = [];
    const included = new Map<string, Resource>();
    const size = Math.min(PAGE_SIZE, limit);
    for (let page = 1; ; page++) {
      const sep = path.includes('?') ? '&' : '?';
      const doc = await this.document('GET', `${path}${sep}page%5Bnumber%5D=${page}&page%5Bsize%5D=${size}`);
      const data = Array.isArray(doc.data) ? doc.data : [];
      items.push(...data);
      for (const r of doc.included ?? []) included.set(`${r.type}/${r.id}`, r);
      const next = doc.meta?.pagination?.['next-page'];
      if (items.length >= limit) return { items: items.slice(0, limit), included: [...included.values()] };
      if (!next || data.length === 0) return { items, included: [...included.values()] };
    }
  }

  /** A download as a stream (state files): the response, once its status is known to be good. */
  async download(path: string): Promise<http.IncomingMessage> {
    const res = await this.open('GET', path);
    const status = res.statusCode ?? 0;
    if (status >= 400) {
      const body = await Client.read(res);
      throw new ApiError(status, errorMessage(status, body.toString('utf8'), res.headers['content-type']));
    }
    return res;
  }
}

/** The id of a to-one relationship, or null. */
export function relatedId(r: Resource, name: string): string | null {
  const data = r.relationships?.[name]?.data;
  return data && !Array.isArray(data) ? data.id : null;
}

/** The ids of a to-many relationship. */
export function relatedIds(r: Resource, name: string): string[] {
  const data = r.relationships?.[name]?.data;
  return Array.isArray(data) ? data.map((d) => d.id) : [];
}

export function attr(r: Resource, name: string): unknown {
  return r.attributes[name];
}
