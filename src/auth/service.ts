// Authentication: turns a bearer token into a Subject. The site token is checked here; tokens
// owned by other domains (organization tokens, later user, team and agent tokens) are resolved by
// the domain that stores them, chosen by the prefix of the token's id.
import crypto from 'node:crypto';
import type { Db } from '../db/index.js';
import type { Principal, Subject } from './subject.js';
import { principalOf, SITE_ADMIN } from './subject.js';
import { parseToken, sha256 } from './tokens.js';

export interface TokenResolver {
  /** The id prefix of the tokens this resolver owns, e.g. "ot" for ot-... */
  prefix: string;
  authenticateToken(id: string, secret: string): Promise<Subject | null>;
}

/**
 * Gathers afresh the rights of whoever a principal names. Work the server does later on somebody's
 * behalf (the run an upload queues, the apply a run's auto-apply starts) is done with these rights,
 * never with the server's own.
 */
export interface PrincipalResolver {
  /** Null when the principal names nobody who may act any more (deleted, or a token's service account). */
  subjectOf(principal: Principal): Promise<Subject | null>;
}

export class AuthService implements PrincipalResolver {
  private readonly resolvers = new Map<string, TokenResolver>();
  private readonly loaders = new Map<Principal['type'], (id: string) => Promise<Subject | null>>();

  constructor(private readonly siteTokenHash: Buffer) {}

  addResolver(resolver: TokenResolver): void {
    this.resolvers.set(resolver.prefix, resolver);
  }

  /** Who principals of this type are: users (by user id) and teams (by team id). */
  addPrincipalLoader(type: Principal['type'], load: (id: string) => Promise<Subject | null>): void {
    this.loaders.set(type, load);
  }

  async subjectOf(principal: Principal): Promise<Subject | null> {
    if (principal.type === 'users' && principal.id === principalOf(SITE_ADMIN).id) return SITE_ADMIN;
    return (await this.loaders.get(principal.type)?.(principal.id)) ?? null;
  }

  async authenticate(token: string): Promise<Subject | null> {
    const parsed = parseToken(token);
    if (parsed) {
      const resolver = this.resolvers.get(parsed.id.slice(0, parsed.id.indexOf('-')));
      const subject = resolver ? await resolver.authenticateToken(parsed.id, parsed.secret) : null;
      if (subject) return subject;
    }
    // The site token is chosen by the operator and may have any form.
    const given = sha256(token);
    if (crypto.timingSafeEqual(given, this.siteTokenHash)) return SITE_ADMIN;
    return null;
  }
}

const SITE_TOKEN_KEY = 'site_token_hash';

/**
 * The site token's hash: from --site-token when given, else the one stored on first start. When
 * none is stored, one is generated, its hash stored, and the token returned so it can be printed
 * once. Replicas starting together agree on one token: only the one whose insert wins prints it.
 */
export async function siteTokenHash(db: Db, configured: string | null): Promise<{ hash: Buffer; generated: string | null }> {
  if (configured !== null) return { hash: sha256(configured), generated: null };
  const token = crypto.randomBytes(32).toString('base64url');
  const inserted = await db('site_settings')
    .insert({ key: SITE_TOKEN_KEY, value: sha256(token).toString('hex') })
    .onConflict('key')
    .ignore()
    .returning('key');
  if (inserted.length === 1) return { hash: sha256(token), generated: token };
  const row = await db('site_settings').where({ key: SITE_TOKEN_KEY }).first<{ value: string }>();
  return { hash: Buffer.from(row!.value, 'hex'), generated: null };
}

/** Who made a request, as its log lines name it: the kind of caller and its ids, never a token. */
export type LogCaller = Record<string, string> & { kind: Subject['kind'] };

const callers = new WeakMap<Subject, LogCaller>();

/**
 * The caller of a request for its log lines. Kept per subject: a cached subject serves many
 * requests, and each would build the same object.
 */
export function logCaller(subject: Subject): LogCaller {
  let caller = callers.get(subject);
  if (!caller) {
    caller = callerFields(subject);
    callers.set(subject, caller);
  }
  return caller;
}

function callerFields(s: Subject): LogCaller {
  switch (s.kind) {
    case 'site-admin':
      return { kind: s.kind };
    case 'user':
      return { kind: s.kind, userId: s.userId, username: s.username };
    case 'team':
      return { kind: s.kind, teamId: s.teamId, teamName: s.teamName, organizationId: s.organizationId, tokenId: s.tokenId };
    case 'organization-token':
      return { kind: s.kind, organizationId: s.organizationId, organizationName: s.organizationName, tokenId: s.tokenId };
    case 'job':
      return { kind: s.kind, jobId: s.jobId, runId: s.runId, workspaceId: s.workspaceId, organizationId: s.organizationId };
    case 'agent-token':
      return { kind: s.kind, tokenId: s.tokenId, poolId: s.poolId, organizationId: s.organizationId };
    case 'agent':
      return { kind: s.kind, agentId: s.agentId, poolId: s.poolId, organizationId: s.organizationId };
  }
}
