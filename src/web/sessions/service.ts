// Sessions of the web UI. A session is made when somebody signs in (with a token, through single
// sign-on) and ends when they sign out or its lifetime is over. It holds a principal, not rights:
// each request gathers the principal's rights afresh, so a team change or a deleted user takes
// effect at once, as it does for tokens.
import crypto from 'node:crypto';
import { actorOf, audited, type Change } from '../../audit/index.js';
import type { PrincipalResolver } from '../../auth/service.js';
import { principalOf, type Principal, type Subject } from '../../auth/subject.js';
import { sha256 } from '../../auth/tokens.js';
import type { Db } from '../../db/index.js';
import { newId } from '../../ids.js';
import * as store from './store.js';

export interface Session {
  id: string;
  principal: Principal;
  /** The principal's rights, gathered for this request. */
  subject: Subject;
  expiresAt: Date;
  /** The token that the CSRF tokens of this session's forms are derived from. */
  csrfToken: string;
}

type EndHook = (sessionId: string) => void;

export class SessionService {
  private readonly endHooks: EndHook[] = [];
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Db,
    private readonly principals: PrincipalResolver,
    private readonly secret: string,
    /** How long a session lasts from sign-in. */
    readonly lifetimeMs: number,
  ) {}

  /** Called with the id of every session that ends on this otfd (sign-out, user deleted): its event streams close. */
  onEnd(hook: EndHook): void {
    this.endHooks.push(hook);
  }

  /**
   * Starts a session for the subject who signed in (`how`: with a token, or single sign-on),
   * recorded in the site's audit trail; returns the cookie value, shown once.
   */
  async start(subject: Subject, address: string | null, how: 'token' | 'oidc'): Promise<{ id: string; cookie: string; expiresAt: Date }> {
    const id = newId('ses');
    const cookie = crypto.randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + this.lifetimeMs);
    await audited(this.db, (trx) => store.insert(trx, { id, tokenHash: sha256(cookie), principal: principalOf(subject), expiresAt, address }), {
      ...sessionChange('create', id, subject),
      details: { method: how, 'expires-at': expiresAt.toISOString() },
    });
    return { id, cookie, expiresAt };
  }

  /** Ends a session because its visitor signed out, recorded in the site's audit trail. */
  async signOut(session: Session): Promise<void> {
    await audited(this.db, (trx) => store.remove(trx, session.id), (removed) => (removed ? sessionChange('delete', session.id, session.subject) : null));
    for (const hook of this.endHooks) hook(session.id);
  }

  /** The live session of a cookie value, with its principal's rights; null for anything else (and for a deleted user). */
  async resume(cookie: string): Promise<Session | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(cookie)) return null;
    const row = await store.findLive(this.db, sha256(cookie));
    if (!row) return null;
    const subject = await this.principals.subjectOf(row.principal);
    if (!subject) return null;
    return { id: row.id, principal: row.principal, subject, expiresAt: row.expiresAt, csrfToken: this.csrfFor(`session:${row.id}`) };
  }

  /**
   * The rights of a session's principal, gathered now; null when the session has ended (signed
   * out, expired) or its user is gone. Event streams ask this now and then.
   */
  async subjectOfSession(id: string): Promise<Subject | null> {
    const row = await store.findLiveById(this.db, id);
    return row ? this.principals.subjectOf(row.principal) : null;
  }

  async end(id: string): Promise<void> {
    await store.remove(this.db, id);
    for (const hook of this.endHooks) hook(id);
  }

  /**
   * The CSRF token of forms for a visitor: derived from the session, or, before sign-in, from the
   * visitor's pre-session cookie. A cross-site page can read neither, so it cannot post a form.
   */
  csrfFor(binding: string): string {
    return crypto.createHmac('sha256', this.secret).update(`csrf:${binding}`).digest('base64url');
  }

  csrfMatches(binding: string, given: string): boolean {
    const expected = Buffer.from(this.csrfFor(binding));
    const got = Buffer.from(given);
    return got.length === expected.length && crypto.timingSafeEqual(got, expected);
  }

  /** Deletes expired sessions now, then hourly. */
  startSweeping(intervalMs = 3_600_000): void {
    const sweep = () => void store.removeExpired(this.db).catch(() => undefined);
    sweep();
    this.sweeper = setInterval(sweep, intervalMs);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }
}

/**
 * The audit trail's record of a sign-in or sign-out: in the site's trail (a user belongs to no one
 * organization), with the user as its actor. The session's cookie is never recorded, only its id.
 */
function sessionChange(verb: 'create' | 'delete', id: string, subject: Subject): Change {
  return { action: `session.${verb}`, resource: { type: 'sessions', id }, organizationId: null, actor: actorOf(subject) };
}
