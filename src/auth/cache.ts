// Subjects of user and team tokens, kept between requests: gathering a user's rights from its
// memberships, teams and grants costs queries that every request by the token would repeat.
//
// A kept subject is never served stale:
// - every write to what subjects are made of (users, their tokens, memberships, teams, team
//   members, team tokens, workspace grants) empties the cache of the otfd that makes it, once the
//   write has committed (changed, changedAfter);
// - the database announces the same writes, by any otfd, on the otf_auth channel (triggers of
//   migration 0010), and every otfd empties its cache when it hears one;
// - nothing is kept while this otfd's notification connection is down, and the cache is emptied
//   when it comes back, so an announcement missed meanwhile changes nothing;
// - a subject is kept 10 seconds at most, which bounds what a connection that broke without
//   either end noticing could hide.
// A lookup that was under way while the cache was emptied is not kept either.
import type { Knex } from 'knex';
import type { Listener } from '../db/notify.js';
import type { Subject } from './subject.js';
import { secretMatches } from './tokens.js';

/** The channel the database announces changes to subjects on. */
export const AUTH_CHANNEL = 'otf_auth';

/** A token's subject with what checking the token needs. */
export interface TokenSubject {
  subject: Subject;
  secretHash: Buffer;
  expiredAt: Date | null;
}

interface Entry extends TokenSubject {
  generation: number;
  keptUntil: number;
}

export class SubjectCache {
  /** Bumped by every change; an entry of an older generation is not served. */
  private generation = 0;
  private live = false;
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly limits = { entries: 10_000, ms: 10_000 }) {}

  /** Follows the database's announcements; until this is called nothing is kept. */
  async follow(listener: Listener): Promise<void> {
    await listener.on(AUTH_CHANNEL, () => this.changed());
    listener.watchConnection((connected) => {
      this.live = connected;
      this.changed();
    });
  }

  /**
   * The subject of the token with this id and secret: kept, or looked up with load (and kept).
   * Null when there is no such token, the secret is wrong or the token has expired.
   */
  async authenticate(id: string, secret: string, load: () => Promise<TokenSubject | null>): Promise<Subject | null> {
    const kept = this.entries.get(id);
    if (kept && kept.generation === this.generation && kept.keptUntil > Date.now()) return valid(kept, secret) ? kept.subject : null;
    const generation = this.generation;
    const found = await load();
    if (!found || !valid(found, secret)) return null;
    if (this.live && generation === this.generation) this.keep(id, { ...found, generation, keptUntil: Date.now() + this.limits.ms });
    return found.subject;
  }

  /** Something subjects are made of changed (and committed): forget every subject. */
  changed(): void {
    this.generation++;
    this.entries.clear();
  }

  /** A change inside trx: forget every subject now, and again once trx has ended. */
  changedAfter(trx: Knex.Transaction): void {
    this.changed();
    trx.executionPromise.then(
      () => this.changed(),
      () => this.changed(),
    );
  }

  private keep(id: string, entry: Entry): void {
    this.entries.delete(id);
    if (this.entries.size >= this.limits.entries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(id, entry);
  }
}

function valid(t: TokenSubject, secret: string): boolean {
  return secretMatches(secret, t.secretHash) && !(t.expiredAt && t.expiredAt.getTime() <= Date.now());
}
