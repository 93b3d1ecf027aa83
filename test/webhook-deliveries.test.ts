// Webhook deliveries as GitHub, GitLab and Forgejo send them, through verifyDelivery: each
// provider's push, tag and pull (merge) request read into the event otfd acts on; pings and other
// events read as nothing to do; and every hostile delivery refused with its status and a detail
// naming what is wrong, never the secret or the signature.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMiddleware } from '../src/api/errors.js';
import { WebhookRejected } from '../src/errors.js';
import { createLogger } from '../src/logger.js';
import type { HookKind, PullRequestEvent, PushEvent, TagEvent, VerifiedDelivery } from '../src/vcs/types.js';
import { MAX_DELIVERY_BYTES, verifyDelivery } from '../src/webhooks/verify.js';
import {
  forgejoHeaders, forgejoPullRequest, forgejoPush, forgejoTag, githubHeaders, githubPing, githubPullRequest, githubPush, githubTag,
  gitlabHeaders, gitlabMergeRequest, gitlabPush, gitlabTagPush, HOSTILE_DELIVERIES, HOSTILE_SECRET, hostileDeliveries, lowerCaseHeaders,
  randomSha, ZERO_SHA, type Delivery,
} from './helpers/deliveries.js';

// The route hands Node's own header object over: verifyDelivery takes it as it is.
const _takesNodeHeaders: (kind: HookKind, headers: IncomingHttpHeaders, body: Buffer, secret: string) => VerifiedDelivery = verifyDelivery;
void _takesNodeHeaders;

const SECRET = 'wh-secret-7f3a9c1e5b2d4f60';

function verify(kind: HookKind, d: Delivery, secret = SECRET): VerifiedDelivery {
  return verifyDelivery(kind, lowerCaseHeaders(d.headers), d.body, secret);
}

function refusal(kind: HookKind, d: Delivery, secret = SECRET): WebhookRejected {
  try {
    verify(kind, d, secret);
  } catch (err) {
    if (err instanceof WebhookRejected) return err;
    throw err;
  }
  assert.fail('the delivery was accepted');
}

