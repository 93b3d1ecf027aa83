// Configuration tarballs for tests, built entry by entry with raw 512-byte ustar headers, so that a
// test can make exactly the archive it needs: plain files and directories, and also what no
// well-behaved packer makes (entries named "../x" or "/etc/passwd", links out of the root, device
// files, FIFOs). Also the raw HTTP a client sends to the signed upload URL.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import { suite } from '../hooks.js';
import type { Api, Json } from './api.js';

export type TarEntry =
  | { type: 'file'; name: string; content: string | Buffer; mode?: number }
  | { type: 'dir'; name: string; mode?: number }
  | { type: 'symlink'; name: string; target: string }
  | { type: 'hardlink'; name: string; target: string }
  | { type: 'chardev' | 'blockdev'; name: string; major?: number; minor?: number }
  | { type: 'fifo'; name: string };

const BLOCK = 512;

const TYPE_FLAG: Record<TarEntry['type'], string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  chardev: '3',
  blockdev: '4',
  dir: '5',
  fifo: '6',
};

/** Writes `value` as a NUL-terminated octal number filling a field of `width` bytes. */
function octal(header: Buffer, offset: number, width: number, value: number): void {
  const digits = value.toString(8).padStart(width - 1, '0');
  if (digits.length > width - 1) throw new Error(`${value} does not fit a ${width}-byte tar field`);
  header.write(digits, offset, width - 1, 'ascii');
  header[offset + width - 1] = 0;
}

function text(header: Buffer, offset: number, width: number, value: string, what: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > width) throw new Error(`${what} "${value}" is longer than ${width} bytes`);
  bytes.copy(header, offset);
}

/** Splits a long name into ustar's prefix (155) and name (100) at a "/". */
function splitName(name: string): { prefix: string; name: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  for (let i = name.lastIndexOf('/'); i > 0; i = name.lastIndexOf('/', i - 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100) return { prefix, name: rest };
  }
  throw new Error(`entry name "${name}" is too long for a ustar header`);
}

/** The 512-byte ustar header of an entry whose content is `size` bytes. */
export function ustarHeader(entry: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const { prefix, name } = splitName(entry.name);
  text(h, 0, 100, name, 'name');
  const mode = 'mode' in entry && entry.mode !== undefined ? entry.mode : entry.type === 'dir' ? 0o755 : entry.type === 'symlink' ? 0o777 : 0o644;
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 1000); // uid
  octal(h, 116, 8, 1000); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, 1_700_000_000); // mtime
  h.write(TYPE_FLAG[entry.type], 156, 1, 'ascii');
  if (entry.type === 'symlink' || entry.type === 'hardlink') text(h, 157, 100, entry.target, 'link target');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  text(h, 265, 32, 'otf', 'uname');
  text(h, 297, 32, 'otf', 'gname');
  if (entry.type === 'chardev' || entry.type === 'blockdev') {
    octal(h, 329, 8, entry.major ?? 1);
    octal(h, 337, 8, entry.minor ?? 3);
  }
  text(h, 345, 155, prefix, 'name prefix');
  // The checksum is the sum of the header's bytes with its own field read as eight spaces.
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0'), 148, 6, 'ascii');
  h[154] = 0;
  h[155] = 0x20;
  return h;
}

/** An uncompressed tar archive of the entries, in order, with the two zero blocks that end it. */
export function tarArchive(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.type === 'file' ? Buffer.from(entry.content) : Buffer.alloc(0);
    parts.push(ustarHeader(entry, content.length), content);
    const pad = (BLOCK - (content.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** A gzip-compressed tar archive of the entries, as a configuration upload. */
export function tarball(entries: TarEntry[]): Buffer {
  return zlib.gzipSync(tarArchive(entries));
}

/** A tarball of plain files (directories made as needed), e.g. {"main.tf": "..."}. */
export function configTarball(files: Record<string, string | Buffer>): Buffer {
  const entries: TarEntry[] = [];
  const dirs = new Set<string>();
  for (const [name, content] of Object.entries(files)) {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = `${parts.slice(0, i).join('/')}/`;
      if (!dirs.has(dir)) {
        dirs.add(dir);
        entries.push({ type: 'dir', name: dir });
      }
    }
    entries.push({ type: 'file', name, content });
  }
  return tarball(entries);
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body's bytes, untouched. */
  bytes: Buffer;
  /** The body parsed as JSON when it says it is JSON, else null. */
  body: Json;
  text: string;
}

/**
 * One HTTP request with a raw body and the raw bytes of the answer, over the default keep-alive
 * agent as the Api's requests. Sends the Api's token only when `token` is true (signed URLs take
 * none). With `timeoutMs`, a request that gets no answer in time fails.
 */
export function rawRequest(
  api: Api,
  method: string,
  path: string,
  opts: { body?: Buffer; token?: boolean; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const url = new URL(api.resolve(path));
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token && api.token) headers.Authorization = `Bearer ${api.token}`;
  if (opts.body) headers['Content-Length'] = String(opts.body.length);
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    // test servers with ssl use the suite's self-signed certificate
    const ca = url.protocol === 'https:' ? fs.readFileSync(suite().certFile) : undefined;
    const req = mod.request(url, { method, headers, ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const text = bytes.toString('utf8');
        let body: Json = null;
        if (text && /json/.test(String(res.headers['content-type']))) body = JSON.parse(text);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, body, text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.timeoutMs) {
      // a request left unanswered is torn down, so that its connection cannot hold up later ones
      const timer = setTimeout(() => req.destroy(new Error(`${method} ${url.pathname} got no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
      req.on('close', () => clearTimeout(timer));
    }
    req.end(opts.body);
  });
}

/**
 * PUTs a tarball to a configuration version's upload URL as the terraform CLI does: raw bytes,
 * application/octet-stream, no bearer token. Takes the configuration version's data or the URL.
 */
export function uploadTarball(api: Api, cv: string | { attributes: { 'upload-url': string } }, body: Buffer): Promise<RawResponse> {
  const url = typeof cv === 'string' ? cv : cv.attributes['upload-url'];
  if (!url) throw new Error('the configuration version has no upload-url');
  return rawRequest(api, 'PUT', url, { body, headers: { 'Content-Type': 'application/octet-stream', Accept: 'application/json, */*' } });
}
