// The webhook endpoint against bad deliveries, through the real route of a real otfd: every
// unsigned, wrongly signed, oversized, non-JSON or malformed delivery (hostileDeliveries, for the
// hook's own secret) answers its 4xx with a detail, never a 5xx, and queues no run; unknown hooks
// and a hook addressed as another provider's kind answer 404; a replayed delivery answers 409.
// Every refusal is logged with the hook, the reason and the request id, never the secret or a
// signature.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http, { type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { suite } from './hooks.js';
import { sleep, waitFor } from './helpers/wait.js';
import { KEEP_DELIVERIES_DAYS, MAX_CONCURRENT_DELIVERIES, MAX_DELIVERY_BYTES } from '../src/webhooks/index.js';
import { createHash, randomUUID } from 'node:crypto';
import { githubPing, githubPush, gitlabPush, hostileDeliveries, randomSha, type HostileDelivery } from './helpers/deliveries.js';
import { fixture } from './helpers/fixtures.js';
import { startVcsWorld, type Connected, type VcsWorld } from './helpers/vcs-world.js';
import type { HookKind } from '../src/vcs/types.js';

interface Held {
  req: ClientRequest;
  answer: Promise<{ status: number; headers: IncomingHttpHeaders; text: string }>;
}

/**
 * A POST that declares a body of `declared` bytes and sends only its first `sent`, then waits (a
 * slow or malicious sender): `answer` is whatever otfd answers meanwhile.
 */