describe('webhook deliveries', function () {
  describe('GitHub', function () {
    it('a push to a branch reads as the branch, its head commit, compare URL and changed files', function () {
      const sha = randomSha();
      const before = randomSha();
      const d = githubPush({
        secret: SECRET, identifier: 'acme/infra', sha, before, branch: 'main', message: 'Add the network\n\nAnd its subnets.',
        files: { added: ['network.tf'], modified: ['main.tf'], removed: ['old.tf'] }, sender: 'leg100',
      });
      const v = verify('github', d);
      assert.equal(v.deliveryId, d.headers['X-GitHub-Delivery']);
      assert.deepEqual(v.event, {
        kind: 'github',
        identifier: 'acme/infra',
        deliveryId: v.deliveryId,
        sender: 'leg100',
        type: 'push',
        branch: 'main',
        before,
        commit: { sha, message: 'Add the network\n\nAnd its subnets.', url: `https://github.com/acme/infra/commit/${sha}` },
        compareUrl: `https://github.com/acme/infra/compare/${before.slice(0, 12)}...${sha.slice(0, 12)}`,
        changedFiles: ['main.tf', 'network.tf', 'old.tf'],
        deleted: false,
      } satisfies PushEvent);
      assert.equal(d.headers['Content-Type'], 'application/json');
      assert.match(d.headers['User-Agent'] ?? '', /^GitHub-Hookshot\//);
    });

    it('the changed files of every listed commit are merged, and a branch may have slashes', function () {
      const [a, b] = [randomSha(), randomSha()];
      const d = githubPush({
        secret: SECRET, identifier: 'acme/infra', sha: b, branch: 'feature/vpc',
        commits: [{ sha: a, message: 'one', files: ['modules/vpc/main.tf'] }, { sha: b, message: 'two', files: { added: ['README.md'], modified: ['modules/vpc/main.tf'] } }],
      });
      const e = verify('github', d).event as PushEvent;
      assert.equal(e.branch, 'feature/vpc');
      assert.equal(e.commit.sha, b);
      assert.equal(e.commit.message, 'two');
      assert.deepEqual(e.changedFiles, ['README.md', 'modules/vpc/main.tf']);
    });

    it('a deleted branch reads as deleted, with no head commit to plan', function () {
      const e = verify('github', githubPush({ secret: SECRET, identifier: 'acme/infra', sha: randomSha(), branch: 'old', deleted: true })).event as PushEvent;
      assert.equal(e.deleted, true);
      assert.equal(e.commit.sha, ZERO_SHA);
      assert.deepEqual(e.changedFiles, []);
    });

    it('a push of more commits than GitHub lists has unknown changed files', function () {
      const commits = Array.from({ length: 2048 }, (_, i) => ({ sha: randomSha(), message: `c${i}`, files: ['main.tf'] }));
      const d = githubPush({ secret: SECRET, identifier: 'acme/infra', sha: commits[2047]!.sha, commits });
      assert.equal((verify('github', d).event as PushEvent).changedFiles, null);
    });

    it('a commit whose files GitHub did not list (over 3000, none, or no lists) makes the changed files unknown', function () {
      const many = Array.from({ length: 3000 }, (_, i) => `f${i}.tf`);
      const cases: Array<[string, (c: Record<string, unknown>) => void]> = [
        ['3000 files', (c) => (c.added = many)],
        ['empty lists', (c) => { c.added = []; c.modified = []; c.removed = []; }],
        ['no lists', (c) => { delete c.added; delete c.modified; delete c.removed; }],
      ];
      for (const [name, spoil] of cases) {
        const p = JSON.parse(githubPush({ secret: SECRET, identifier: 'acme/infra', sha: randomSha(), files: ['main.tf'] }).body.toString()) as { commits: Array<Record<string, unknown>> };
        spoil(p.commits[0]!);
        const body = Buffer.from(JSON.stringify(p));
        assert.equal((verify('github', { headers: githubHeaders('push', body, SECRET), body }).event as PushEvent).changedFiles, null, name);
      }
    });

    it('a tag reads as the tag and the commit it points to; a deleted one as deleted', function () {
      const sha = randomSha();
      const e = verify('github', githubTag({ secret: SECRET, identifier: 'acme/infra', tag: 'v1.2.0', sha, message: 'Release 1.2' })).event as TagEvent;
      assert.deepEqual(e, {
        kind: 'github', identifier: 'acme/infra', deliveryId: e.deliveryId, sender: 'octocat', type: 'tag', tag: 'v1.2.0',
        commit: { sha, message: 'Release 1.2', url: `https://github.com/acme/infra/commit/${sha}` }, deleted: false,
      } satisfies TagEvent);
      const gone = verify('github', githubTag({ secret: SECRET, identifier: 'acme/infra', tag: 'v1.2.0', sha, deleted: true })).event as TagEvent;
      assert.equal(gone.deleted, true);
    });

    it('pull requests: opened, synchronize and reopened are acted on, other actions read as "other"', function () {
      const sha = randomSha();
      const d = githubPullRequest({ secret: SECRET, identifier: 'acme/infra', number: 42, sha, title: 'Bigger subnets', headBranch: 'subnets', sender: 'ada' });
      const e = verify('github', d).event as PullRequestEvent;
      assert.deepEqual(e, {
        kind: 'github', identifier: 'acme/infra', deliveryId: d.headers['X-GitHub-Delivery'], sender: 'ada', type: 'pull-request',
        action: 'opened', number: 42, url: 'https://github.com/acme/infra/pull/42', title: 'Bigger subnets',
        commit: { sha, message: 'Bigger subnets', url: `https://github.com/acme/infra/commit/${sha}` },
        headBranch: 'subnets', baseBranch: 'main', fromFork: false,
      } satisfies PullRequestEvent);
      const actions: Array<[string, PullRequestEvent['action']]> = [['synchronize', 'updated'], ['reopened', 'reopened'], ['closed', 'other'], ['labeled', 'other'], ['constructor', 'other']];
      for (const [action, expected] of actions) {
        const got = verify('github', githubPullRequest({ secret: SECRET, identifier: 'acme/infra', number: 1, sha, action })).event as PullRequestEvent;
        assert.equal(got.action, expected, action);
      }
    });

    it('a pull request from a fork says so, and links the commit in the fork', function () {
      const sha = randomSha();
      const e = verify('github', githubPullRequest({ secret: SECRET, identifier: 'acme/infra', number: 3, sha, fork: 'mallory/infra' })).event as PullRequestEvent;
      assert.equal(e.fromFork, true);
      assert.equal(e.identifier, 'acme/infra');
      assert.equal(e.commit.url, `https://github.com/mallory/infra/commit/${sha}`);
    });

    it('a ping, and events otfd does not act on, read as nothing to do', function () {
      const ping = githubPing({ secret: SECRET, identifier: 'acme/infra' });
      assert.deepEqual(verify('github', ping), { deliveryId: ping.headers['X-GitHub-Delivery'], event: null });
      const body = Buffer.from(JSON.stringify({ action: 'opened', issue: { number: 1 } }));
      assert.equal(verify('github', { headers: githubHeaders('issues', body, SECRET), body }).event, null);
      // A push to a ref that is neither a branch nor a tag.
      const notes = githubPush({ secret: SECRET, identifier: 'acme/infra', sha: randomSha() });
      const p = JSON.parse(notes.body.toString()) as Record<string, unknown>;
      p.ref = 'refs/notes/commits';
      const nb = Buffer.from(JSON.stringify(p));
      assert.equal(verify('github', { headers: githubHeaders('push', nb, SECRET), body: nb }).event, null);
    });

    it('SHA-256 repositories: 64-character shas are read', function () {
      const sha = createHmac('sha256', 'x').update('y').digest('hex');
      const e = verify('github', githubPush({ secret: SECRET, identifier: 'acme/infra', sha, before: ZERO_SHA })).event as PushEvent;
      assert.equal(e.commit.sha, sha);
      assert.equal(e.before, ZERO_SHA);
    });
  });

  describe('GitLab', function () {
    it('a Push Hook reads as the branch, head commit, a compare URL and changed files', function () {
      const sha = randomSha();
      const before = randomSha();
      const d = gitlabPush({ secret: SECRET, identifier: 'platform/networking/vpc', sha, before, branch: 'main', message: 'Widen the VPC', files: { added: ['a.tf'], removed: ['b.tf'] }, sender: 'ada' });
      const v = verify('gitlab', d);
      // Idempotency-Key stays the same when GitLab retries a delivery: it is the delivery's id.
      assert.equal(v.deliveryId, d.headers['Idempotency-Key']);
      assert.deepEqual(v.event, {
        kind: 'gitlab', identifier: 'platform/networking/vpc', deliveryId: v.deliveryId, sender: 'ada', type: 'push', branch: 'main', before,
        commit: { sha, message: 'Widen the VPC', url: `https://gitlab.example.com/platform/networking/vpc/-/commit/${sha}` },
        compareUrl: `https://gitlab.example.com/platform/networking/vpc/-/compare/${before}...${sha}`,
        changedFiles: ['a.tf', 'b.tf'],
        deleted: false,
      } satisfies PushEvent);
      assert.match(d.headers['User-Agent'] ?? '', /^GitLab\//);
      assert.equal(d.headers['X-Gitlab-Token'], SECRET);
    });

    it('without Idempotency-Key (GitLab before 17.4) the delivery id is X-Gitlab-Event-UUID', function () {
      const d = gitlabPush({ secret: SECRET, identifier: 'acme/infra', sha: randomSha() });
      delete d.headers['Idempotency-Key'];
      assert.equal(verify('gitlab', d).deliveryId, d.headers['X-Gitlab-Event-UUID']);
    });

    it('a push of more commits than listed (total_commits_count) has unknown changed files', function () {
      const d = gitlabPush({ secret: SECRET, identifier: 'acme/infra', sha: randomSha(), files: ['main.tf'], totalCommits: 25 });
      assert.equal((verify('gitlab', d).event as PushEvent).changedFiles, null);
    });

    it('a deleted branch reads as deleted', function () {
      const e = verify('gitlab', gitlabPush({ secret: SECRET, identifier: 'acme/infra', sha: randomSha(), deleted: true })).event as PushEvent;
      assert.equal(e.deleted, true);
      assert.equal(e.compareUrl, null);
    });

    it('a Tag Push Hook reads as the tag and the commit it points to (checkout_sha), not the tag object', function () {
      const sha = randomSha();
      const d = gitlabTagPush({ secret: SECRET, identifier: 'acme/infra', tag: 'v2.0.0', sha, message: 'Second release' });
      const e = verify('gitlab', d).event as TagEvent;
      assert.deepEqual(e, {
        kind: 'gitlab', identifier: 'acme/infra', deliveryId: e.deliveryId, sender: 'ada', type: 'tag', tag: 'v2.0.0',
        commit: { sha, message: 'Second release', url: `https://gitlab.example.com/acme/infra/-/commit/${sha}` }, deleted: false,
      } satisfies TagEvent);
      assert.equal((verify('gitlab', gitlabTagPush({ secret: SECRET, identifier: 'acme/infra', tag: 'v2.0.0', sha, deleted: true })).event as TagEvent).deleted, true);
    });

    it('a Merge Request Hook: open, update with new commits, reopen; other updates and actions read as "other"', function () {
      const sha = randomSha();
      const d = gitlabMergeRequest({ secret: SECRET, identifier: 'acme/infra', number: 9, sha, title: 'Widen the VPC', headBranch: 'wide', message: 'Widen the VPC\n\nTo /16.' });
      const e = verify('gitlab', d).event as PullRequestEvent;
      assert.deepEqual(e, {
        kind: 'gitlab', identifier: 'acme/infra', deliveryId: e.deliveryId, sender: 'ada', type: 'pull-request', action: 'opened', number: 9,
        url: 'https://gitlab.example.com/acme/infra/-/merge_requests/9', title: 'Widen the VPC',
        commit: { sha, message: 'Widen the VPC\n\nTo /16.', url: `https://gitlab.example.com/acme/infra/-/commit/${sha}` },
        headBranch: 'wide', baseBranch: 'main', fromFork: false,
      } satisfies PullRequestEvent);
      const cases: Array<[string, string | null | undefined, PullRequestEvent['action']]> = [
        ['update', undefined, 'updated'], ['update', null, 'other'], ['reopen', undefined, 'reopened'], ['close', undefined, 'other'], ['merge', undefined, 'other'], ['approved', undefined, 'other'],
      ];
      for (const [action, oldrev, expected] of cases) {
        const got = verify('gitlab', gitlabMergeRequest({ secret: SECRET, identifier: 'acme/infra', number: 9, sha, action, oldrev })).event as PullRequestEvent;
        assert.equal(got.action, expected, `${action} oldrev=${String(oldrev)}`);
      }
    });

    it('a merge request from a fork (another source project) says so', function () {
      const e = verify('gitlab', gitlabMergeRequest({ secret: SECRET, identifier: 'acme/infra', number: 2, sha: randomSha(), fork: 'mallory/infra' })).event as PullRequestEvent;
      assert.equal(e.fromFork, true);
    });

    it('other hooks read as nothing to do', function () {
      for (const event of ['Issue Hook', 'Note Hook', 'Pipeline Hook', 'System Hook']) {
        const d = { headers: gitlabHeaders(event, SECRET), body: Buffer.from(JSON.stringify({ object_kind: 'issue' })) };
        assert.equal(verify('gitlab', d).event, null, event);
      }
    });
  });

  describe('Forgejo', function () {
    it('a push reads as the branch, head commit, compare URL and changed files', function () {
      const sha = randomSha();
      const before = randomSha();
      const d = forgejoPush({ secret: SECRET, identifier: 'acme/infra', sha, before, message: 'Add outputs', files: ['outputs.tf'], sender: 'ada' });
      const v = verify('forgejo', d);
      assert.equal(v.deliveryId, d.headers['X-Forgejo-Delivery']);
      assert.deepEqual(v.event, {
        kind: 'forgejo', identifier: 'acme/infra', deliveryId: v.deliveryId, sender: 'ada', type: 'push', branch: 'main', before,
        commit: { sha, message: 'Add outputs\n', url: `https://forgejo.example.com/acme/infra/commit/${sha}` },
        compareUrl: `https://forgejo.example.com/acme/infra/compare/${before}...${sha}`,
        changedFiles: ['outputs.tf'],
        deleted: false,
      } satisfies PushEvent);
    });

    it('Gitea: only X-Gitea-* headers are enough', function () {
      const d = forgejoPush({ secret: SECRET, identifier: 'acme/infra', sha: randomSha() });
      for (const name of Object.keys(d.headers)) if (name.startsWith('X-Forgejo-')) delete d.headers[name];
      const v = verify('forgejo', d);
      assert.equal(v.deliveryId, d.headers['X-Gitea-Delivery']);
      assert.equal(v.event?.type, 'push');
    });

    it('a push of more commits than listed (total_commits), or from a Gitea that does not count them, has unknown changed files', function () {
      const d = forgejoPush({ secret: SECRET, identifier: 'acme/infra', sha: randomSha(), files: ['main.tf'], totalCommits: 12 });
      assert.equal((verify('forgejo', d).event as PushEvent).changedFiles, null);
      const p = JSON.parse(forgejoPush({ secret: SECRET, identifier: 'acme/infra', sha: randomSha() }).body.toString()) as Record<string, unknown>;
      delete p.total_commits;
      const body = Buffer.from(JSON.stringify(p));
      assert.equal((verify('forgejo', { headers: forgejoHeaders('push', body, SECRET), body }).event as PushEvent).changedFiles, null);
    });

    it("a push shaped as the documentation's example (no head_commit, total_commits or file lists) reads its head from the commits", function () {
      const sha = randomSha();
      const p = JSON.parse(forgejoPush({ secret: SECRET, identifier: 'acme/infra', sha, message: 'Webhooks Yay!' }).body.toString()) as Record<string, unknown> & { commits: Array<Record<string, unknown>> };
      delete p.head_commit;
      delete p.total_commits;
      for (const c of p.commits) {
        delete c.added;
        delete c.modified;
        delete c.removed;
      }
      p.secret = SECRET; // old versions sent the secret in the payload
      const body = Buffer.from(JSON.stringify(p));
      const e = verify('forgejo', { headers: forgejoHeaders('push', body, SECRET), body }).event as PushEvent;
      assert.deepEqual(e.commit, { sha, message: 'Webhooks Yay!\n', url: `https://forgejo.example.com/acme/infra/commit/${sha}` });
      assert.equal(e.changedFiles, null);
    });

    it('a tag reads as the tag and its commit; a deleted branch as deleted', function () {
      const sha = randomSha();
      const e = verify('forgejo', forgejoTag({ secret: SECRET, identifier: 'acme/infra', tag: 'v3', sha, message: 'Third' })).event as TagEvent;
      assert.equal(e.type, 'tag');
      assert.equal(e.tag, 'v3');
      assert.deepEqual(e.commit, { sha, message: 'Third\n', url: `https://forgejo.example.com/acme/infra/commit/${sha}` });
      assert.equal(e.deleted, false);
      const gone = verify('forgejo', forgejoPush({ secret: SECRET, identifier: 'acme/infra', sha: randomSha(), deleted: true })).event as PushEvent;
      assert.equal(gone.deleted, true);
    });

    it('pull requests: opened, synchronized and reopened; forks detected by repository id', function () {
      const sha = randomSha();
      const d = forgejoPullRequest({ secret: SECRET, identifier: 'acme/infra', number: 5, sha, title: 'Outputs', headBranch: 'outputs' });
      const e = verify('forgejo', d).event as PullRequestEvent;
      assert.deepEqual(e, {
        kind: 'forgejo', identifier: 'acme/infra', deliveryId: e.deliveryId, sender: 'ada', type: 'pull-request', action: 'opened', number: 5,
        url: 'https://forgejo.example.com/acme/infra/pulls/5', title: 'Outputs',
        commit: { sha, message: 'Outputs', url: `https://forgejo.example.com/acme/infra/commit/${sha}` },
        headBranch: 'outputs', baseBranch: 'main', fromFork: false,
      } satisfies PullRequestEvent);
      for (const [action, expected] of [['synchronized', 'updated'], ['reopened', 'reopened'], ['closed', 'other'], ['edited', 'other']] as const) {
        assert.equal((verify('forgejo', forgejoPullRequest({ secret: SECRET, identifier: 'acme/infra', number: 5, sha, action })).event as PullRequestEvent).action, expected);
      }
      assert.equal((verify('forgejo', forgejoPullRequest({ secret: SECRET, identifier: 'acme/infra', number: 5, sha, fork: 'mallory/infra' })).event as PullRequestEvent).fromFork, true);
    });

    it('create, delete and other events read as nothing to do', function () {
      for (const event of ['create', 'delete', 'issues', 'release']) {
        const body = Buffer.from(JSON.stringify({ ref: 'v1', ref_type: 'tag' }));
        assert.equal(verify('forgejo', { headers: forgejoHeaders(event, body, SECRET), body }).event, null, event);
      }
    });
  });

  describe('over real HTTP', function () {
    let server: http.Server;
    let base = '';
    /** What a receiver calling verifyDelivery with Node's request headers answers. */
    before(async function () {
      server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const kind = (req.url ?? '').slice(1) as HookKind;
          const secret = req.headers['x-test-secret'] as string;
          let answer: { status: number; detail?: string; verified?: VerifiedDelivery };
          try {
            answer = { status: 202, verified: verifyDelivery(kind, req.headers, Buffer.concat(chunks), secret) };
          } catch (err) {
            answer = err instanceof WebhookRejected ? { status: err.status, detail: err.message } : { status: 500, detail: String(err) };
          }
          res.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(function () {
      server.close();
    });

    async function send(kind: HookKind, d: Delivery, secret: string): Promise<{ status: number; detail?: string; verified?: VerifiedDelivery }> {
      const res = await fetch(`${base}/${kind}`, { method: 'POST', headers: { ...d.headers, 'X-Test-Secret': secret }, body: d.body });
      return (await res.json()) as { status: number; detail?: string; verified?: VerifiedDelivery };
    }

    it("every builder's delivery arrives as the provider's would and verifies", async function () {
      const sha = randomSha();
      const deliveries: Array<[HookKind, Delivery, string]> = [
        ['github', githubPush({ secret: SECRET, identifier: 'acme/infra', sha }), 'push'],
        ['github', githubTag({ secret: SECRET, identifier: 'acme/infra', tag: 'v1', sha }), 'tag'],
        ['github', githubPullRequest({ secret: SECRET, identifier: 'acme/infra', number: 1, sha }), 'pull-request'],
        ['gitlab', gitlabPush({ secret: SECRET, identifier: 'acme/infra', sha }), 'push'],
        ['gitlab', gitlabTagPush({ secret: SECRET, identifier: 'acme/infra', tag: 'v1', sha }), 'tag'],
        ['gitlab', gitlabMergeRequest({ secret: SECRET, identifier: 'acme/infra', number: 1, sha }), 'pull-request'],
        ['forgejo', forgejoPush({ secret: SECRET, identifier: 'acme/infra', sha }), 'push'],
        ['forgejo', forgejoTag({ secret: SECRET, identifier: 'acme/infra', tag: 'v1', sha }), 'tag'],
        ['forgejo', forgejoPullRequest({ secret: SECRET, identifier: 'acme/infra', number: 1, sha }), 'pull-request'],
      ];
      for (const [kind, d, type] of deliveries) {
        const answer = await send(kind, d, SECRET);
        assert.equal(answer.status, 202, `${kind} ${type}: ${answer.detail}`);
        assert.equal(answer.verified?.event?.type, type);
        assert.equal(answer.verified?.event?.commit.sha, sha);
      }
    });

    it('every hostile delivery gets its status', async function () {
      this.timeout(120_000);
      const wrong: string[] = [];
      for (const h of HOSTILE_DELIVERIES) {
        const answer = await send(h.kind, h, HOSTILE_SECRET);
        if (answer.status !== h.status || !h.detail.test(answer.detail ?? '')) wrong.push(`${h.name}: ${answer.status} ${answer.detail}`);
      }
      assert.deepEqual(wrong, []);
    });

    it('a signature header sent twice is refused', async function () {
      const d = githubPush({ secret: SECRET, identifier: 'acme/infra', sha: randomSha() });
      const headers = new Headers(d.headers);
      headers.append('X-Hub-Signature-256', d.headers['X-Hub-Signature-256']!);
      headers.set('X-Test-Secret', SECRET);
      const res = await fetch(`${base}/github`, { method: 'POST', headers, body: d.body });
      assert.equal(res.status, 401);
    });
  });

  describe('hostile deliveries', function () {
    it('there are at least 60, with unique names, across the three providers', function () {
      assert.ok(HOSTILE_DELIVERIES.length >= 60, `only ${HOSTILE_DELIVERIES.length}`);
      assert.equal(new Set(HOSTILE_DELIVERIES.map((h) => h.name)).size, HOSTILE_DELIVERIES.length);
      for (const kind of ['github', 'gitlab', 'forgejo'] as const) {
        assert.ok(HOSTILE_DELIVERIES.filter((h) => h.kind === kind).length >= 20, kind);
      }
      for (const status of [400, 401, 413, 415]) assert.ok(HOSTILE_DELIVERIES.some((h) => h.status === status), String(status));
    });

    it('each is refused with its status and a detail naming the problem', function () {
      const wrong: string[] = [];
      for (const h of HOSTILE_DELIVERIES) {
        let err: unknown = null;
        try {
          verifyDelivery(h.kind, lowerCaseHeaders(h.headers), h.body, HOSTILE_SECRET);
        } catch (e) {
          err = e;
        }
        if (!(err instanceof WebhookRejected)) wrong.push(`${h.name}: ${err === null ? 'accepted' : `threw ${String(err)}`}`);
        else if (err.status !== h.status || !h.detail.test(err.message)) wrong.push(`${h.name}: ${err.status} "${err.message}"`);
      }
      assert.deepEqual(wrong, []);
    });

    it('no detail carries the secret, a signature or the token sent', function () {
      const secret = 'a-secret-nobody-may-see-0b1c2d3e';
      for (const h of hostileDeliveries(secret)) {
        const headers = lowerCaseHeaders(h.headers);
        let detail = '';
        try {
          verifyDelivery(h.kind, headers, h.body, secret);
        } catch (e) {
          detail = (e as Error).message;
        }
        assert.ok(detail.length > 0, h.name);
        assert.ok(!detail.includes(secret), `${h.name}: ${detail}`);
        for (const name of ['x-hub-signature-256', 'x-hub-signature', 'x-forgejo-signature', 'x-gitea-signature', 'x-gitlab-token']) {
          const sent = headers[name];
          if (sent && sent.length >= 8) assert.ok(!detail.includes(sent), `${h.name}: ${detail}`);
        }
      }
    });

    it('a secret inside the payload (old Forgejo payloads carried one) is not echoed either', function () {
      const p = JSON.parse(forgejoPush({ secret: SECRET, identifier: 'acme/infra', sha: randomSha() }).body.toString()) as Record<string, unknown>;
      p.secret = SECRET;
      p.ref = 42;
      const body = Buffer.from(JSON.stringify(p));
      const err = refusal('forgejo', { headers: forgejoHeaders('push', body, SECRET), body });
      assert.equal(err.status, 400);
      assert.ok(!err.message.includes(SECRET));
    });

    it('signatures and tokens of the wrong length are refused, not thrown at by the constant-time comparison', function () {
      const good = githubPush({ secret: SECRET, identifier: 'acme/infra', sha: randomSha() });
      const sig = good.headers['X-Hub-Signature-256']!;
      for (const bad of [sig.slice(0, -2), `${sig}ab`, 'sha256=', `sha256=${'0'.repeat(128)}`]) {
        const err = refusal('github', { headers: { ...good.headers, 'X-Hub-Signature-256': bad }, body: good.body });
        assert.equal(err.status, 401);
      }
      const fj = forgejoPush({ secret: SECRET, identifier: 'acme/infra', sha: randomSha() });
      for (const bad of ['ab', fj.headers['X-Forgejo-Signature']!.repeat(2)]) {
        assert.equal(refusal('forgejo', { headers: { ...fj.headers, 'X-Forgejo-Signature': bad }, body: fj.body }).status, 401);
      }
      // GitLab's token is compared as digests: any length refuses cleanly (timingSafeEqual throws on unequal lengths).
      const gl = gitlabPush({ secret: SECRET, identifier: 'acme/infra', sha: randomSha() });
      for (const bad of ['x', SECRET.slice(0, -1), `${SECRET}${SECRET}`, 'é'.repeat(300)]) {
        assert.equal(refusal('gitlab', { headers: { ...gl.headers, 'X-Gitlab-Token': bad }, body: gl.body }).status, 401);
      }
    });

    it('the signature is checked before the body is read as JSON: a malformed body with a bad signature is 401', function () {
      const body = Buffer.from('{not json');
      const headers = { ...githubHeaders('push', body, 'another-secret') };
      assert.equal(refusal('github', { headers, body }).status, 401);
      const fj = { headers: forgejoHeaders('push', body, 'another-secret'), body };
      assert.equal(refusal('forgejo', fj).status, 401);
    });

    it('a body of exactly MAX_DELIVERY_BYTES is read (and judged on its content); one byte more is 413', function () {
      const body = Buffer.alloc(MAX_DELIVERY_BYTES, 0x20);
      const err = refusal('github', { headers: githubHeaders('push', body, SECRET), body });
      assert.equal(err.status, 400);
      assert.match(err.message, /empty/);
      const over = Buffer.concat([body, Buffer.from(' ')]);
      const tooLarge = refusal('github', { headers: githubHeaders('push', over, SECRET), body: over });
      assert.equal(tooLarge.status, 413);
      assert.equal(tooLarge.title, 'payload too large');
    });

    it('a hook without a secret trusts nothing', function () {
      const d = githubPush({ secret: '', identifier: 'acme/infra', sha: randomSha() });
      assert.equal(refusal('github', d, '').status, 401);
    });

    it('a refusal becomes a JSON:API error with its status, title and pointer', async function () {
      const body = Buffer.from(JSON.stringify({ ...JSON.parse(githubPush({ secret: SECRET, identifier: 'acme/infra', sha: randomSha() }).body.toString()), ref: 7 }));
      const err = refusal('github', { headers: githubHeaders('push', body, SECRET), body });
      const ctx = { state: { requestId: 'r1' }, set() {}, status: 0, type: '', body: undefined as unknown };
      await errorMiddleware(createLogger('silent'))(ctx as never, () => Promise.reject(err));
      assert.equal(ctx.status, 400);
      // As sent: JSON, where an absent member is no member.
      assert.deepEqual(JSON.parse(JSON.stringify(ctx.body)), { errors: [{ status: '400', title: 'bad request', detail: 'field "ref" must be a string, got a number', source: { pointer: '/ref' } }] });
    });
  });
});
