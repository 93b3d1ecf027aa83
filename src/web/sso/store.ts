// Tables of sign-on beyond tokens (migration 0029): single sign-on flows in progress and the
// one-time codes of `terraform login`. Both are kept by the hash of what the browser carries, and
// taken (deleted) when used, so that neither can be used twice.
import { sha256 } from '../../auth/tokens.js';
import type { Db } from '../../db/index.js';

export interface SsoFlow {
  nonce: string;
  codeVerifier: string;
  next: string;
}

export async function insertFlow(db: Db, state: string, flow: SsoFlow, expiresAt: Date): Promise<void> {
  await db('sso_flows').insert({ state_hash: sha256(state), nonce: flow.nonce, code_verifier: flow.codeVerifier, next: flow.next, expires_at: expiresAt });
}

/** Takes the flow of this state if it has not expired: a second callback with it finds nothing. */
export async function takeFlow(db: Db, state: string): Promise<SsoFlow | null> {
  const rows = await db('sso_flows')
    .where({ state_hash: sha256(state) })
    .delete()
    .returning<Array<{ nonce: string; code_verifier: string; next: string; expires_at: Date }>>(['nonce', 'code_verifier', 'next', 'expires_at']);
  const row = rows[0];
  if (!row || row.expires_at.getTime() <= Date.now()) return null;
  return { nonce: row.nonce, codeVerifier: row.code_verifier, next: row.next };
}

export interface OAuthCode {
  userId: string;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
}

export async function insertCode(db: Db, code: string, c: OAuthCode, expiresAt: Date): Promise<void> {
  await db('oauth_codes').insert({ code_hash: sha256(code), user_id: c.userId, client_id: c.clientId, redirect_uri: c.redirectUri, code_challenge: c.codeChallenge, expires_at: expiresAt });
}

/** Takes the code if it has not expired: it is good for one exchange, even a failed one. */
export async function takeCode(db: Db, code: string): Promise<OAuthCode | null> {
  const rows = await db('oauth_codes')
    .where({ code_hash: sha256(code) })
    .delete()
    .returning<Array<{ user_id: string; client_id: string; redirect_uri: string; code_challenge: string; expires_at: Date }>>([
      'user_id',
      'client_id',
      'redirect_uri',
      'code_challenge',
      'expires_at',
    ]);
  const row = rows[0];
  if (!row || row.expires_at.getTime() <= Date.now()) return null;
  return { userId: row.user_id, clientId: row.client_id, redirectUri: row.redirect_uri, codeChallenge: row.code_challenge };
}

/** Deletes flows and codes that expired unused. */
export async function removeExpired(db: Db): Promise<void> {
  await db('sso_flows').where('expires_at', '<=', db.fn.now()).delete();
  await db('oauth_codes').where('expires_at', '<=', db.fn.now()).delete();
}
