// Bearer tokens: random, shown once, stored as SHA-256 hashes, compared in constant time.
// A generated token reads "<token id>.<secret>": the id finds the row, the secret is verified.
import crypto from 'node:crypto';
import { newId } from '../ids.js';

export interface IssuedToken {
  id: string;
  /** The whole bearer token; shown once and never stored. */
  token: string;
  secretHash: Buffer;
}

export function sha256(value: string): Buffer {
  return crypto.createHash('sha256').update(value).digest();
}

export function issueToken(idPrefix = 'at'): IssuedToken {
  const id = newId(idPrefix);
  const secret = crypto.randomBytes(32).toString('base64url');
  return { id, token: `${id}.${secret}`, secretHash: sha256(secret) };
}

/** Splits a bearer token into id and secret; null when it is not one of ours. */
export function parseToken(token: string): { id: string; secret: string } | null {
  const m = /^([a-z]+-[A-Za-z0-9]{16})\.([A-Za-z0-9_-]{43})$/.exec(token);
  return m ? { id: m[1], secret: m[2] } : null;
}

export function secretMatches(secret: string, storedHash: Buffer): boolean {
  const given = sha256(secret);
  return storedHash.length === given.length && crypto.timingSafeEqual(given, storedHash);
}

/**
 * Decides when a token's last-used-at is written: at most once a minute per token, so that a busy
 * token does not write on every request.
 */
export class UsageRecorder {
  private readonly written = new Map<string, number>();

  constructor(private readonly intervalMs = 60_000) {}

  /** Whether the use of this token now should be written. */
  due(tokenId: string): boolean {
    const now = Date.now();
    if (now - (this.written.get(tokenId) ?? 0) <= this.intervalMs) return false;
    this.written.set(tokenId, now);
    return true;
  }
}