function holdPost(url: string, headers: Record<string, string>, declared: number, sent: Buffer): Held {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  const ca = u.protocol === 'https:' ? fs.readFileSync(suite().certFile) : undefined;
  let req!: ClientRequest;
  const answer = new Promise<{ status: number; headers: IncomingHttpHeaders; text: string }>((resolve, reject) => {
    req = mod.request(u, { method: 'POST', headers: { ...headers, 'Content-Length': String(declared) }, ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    req.write(sent);
  });
  return { req, answer };
}

describe('VCS webhooks: hostile deliveries', function () {
  this.timeout(300_000);
  let world: VcsWorld;
  const connected = {} as Record<HookKind, Connected>;

  before(async () => {
    // No runner: nothing here may get as far as a run.
    world = await startVcsWorld({ concurrency: 0 });
    for (const kind of ['github', 'gitlab', 'forgejo'] as const) {
      connected[kind] = await world.connect(kind, { 'main.tf': fixture('vcs-commit', { marker: kind }) });
    }
  });
  after(async () => {
    await world?.stop();
  });

  it('answers every hostile delivery with its 4xx and a detail, never a 5xx, and queues no run', async () => {
    let count = 0;
    const wrong: string[] = [];
    for (const kind of ['github', 'gitlab', 'forgejo'] as const) {
      const c = connected[kind];
      const list = hostileDeliveries(c.hook.secret!, c.identifier).filter((h: HostileDelivery) => h.kind === kind);
      for (const h of list) {
        const res = await world.deliver(c.hook.url, h);
        count++;
        assert.ok(res.status < 500, `${h.name}: ${res.status} ${res.text.slice(0, 300)}`);
        if (res.status !== h.status || !h.detail.test(String(res.body?.errors?.[0]?.detail))) wrong.push(`${kind} ${h.name}: ${res.status} ${res.text.slice(0, 300)}`);
      }
    }
    assert.deepEqual(wrong, []);
    assert.ok(count >= 50, `only ${count} hostile deliveries`);
    for (const kind of ['github', 'gitlab', 'forgejo'] as const) assert.deepEqual(await world.runs(connected[kind].workspace.id), []);
    const rows = await world.server.otfd.db('vcs_deliveries').count<{ n: string }[]>({ n: '*' });
    assert.equal(Number(rows[0].n), 0, 'no hostile delivery is recorded');
  });

  it('logs each refusal with the hook, the reason and the request id, and never the secret or a signature', async () => {
    const c = connected.github;
    const forged = githubPush({ secret: 'not-the-secret', identifier: c.identifier, sha: randomSha(), files: ['main.tf'] });
    const res = await world.deliver(c.hook.url, { headers: { ...forged.headers, 'X-Request-Id': 'forged-delivery-1' }, body: forged.body });
    assert.equal(res.status, 401, res.text);
    const hookId = c.hook.url.split('/').pop()!;
    const line = world
      .log()
      .split('\n')
      .find((l) => l.includes('webhook delivery refused') && l.includes('forged-delivery-1'));
    assert.ok(line, 'the refusal is logged');
    const entry = JSON.parse(line) as Record<string, unknown>;
    assert.equal(entry.hookId, hookId);
    assert.equal(entry.kind, 'github');
    assert.equal(entry.status, 401);
    assert.match(String(entry.reason), /signature/i);
    const log = world.log();
    // Also the deliveries too large to be read (the first test sent some).
    assert.ok(
      log.split('\n').some((l) => l.includes('webhook delivery refused') && l.includes('"status":413')),
      'an oversized delivery\'s refusal is logged',
    );
    for (const kind of ['github', 'gitlab', 'forgejo'] as const) assert.ok(!log.includes(connected[kind].hook.secret!), `the ${kind} secret is not logged`);
    assert.ok(!log.includes(forged.headers['X-Hub-Signature-256'].replace(/^sha256=/, '')), 'no signature is logged');
  });

  it('answers 404 for a hook that does not exist and for a hook addressed as another provider\'s', async () => {
    const gh = connected.github;
    const gl = connected.gitlab;
    const push = githubPush({ secret: gh.hook.secret!, identifier: gh.identifier, sha: randomSha(), branch: 'elsewhere' });
    const base = gh.hook.url.replace(/\/webhooks\/.*$/, '');
    const hookId = gh.hook.url.split('/').pop()!;
    for (const url of [`${base}/webhooks/github/rh-doesnotexist`, `${base}/webhooks/gitlab/${hookId}`, `${base}/webhooks/bitbucket/${hookId}`, `${base}/webhooks/github/${'x'.repeat(5000)}`]) {
      const res = await world.deliver(url, push);
      assert.equal(res.status, 404, `${url.slice(0, 120)}: ${res.text}`);
      assert.ok(res.body.errors[0].detail, 'a detail');
    }
    // GitLab's own delivery at the GitLab hook works; at the GitHub hook it is another kind's.
    const glPush = gitlabPush({ secret: gl.hook.secret!, identifier: gl.identifier, sha: randomSha(), branch: 'elsewhere' });
    assert.equal((await world.deliver(gh.hook.url.replace('/github/', '/gitlab/'), glPush)).status, 404);
    assert.equal((await world.deliver(gl.hook.url, glPush)).status, 202);
  });

  it('answers an unknown hook 404 without waiting for (or reading) its body', async () => {
    const c = connected.github;
    const base = c.hook.url.replace(/\/webhooks\/.*$/, '');
    const push = githubPush({ secret: c.hook.secret!, identifier: c.identifier, sha: randomSha() });
    // The body declared is as large as a delivery may be; only a few bytes of it are ever sent.
    const held = holdPost(`${base}/webhooks/github/rh-nosuchhook`, push.headers, MAX_DELIVERY_BYTES, push.body.subarray(0, 10));
    try {
      const res = await held.answer;
      assert.equal(res.status, 404, res.text);
      assert.match(res.text, /no github webhook rh-nosuchhook/);
      assert.equal(res.headers.connection, 'close');
    } finally {
      held.req.destroy();
    }
    // Sent whole and at once, such a body still gets its 404 (the rest is not read).
    const whole = await world.deliver(`${base}/webhooks/github/rh-nosuchhook`, { headers: push.headers, body: Buffer.alloc(MAX_DELIVERY_BYTES, 0x20) });
    assert.equal(whole.status, 404, whole.text);
  });

  it(`reads at most ${MAX_CONCURRENT_DELIVERIES} deliveries at once; more answer 503 with Retry-After, and the slots come back`, async () => {
    const c = connected.github;
    const push = githubPush({ secret: c.hook.secret!, identifier: c.identifier, sha: randomSha(), branch: 'not-tracked' });
    // Slow senders at a real hook: each holds one reader, declaring a large body and sending little.
    const slow: Held[] = [];
    try {
      for (let i = 0; i < MAX_CONCURRENT_DELIVERIES; i++) slow.push(holdPost(c.hook.url, push.headers, 1_000_000, push.body.subarray(0, 10)));
      // Once otfd has taken them all, one more (complete) delivery is turned away. A slow sender is
      // added now and then in case one of them has not reached otfd (a connection still opening).
      let busy: { status: number; headers: IncomingHttpHeaders; text: string } | null = null;
      for (let tries = 0; tries < 100 && !busy; tries++) {
        const extra = holdPost(c.hook.url, push.headers, push.body.length, push.body);
        extra.req.end();
        const res = await extra.answer;
        // Taken before the slow ones were (202, then 409 for the same delivery again), or turned away.
        if (res.status === 503) busy = res;
        else assert.ok(res.status === 202 || res.status === 409, `${res.status} ${res.text}`);
        if (busy) break;
        await sleep(100);
        if (tries % 10 === 9 && slow.length < 2 * MAX_CONCURRENT_DELIVERIES) slow.push(holdPost(c.hook.url, push.headers, 1_000_000, push.body.subarray(0, 10)));
      }
      assert.ok(busy, `a delivery beyond the cap is refused (${slow.length} slow senders)`);
      assert.match(busy.text, /deliver again in \d+ seconds/);
      assert.ok(Number(busy.headers['retry-after']) > 0, 'Retry-After says when');
      assert.ok(world.log().includes('"status":503'), 'the refusal is logged');
    } finally {
      for (const h of slow) h.req.destroy();
    }
    // The slow senders gone, their readers are free again: a delivery is accepted.
    let status = 0;
    for (let tries = 0; tries < 50 && status !== 202; tries++) {
      const again = githubPush({ secret: c.hook.secret!, identifier: c.identifier, sha: randomSha(), branch: 'not-tracked' });
      status = (await world.deliver(c.hook.url, again)).status;
      if (status !== 202) await sleep(100);
    }
    assert.equal(status, 202);
  });

  it('accepts a delivery once (202) and answers its replay 409, saying it was already received', async () => {
    const c = connected.github;
    const push = githubPush({ secret: c.hook.secret!, identifier: c.identifier, sha: randomSha(), branch: 'not-tracked' });
    const first = await world.deliver(c.hook.url, push);
    assert.equal(first.status, 202, first.text);
    const again = await world.deliver(c.hook.url, push);
    assert.equal(again.status, 409, again.text);
    assert.match(again.body.errors[0].detail, /already received/);
    const ping = githubPing({ secret: c.hook.secret!, identifier: c.identifier });
    assert.equal((await world.deliver(c.hook.url, ping)).status, 202);
    assert.equal((await world.deliver(c.hook.url, ping)).status, 409);
    // A push to a branch no workspace tracks queues nothing; a ping neither.
    assert.deepEqual(await world.runs(c.workspace.id), []);
  });

  it('answers 409 to a signed body sent again under a new delivery id, and makes no second run of the same commit', async () => {
    const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'replay-base' }) });
    const sha = c.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: 'replayed' }) }, 'Worth one run');
    // One push: the head before it and after it (a redelivery carries both unchanged).
    const before = randomSha();
    const push = githubPush({ secret: c.hook.secret!, identifier: c.identifier, sha, before, branch: 'main', files: ['main.tf'], message: 'Worth one run' });
    assert.equal((await world.deliver(c.hook.url, push)).status, 202);
    const runs = await waitFor('the push\'s run', async () => {
      const list = await world.runs(c.workspace.id);
      return list.length > 0 ? list : null;
    });
    assert.equal(runs.length, 1);
    // Somebody who captured the delivery sends it again with a fresh X-GitHub-Delivery: the body
    // and its signature are the same, so it is the same delivery.
    const replay = await world.deliver(c.hook.url, { headers: { ...push.headers, 'X-GitHub-Delivery': randomUUID() }, body: push.body });
    assert.equal(replay.status, 409, replay.text);
    assert.match(replay.body.errors[0].detail, /this payload was already received by this webhook/);
    // The same event in another body (a redelivery that differs in some field) is accepted, and the
    // run it asks for is the one already made: runs are made once per commit and event.
    const again = githubPush({ secret: c.hook.secret!, identifier: c.identifier, sha, before, branch: 'main', files: ['main.tf'], message: 'Worth one run', sender: 'someone-else' });
    const deliveryId = again.headers['X-GitHub-Delivery']!;
    assert.equal((await world.deliver(c.hook.url, again)).status, 202);
    await waitFor('the second delivery processed', async () =>
      (await world.server.otfd.db('vcs_deliveries').where({ delivery_id: deliveryId }).whereNotNull('processed_at').first()) as unknown);
    const after = await world.runs(c.workspace.id);
    assert.deepEqual(after.map((r: { id: string }) => r.id), runs.map((r: { id: string }) => r.id));
  });

  it(`deletes processed deliveries after ${KEEP_DELIVERIES_DAYS} days, and with them the replay refusal of their bodies`, async () => {
    const c = connected.github;
    const db = world.server.otfd.db;
    const old = githubPush({ secret: c.hook.secret!, identifier: c.identifier, sha: randomSha(), branch: 'not-tracked' });
    const hookId = c.hook.url.split('/').pop()!;
    const row = (at: string, d: { headers: Record<string, string>; body: Buffer }, processed: boolean) => ({
      hook_id: hookId,
      kind: 'github',
      delivery_id: d.headers['X-GitHub-Delivery'],
      body_sha256: createHash('sha256').update(d.body).digest('hex'),
      event: null,
      received_at: db.raw(`now() - interval '${at}'`),
      processed_at: processed ? db.raw(`now() - interval '${at}'`) : null,
      // The unprocessed one is held by a live claim: no worker takes it meanwhile.
      claimed_at: processed ? null : db.fn.now(),
    });
    const recent = githubPush({ secret: c.hook.secret!, identifier: c.identifier, sha: randomSha(), branch: 'not-tracked' });
    const waiting = githubPush({ secret: c.hook.secret!, identifier: c.identifier, sha: randomSha(), branch: 'not-tracked' });
    await db('vcs_deliveries').insert([
      row(`${KEEP_DELIVERIES_DAYS + 1} days`, old, true),
      row(`${KEEP_DELIVERIES_DAYS - 1} days`, recent, true),
      // Not processed yet (an otfd is on it): it is not deleted, however old.
      row(`${KEEP_DELIVERIES_DAYS + 1} days`, waiting, false),
    ]);
    const ids = (d: { headers: Record<string, string> }) => d.headers['X-GitHub-Delivery'];
    const kept = async () => ((await db('vcs_deliveries').whereIn('delivery_id', [ids(old), ids(recent), ids(waiting)]).pluck('delivery_id')) as string[]).sort();
    // A sweep comes every 15 seconds.
    await waitFor('the old delivery deleted', async () => !(await kept()).includes(ids(old)), 40_000);
    assert.deepEqual(await kept(), [ids(recent), ids(waiting)].sort());
    assert.match(world.log(), /deleted old webhook deliveries/);
    // Its body (and id) are no longer known; the recent one's still are.
    assert.equal((await world.deliver(c.hook.url, old)).status, 202);
    assert.equal((await world.deliver(c.hook.url, recent)).status, 409);
  });
});
