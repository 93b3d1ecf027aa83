// The providers' adapters as otfd uses them, each against the providers' REST stand-in
// (test/helpers/provider-api.ts) serving a real git repository: what a repository says, webhooks
// created and deleted (a gone one is fine), commit statuses (GitLab's "failed"), the files a push
// or a pull request changed (computed by git, several pages of them), and every failure (revoked
// token, unknown repository, a provider failing inside, slow or unreachable) a VcsApiError that
// says what happened and never holds the token.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createAdapter } from '../src/vcs/providers/index.js';
import { VcsApiError, type HookKind, type ServiceProvider, type VcsAdapter } from '../src/vcs/types.js';
import { startProviderApi, type ProviderApi } from './helpers/provider-api.js';

const GIT_ENV = {
  PATH: process.env.PATH,
  HOME: os.tmpdir(),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'otf',
  GIT_AUTHOR_EMAIL: 'otf@example.com',
  GIT_COMMITTER_NAME: 'otf',
  GIT_COMMITTER_EMAIL: 'otf@example.com',
};

/** A repository with three commits on main and a branch "feature" off the first; returns the commit ids. */
function makeRepository(dir: string): { gitDir: string; first: string; second: string; third: string; feature: string } {
  fs.mkdirSync(dir, { recursive: true });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env: GIT_ENV, stdio: 'pipe' }).toString().trim();
  const commit = (files: Record<string, string>, message: string) => {
    for (const [file, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), content);
    }
    git('add', '.');
    git('commit', '-q', '-m', message);
    return git('rev-parse', 'HEAD');
  };
  git('init', '-q', '-b', 'main');
  const first = commit({ 'main.tf': 'resource "terraform_data" "a" {}\n', 'modules/net/main.tf': '# net\n' }, 'first');
  const second = commit({ 'modules/net/main.tf': '# net 2\n', 'README.md': 'hello\n' }, 'second');
  const third = commit({ 'envs/prod/main.tf': '# prod\n' }, 'third');
  git('checkout', '-q', '-b', 'feature', first);
  const feature = commit({ 'feature.tf': '# feature\n', 'main.tf': 'resource "terraform_data" "b" {}\n' }, 'feature');
  git('checkout', '-q', 'main');
  return { gitDir: path.join(dir, '.git'), first, second, third, feature };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function rejection(p: Promise<unknown>): Promise<VcsApiError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof VcsApiError, `expected a VcsApiError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a VcsApiError, the call succeeded');
}

const DIALECTS: Array<{ kind: HookKind; provider: ServiceProvider; identifier: string; username: string; failureState: string }> = [
  { kind: 'github', provider: 'github_enterprise', identifier: 'acme/infra', username: 'x-access-token', failureState: 'failure' },
  { kind: 'gitlab', provider: 'gitlab_enterprise_edition', identifier: 'acme/platform/infra', username: 'oauth2', failureState: 'failed' },
  { kind: 'forgejo', provider: 'forgejo', identifier: 'acme/infra-forgejo', username: 'oauth2', failureState: 'failure' },
];

describe('VCS provider adapters against the providers\' REST stand-in', function () {
  this.timeout(30_000);
  let api: ProviderApi;
  let tmp: string;
  let repo: ReturnType<typeof makeRepository>;
  const token = `tok-${Math.random().toString(36).slice(2)}-secret`;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'otf-adapters-'));
    repo = makeRepository(path.join(tmp, 'repo'));
    api = await startProviderApi();
    api.addToken(token);
    for (const d of DIALECTS) {
      api.addRepository({ identifier: d.identifier, defaultBranch: 'main', cloneUrl: `http://127.0.0.1:1/${d.identifier}.git`, webUrl: `https://example.test/${d.identifier}`, gitDir: repo.gitDir });
      api.addPullRequest(d.identifier, { number: 7, base: 'main', head: 'feature' });
      // 130 files: more than one page in every dialect (GitHub 100, GitLab 100, Forgejo 50).
      api.addPullRequest(d.identifier, { number: 8, base: 'main', head: 'feature', files: Array.from({ length: 130 }, (_, i) => `many/f${i}.tf`) });
    }
  });

  after(async () => {
    await api?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  for (const d of DIALECTS) {
    describe(`${d.kind} (${d.provider})`, () => {
      let adapter: VcsAdapter;
      before(() => {
        adapter = createAdapter(d.provider, api.apiUrl(d.kind), token);
      });

      it('tells a repository\'s identifier, default branch and clone URLs', async () => {
        assert.equal(adapter.provider, d.provider);
        const info = await adapter.repository(d.identifier);
        assert.equal(info.identifier, d.identifier);
        assert.equal(info.defaultBranch, 'main');
        assert.equal(info.cloneUrl, `http://127.0.0.1:1/${d.identifier}.git`);
        assert.equal(info.webUrl, `https://example.test/${d.identifier}`);
        const last = api.requests[api.requests.length - 1];
        assert.equal(last.kind, d.kind);
        assert.equal(last.authorized, true);
      });

      it('gives the clone credentials the provider documents for tokens', () => {
        assert.deepEqual(adapter.cloneCredentials(), { username: d.username, password: token });
      });

      it('creates a webhook for pushes, tags and pull requests, and deletes it (twice is fine)', async () => {
        const id = await adapter.createWebhook(d.identifier, { url: 'https://otf.example/webhooks/x/hook-1', secret: 'whsec-1' });
        const [hook] = api.hooks(d.identifier);
        assert.ok(hook, 'the provider got a hook');
        assert.equal(hook.id, id);
        assert.equal(hook.url, 'https://otf.example/webhooks/x/hook-1');
        assert.equal(hook.secret, 'whsec-1');
        if (d.kind === 'github') {
          assert.deepEqual(hook.events, ['push', 'pull_request']);
          assert.equal((hook.body.config as Record<string, unknown>).content_type, 'json');
        } else if (d.kind === 'gitlab') {
          assert.deepEqual(hook.events, ['push_events', 'tag_push_events', 'merge_requests_events']);
        } else {
          assert.deepEqual(hook.events, ['push', 'pull_request']);
          assert.equal(hook.type, 'forgejo');
        }
        await adapter.deleteWebhook(d.identifier, id);
        assert.deepEqual(api.hooks(d.identifier), []);
        await adapter.deleteWebhook(d.identifier, id);
      });

      it('posts commit statuses in order, with the provider\'s word for failure', async () => {
        const status = { description: 'Plan: +3 ~1 -0', targetUrl: 'https://otf.example/runs/run-1', context: 'otf/acme/prod' };
        await adapter.setCommitStatus(d.identifier, repo.third, { ...status, state: 'pending' });
        await adapter.setCommitStatus(d.identifier, repo.third, { ...status, state: 'success' });
        await adapter.setCommitStatus(d.identifier, repo.third, { ...status, state: 'failure', description: 'x'.repeat(300) });
        const got = api.statuses(d.identifier, repo.third).filter((s) => s.kind === d.kind);
        assert.deepEqual(got.map((s) => s.state), ['pending', 'success', d.failureState]);
        assert.equal(got[0].description, 'Plan: +3 ~1 -0');
        assert.equal(got[0].targetUrl, 'https://otf.example/runs/run-1');
        assert.equal(got[0].context, 'otf/acme/prod');
        assert.equal(got[2].description?.length, 140, 'cut at 140 characters');
      });

      it('lists the files changed between two commits', async () => {
        const files = await adapter.changedFiles(d.identifier, repo.first, repo.third);
        assert.deepEqual([...files].sort(), ['README.md', 'envs/prod/main.tf', 'modules/net/main.tf']);
        assert.deepEqual(await adapter.changedFiles(d.identifier, repo.second, repo.third), ['envs/prod/main.tf']);
      });

      it('lists a pull request\'s files, over every page', async () => {
        assert.deepEqual([...(await adapter.pullRequestFiles(d.identifier, 7))].sort(), ['feature.tf', 'main.tf']);
        const many = await adapter.pullRequestFiles(d.identifier, 8);
        assert.equal(many.length, 130);
        assert.equal(many[129], 'many/f129.tf');
      });

      it('answers an unknown repository or pull request with a 404 VcsApiError', async () => {
        const gone = d.kind === 'gitlab' ? 'acme/platform/nothing' : 'acme/nothing';
        const err = await rejection(adapter.repository(gone));
        assert.equal(err.status, 404);
        assert.equal(err.retryable, false);
        assert.match(err.message, /404/);
        assert.equal((await rejection(adapter.pullRequestFiles(d.identifier, 999))).status, 404);
      });

      it('refuses an identifier that is no repository path without asking the provider', async () => {
        const before = api.requests.length;
        for (const bad of ['', 'no-slash', '../etc/passwd', 'a/b\u0000c', 'a/ b']) {
          const err = await rejection(adapter.repository(bad));
          assert.equal(err.status, 400, `for ${JSON.stringify(bad)}`);
        }
        assert.equal(api.requests.length, before);
      });

      it('answers a revoked token with a 401 VcsApiError that does not hold the token', async () => {
        const other = `revoked-${d.kind}-${Math.random().toString(36).slice(2)}`;
        api.addToken(other);
        const revoked = createAdapter(d.provider, api.apiUrl(d.kind), other);
        await revoked.repository(d.identifier);
        api.revokeToken(other);
        const err = await rejection(revoked.repository(d.identifier));
        assert.equal(err.status, 401);
        assert.match(err.message, /401/);
        assert.ok(!err.message.includes(other), err.message);
        assert.ok(!String(err.stack).includes(other));
      });

      it('answers a provider failing inside with a retryable VcsApiError', async () => {
        api.fail({ status: 503, times: 1 });
        const err = await rejection(adapter.setCommitStatus(d.identifier, repo.first, { state: 'pending', description: 'd', targetUrl: 'https://x', context: 'c' }));
        assert.equal(err.status, 503);
        assert.equal(err.retryable, true);
        assert.ok(!err.message.includes(token));
        // The next call goes through.
        await adapter.setCommitStatus(d.identifier, repo.first, { state: 'pending', description: 'd', targetUrl: 'https://x', context: 'c' });
      });

      it('answers an unreachable or slow provider with status 0', async () => {
        const port = await closedPort();
        const base = api.apiUrl(d.kind).replace(/:\d+\//, `:${port}/`);
        const err = await rejection(createAdapter(d.provider, base, token).repository(d.identifier));
        assert.equal(err.status, 0);
        assert.equal(err.retryable, true);
        assert.match(err.message, /unreachable/);
        assert.ok(!err.message.includes(token));

        api.delay(1000);
        try {
          const slow = await rejection(createAdapter(d.provider, api.apiUrl(d.kind), token, { timeoutMs: 200 }).repository(d.identifier));
          assert.equal(slow.status, 0);
          assert.match(slow.message, /no answer within 200 ms/);
        } finally {
          api.delay(0);
        }
      });

      it('calls no link-local or unspecified host, follows no redirect, and never repeats what a refusing host said', async () => {
        for (const base of ['http://169.254.169.254/api', 'http://[fe80::1]/api', 'http://0.0.0.0:1/api', 'http://[::ffff:a9fe:a9fe]/api']) {
          const err = await rejection(createAdapter(d.provider, base, token).repository(d.identifier));
          assert.equal(err.status, 400, base);
          assert.match(err.message, /otfd makes no requests there/, base);
        }
        // An internal host answering with its own page: the error says the status, not the page.
        const internal = http.createServer((req, res) => {
          if (req.url?.includes('redirect')) {
            res.writeHead(302, { Location: 'http://169.254.169.254/latest/meta-data/' }).end();
            return;
          }
          res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ message: 'INTERNAL-SECRET', error: 'INTERNAL-SECRET' }));
        });
        await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
        try {
          const port = (internal.address() as net.AddressInfo).port;
          const said = await rejection(createAdapter(d.provider, `http://127.0.0.1:${port}/api`, token).repository(d.identifier));
          assert.equal(said.status, 404);
          assert.match(said.message, /answered 404 Not Found when asked GET/);
          assert.ok(!said.message.includes('INTERNAL-SECRET'), said.message);
          const moved = await rejection(createAdapter(d.provider, `http://127.0.0.1:${port}/redirect`, token).repository(d.identifier));
          assert.equal(moved.status, 302);
          assert.ok(!moved.message.includes('169.254'), moved.message);
        } finally {
          internal.close();
        }
      });
    });
  }

  it('GitHub: creating a hook whose URL it has already (an answer lost) keeps that hook, with the new secret', async () => {
    const adapter = createAdapter('github', api.apiUrl('github'), token);
    const url = 'https://otf.example/webhooks/github/lost-answer';
    const first = await adapter.createWebhook('acme/infra', { url, secret: 'first' });
    const again = await adapter.createWebhook('acme/infra', { url, secret: 'second' });
    assert.equal(again, first);
    const mine = api.hooks('acme/infra').filter((h) => h.url === url);
    assert.equal(mine.length, 1);
    assert.equal(mine[0].secret, 'second');
    await adapter.deleteWebhook('acme/infra', first);
  });

  it('GitLab: a status already in the state posted is done, any other 400 is an error', async () => {
    const adapter = createAdapter('gitlab_hosted', api.apiUrl('gitlab'), token);
    const status = { state: 'pending' as const, description: 'Planning', targetUrl: 'https://otf.example/runs/run-2', context: 'otf/acme/twice' };
    await adapter.setCommitStatus('acme/platform/infra', repo.second, status);
    await adapter.setCommitStatus('acme/platform/infra', repo.second, status);
    const got = api.statuses('acme/platform/infra', repo.second).filter((s) => s.context === 'otf/acme/twice');
    assert.deepEqual(got.map((s) => s.state), ['pending']);
    assert.equal(api.requests[api.requests.length - 1].status, 400, 'GitLab refused the second');
    api.fail({ status: 400, times: 1 });
    const err = await rejection(adapter.setCommitStatus('acme/platform/infra', repo.second, { ...status, state: 'success' }));
    assert.equal(err.status, 400);
    assert.equal(err.retryable, false);
  });

  it('cuts a description at 140 characters without splitting one', async () => {
    const adapter = createAdapter('github', api.apiUrl('github'), token);
    await adapter.setCommitStatus('acme/infra', repo.second, { state: 'success', description: `${'a'.repeat(139)}\u{1F600}tail`, targetUrl: 'https://x', context: 'otf/cut' });
    const [got] = api.statuses('acme/infra', repo.second).filter((s) => s.context === 'otf/cut');
    assert.equal(got.description, `${'a'.repeat(139)}\u{1F600}`);
  });

  it('refuses an answer larger than it reads, without holding it all', async () => {
    const big = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < 40 && res.write(chunk)) sent++;
        if (sent < 40) res.once('drain', pump);
        else res.end('{}');
      };
      pump();
    });
    await new Promise<void>((resolve) => big.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(big.address() as net.AddressInfo).port}`;
      const err = await rejection(createAdapter('github_enterprise', url, token).repository('acme/infra'));
      assert.equal(err.status, 502);
      assert.match(err.message, /larger than 33554432 bytes/);
    } finally {
      big.closeAllConnections();
      await new Promise<void>((resolve) => big.close(() => resolve()));
    }
  });

  it('Forgejo: a Gitea that does not know the "forgejo" hook type gets a "gitea" one', async () => {
    api.actAsGitea(true);
    try {
      const adapter = createAdapter('forgejo', api.apiUrl('forgejo'), token);
      const id = await adapter.createWebhook('acme/infra-forgejo', { url: 'https://otf.example/webhooks/forgejo/h', secret: 's' });
      const hook = api.hooks('acme/infra-forgejo').find((h) => h.id === id);
      assert.equal(hook?.type, 'gitea');
      await adapter.deleteWebhook('acme/infra-forgejo', id);
    } finally {
      api.actAsGitea(false);
    }
  });

  it('the stand-in records no token anywhere a test reads', () => {
    assert.ok(!JSON.stringify(api.requests).includes(token));
  });
});
