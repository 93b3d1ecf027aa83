// Signed URLs for clients that send no bearer token: configuration and state uploads, log reads.
// The signature and the expiry live in the path, because the terraform CLI replaces the query
// string of log URLs. A signature covers the purpose, the resource id and the expiry.
import crypto from 'node:crypto';

export class UrlSigner {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(crypto.hkdfSync('sha256', secret, 'otf', 'signed urls', 32));
  }

  private mac(purpose: string, id: string, expires: number): string {
    return crypto.createHmac('sha256', this.key).update(`${purpose}\n${id}\n${expires}`).digest('base64url');
  }

  /** The path segment that authorises `purpose` on `id` until `ttlSeconds` from now. */
  sign(purpose: string, id: string, ttlSeconds: number): string {
    const expires = Math.floor(Date.now() / 1000) + ttlSeconds;
    return `${expires}.${this.mac(purpose, id, expires)}`;
  }

  /** True when the segment was made by sign() for this purpose and id and has not expired. */
  verify(purpose: string, id: string, segment: string): boolean {
    const m = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(segment);
    if (!m) return false;
    const expires = Number(m[1]);
    if (expires < Date.now() / 1000) return false;
    const want = Buffer.from(this.mac(purpose, id, expires));
    const got = Buffer.from(m[2]);
    return want.length === got.length && crypto.timingSafeEqual(want, got);
  }
}

/** Hides signatures from logs: /_signed/<purpose>/<id>/<signature> keeps all but the last part. */
export function redactSignedPath(path: string): string {
  return path.startsWith('/_signed/') ? path.replace(/\/[^/]+$/, '/REDACTED') : path;
}
