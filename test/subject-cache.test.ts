// The cache of token subjects (src/auth/cache.ts) against a real PostgreSQL: when it keeps a
// subject, and every way a subject stops being served (an announcement, a lost notification
// connection, a change during a lookup, an expiry, a wrong secret).
import assert from 'node:assert/strict';
import pg from 'pg';
import { AUTH_CHANNEL, SubjectCache, type TokenSubject } from '../src/auth/cache.js';
import { SITE_ADMIN } from '../src/auth/subject.js';
import { sha256 } from '../src/auth/tokens.js';
import { Listener } from '../src/db/notify.js';
import { createLogger } from '../src/logger.js';
import { freshDatabase } from './hooks.js';
import { sleep, waitUntil } from './helpers/wait.js';
const SECRET = 'the-secret';

/** A token lookup that counts how often the database would be asked. */
function counted(expiredAt: Date | null = null) {
  const lookup = {
    calls: 0,
    load: async (): Promise<TokenSubject> => {
      lookup.calls++;
      return { subject: SITE_ADMIN, secretHash: sha256(SECRET), expiredAt };
    },
  };
  return lookup;
}

describe('the subject cache', function () {
  this.timeout(30_000);
  let url: string;
  let listener: Listener;
  let cache: SubjectCache;
  let connected = false;
  let sql: pg.Client;

  before(async () => {
    url = await freshDatabase();
    sql = new pg.Client({ connectionString: url });
    await sql.connect();
  });
  after(() => sql.end());

  beforeEach(async () => {
    listener = new Listener(url, createLogger('silent'));
    await listener.start();
    listener.watchConnection((c) => (connected = c));
    cache = new SubjectCache();
    await cache.follow(listener);
  });
  afterEach(() => listener.stop());

  it('keeps a subject: a token used again is not looked up again', async () => {
    const lookup = counted();
    assert.equal(await cache.authenticate('ut-1', SECRET, lookup.load), SITE_ADMIN);
    assert.equal(await cache.authenticate('ut-1', SECRET, lookup.load), SITE_ADMIN);
    assert.equal(lookup.calls, 1);
  });

  it('refuses a wrong secret, and an expired token, even when the subject is kept', async () => {
    const lookup = counted();
    await cache.authenticate('ut-1', SECRET, lookup.load);
    assert.equal(await cache.authenticate('ut-1', 'another-secret', lookup.load), null);

    const soon = counted(new Date(Date.now() + 150));
    assert.equal(await cache.authenticate('ut-2', SECRET, soon.load), SITE_ADMIN);
    await sleep(200);
    assert.equal(await cache.authenticate('ut-2', SECRET, soon.load), null);
  });

  it('forgets every subject when the database announces a change, from any connection', async () => {
    const lookup = counted();
    await cache.authenticate('ut-1', SECRET, lookup.load);
    await sql.query(`NOTIFY ${AUTH_CHANNEL}`);
    await waitUntil('the announcement is heard', async () => {
      await cache.authenticate('ut-1', SECRET, lookup.load);
      return lookup.calls === 2;
    });
  });

  it('keeps nothing while its notification connection is down, and forgets everything when it is back', async () => {
    const lookup = counted();
    await cache.authenticate('ut-1', SECRET, lookup.load);
    await sql.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'");
    await waitUntil('the lost connection is noticed', () => !connected);

    // Announcements are missed now: every use is looked up.
    await cache.authenticate('ut-1', SECRET, lookup.load);
    await cache.authenticate('ut-1', SECRET, lookup.load);
    assert.equal(lookup.calls, 3);

    await waitUntil('the connection is back', () => connected);
    await cache.authenticate('ut-1', SECRET, lookup.load);
    await cache.authenticate('ut-1', SECRET, lookup.load);
    assert.equal(lookup.calls, 4);
  });

  it('does not keep what a lookup found while a change was made', async () => {
    let calls = 0;
    const load = async (): Promise<TokenSubject> => {
      calls++;
      if (calls === 1) cache.changed();
      return { subject: SITE_ADMIN, secretHash: sha256(SECRET), expiredAt: null };
    };
    await cache.authenticate('ut-1', SECRET, load);
    await cache.authenticate('ut-1', SECRET, load);
    await cache.authenticate('ut-1', SECRET, load);
    assert.equal(calls, 2);
  });

  it('keeps a subject for a limited time only', async () => {
    const brief = new SubjectCache({ entries: 10, ms: 100 });
    await brief.follow(listener);
    const lookup = counted();
    await brief.authenticate('ut-1', SECRET, lookup.load);
    await brief.authenticate('ut-1', SECRET, lookup.load);
    await sleep(150);
    await brief.authenticate('ut-1', SECRET, lookup.load);
    assert.equal(lookup.calls, 2);
  });

  it('keeps at most its number of entries, forgetting the oldest', async () => {
    const small = new SubjectCache({ entries: 2, ms: 10_000 });
    await small.follow(listener);
    const lookup = counted();
    for (const id of ['ut-1', 'ut-2', 'ut-3']) await small.authenticate(id, SECRET, lookup.load);
    await small.authenticate('ut-3', SECRET, lookup.load);
    await small.authenticate('ut-2', SECRET, lookup.load);
    assert.equal(lookup.calls, 3);
    await small.authenticate('ut-1', SECRET, lookup.load);
    assert.equal(lookup.calls, 4);
  });
});
