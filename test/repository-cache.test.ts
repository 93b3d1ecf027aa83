// otfd's cache of clones (src/ingress/repository-cache.ts) against real git servers: Git's own
// http-backend over HTTP (test/helpers/git-http-server.ts) and the SSH git server of P3. What a run
// would get from a commit: exactly that commit's tracked files; what the provider sees: a second
// commit fetches only what is new; what a run's log would say when the repository cannot be had;
// and no credential anywhere but in git's environment.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { CloneError, RepositoryCache, type Snapshot } from '../src/ingress/repository-cache.js';
import type { CommitSource } from '../src/vcs/types.js';
import { manyFiles, startGitHttpServer, type GitHttpServer, type TestRepository } from './helpers/git-http-server.js';
import { waitUntil } from './helpers/wait.js';
import { generateKeyPair, startSshGitServer, type SshGitServer } from './helpers/ssh-git-server.js';

const MiB = 1024 * 1024;

/** The files of a snapshot: path → content. */
async function filesOf(snapshot: Snapshot): Promise<Record<string, string>> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'otf-snapshot-'));
  try {
    await tar.x({ file: snapshot.file, cwd: out, strict: true });
    const files: Record<string, string> = {};
    for (const entry of fs.readdirSync(out, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const full = path.join(entry.parentPath, entry.name);
      files[path.relative(out, full)] = fs.readFileSync(full, 'utf8');
    }
    return files;
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

async function rejectsWith(promise: Promise<unknown>, reason: CloneError['reason'], message: RegExp): Promise<CloneError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof CloneError, `a CloneError, not ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected a CloneError (${reason})`);
}

/** The command lines of running processes that name `text`. */
function processesNaming(text: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes(text)) found.push(cmdline.replace(/\0/g, ' '));
    } catch {
      // gone
    }
  }
  return found;
}

describe('repository cache (clones of VCS repositories)', function () {
  this.timeout(120_000);
  let server: GitHttpServer;
  let dir: string;
  let cache: RepositoryCache;

  const source = (repo: TestRepository, sha: string, more: Partial<CommitSource> = {}): CommitSource => ({
    repoKey: `test/${repo.name}`,
    url: repo.url,
    auth: { kind: 'none' },
    sha,
    ref: 'refs/heads/main',
    submodules: false,
    ...more,
  });

  beforeEach(async () => {
    server = await startGitHttpServer();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'otf-repo-cache-'));
    cache = new RepositoryCache(path.join(dir, 'cache'));
  });
  afterEach(async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('archives exactly the tracked files of the commit asked for, not the branch head that moved on', async () => {
    const repo = server.createRepository('app', { 'main.tf': 'output "v" { value = 1 }\n', 'modules/a/a.tf': 'a\n', '.gitignore': '*.tfstate\n' });
    const first = repo.commit({ 'extra.txt': 'extra\n' }, 'Add extra\n\nWith a body.');
    repo.commit({ 'main.tf': 'output "v" { value = 2 }\n', 'extra.txt': null, 'later.txt': 'later\n' }, 'Later');
    assert.notEqual(repo.head(), first);

    const snap = await cache.snapshot(source(repo, first), 10 * MiB);
    assert.deepEqual(await filesOf(snap), {
      'main.tf': 'output "v" { value = 1 }\n',
      'modules/a/a.tf': 'a\n',
      '.gitignore': '*.tfstate\n',
      'extra.txt': 'extra\n',
    });
    assert.equal(snap.size, fs.statSync(snap.file).size);
    // What a commit is (polling names its run by it) is asked for apart: a snapshot does not read it.
    assert.deepEqual(await cache.commit(source(repo, first)), { sha: first, message: 'Add extra\n\nWith a body.', authorName: 'Ada Tester', authorEmail: 'ada@example.com' });
    await snap.dispose();
    assert.equal(fs.existsSync(snap.file), false);
  });

  it('fetches only the new objects for a later commit of the same repository, and knows what changed between them', async () => {
    const repo = server.createRepository('big', manyFiles(1000));
    const first = repo.head();
    let before = server.bytesSent();
    const snap1 = await cache.snapshot(source(repo, first), 50 * MiB);
    const cold = server.bytesSent() - before;
    assert.equal(Object.keys(await filesOf(snap1)).length, 1000);
    await snap1.dispose();

    const second = repo.commit({ 'files/0/file-00000.txt': 'changed\n', 'new.tf': 'output "n" { value = 1 }\n' }, 'Small change');
    before = server.bytesSent();
    const snap2 = await cache.snapshot(source(repo, second), 50 * MiB);
    const warm = server.bytesSent() - before;
    const files = await filesOf(snap2);
    assert.equal(Object.keys(files).length, 1001);
    assert.equal(files['files/0/file-00000.txt'], 'changed\n');
    await snap2.dispose();
    // The first fetch carried the thousand files; the second only the two blobs, their trees and the commit.
    assert.ok(cold > 50_000, `the first fetch sent ${cold} bytes`);
    assert.ok(warm < cold / 20, `the second fetch sent ${warm} bytes, the first ${cold}`);

    assert.deepEqual((await cache.changedFiles(`test/${repo.name}`, first, second))?.sort(), ['files/0/file-00000.txt', 'new.tf']);
    assert.equal(await cache.changedFiles(`test/${repo.name}`, first, 'f'.repeat(40)), null);
    assert.equal(await cache.changedFiles('test/never-fetched', first, second), null);
    // The same commit again: nothing to fetch, only the server asked whether the repository is still readable.
    before = server.bytesSent();
    const again = await cache.snapshot(source(repo, second), 50 * MiB);
    await again.dispose();
    assert.ok(server.bytesSent() - before < 2000, `${server.bytesSent() - before} bytes sent for a cached commit`);
  });

  it('includes submodules (recursively) only when asked', async () => {
    const inner = server.createRepository('inner', { 'inner.tf': 'inner\n' });
    const lib = server.createRepository('lib', { 'lib.tf': 'lib\n' });
    lib.addSubmodule('vendor/inner', inner);
    const app = server.createRepository('app', { 'main.tf': 'main\n' });
    const sha = app.addSubmodule('lib', lib);

    // The token goes to the submodules too (same host): the header is scoped to the repository's origin.
    const token = crypto.randomBytes(16).toString('hex');
    server.addCredentials('x-access-token', token);
    const auth = { kind: 'https' as const, username: 'x-access-token', password: token };
    const without = await cache.snapshot(source(app, sha, { auth }), MiB);
    assert.deepEqual(Object.keys(await filesOf(without)).sort(), ['.gitmodules', 'main.tf']);
    await without.dispose();
    const withSubs = await cache.snapshot(source(app, sha, { submodules: true, auth }), MiB);
    const files = await filesOf(withSubs);
    assert.deepEqual(Object.keys(files).sort(), ['.gitmodules', 'lib/.gitmodules', 'lib/lib.tf', 'lib/vendor/inner/inner.tf', 'main.tf']);
    assert.equal(files['lib/vendor/inner/inner.tf'], 'inner\n');
    await withSubs.dispose();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'cache', 'tmp')), [], 'no work tree left behind');
  });

  it('says why a repository cannot be had: revoked token, deleted repository, unreachable host, unknown commit, over the limit', async () => {
    const token = `ghs_${crypto.randomBytes(12).toString('hex')}`;
    server.addCredentials('x-access-token', token);
    const repo = server.createRepository('private', manyFiles(50));
    const auth = { kind: 'https' as const, username: 'x-access-token', password: token };
    const held = repo.head();
    const ok = await cache.snapshot(source(repo, held, { auth }), MiB);
    await ok.dispose();

    const tooSmall = await rejectsWith(cache.snapshot(source(repo, repo.head(), { auth }), 4096), 'too-large', /larger than the limit of 4 KiB/);
    assert.match(tooSmall.message, /--max-config-size/);
    await rejectsWith(cache.snapshot(source(repo, 'a'.repeat(40), { auth }), MiB), 'commit-not-found', /commit/);

    const later = repo.commit({ 'x.txt': 'x\n' }, 'later');
    server.revoke(token);
    // A commit the cache holds is not handed out once the token is revoked.
    await rejectsWith(cache.snapshot(source(repo, held, { auth }), MiB), 'credentials', /refused the credentials/);
    const revoked = await rejectsWith(
      cache.snapshot(source(repo, later, { auth }), MiB),
      'credentials',
      /the repository refused the credentials; the VCS provider's token may have been revoked/,
    );
    assert.ok(!revoked.message.includes(token));
    assert.ok(!revoked.message.includes(Buffer.from(`x-access-token:${token}`).toString('base64')));

    const token2 = `ghs_${crypto.randomBytes(12).toString('hex')}`;
    server.addCredentials('x-access-token', token2);
    server.deleteRepository('private');
    await rejectsWith(cache.snapshot(source(repo, later, { auth: { ...auth, password: token2 } }), MiB), 'not-found', /does not exist/);

    const closed = await startGitHttpServer();
    const deadUrl = `${closed.url}/app.git`;
    await closed.stop();
    await rejectsWith(cache.snapshot({ ...source(repo, later), repoKey: 'dead', url: deadUrl }, MiB), 'unreachable', /cannot be reached/);
    await rejectsWith(cache.snapshot({ ...source(repo, later), repoKey: 'dead', url: 'http://no-such-host.invalid/app.git' }, MiB), 'unreachable', /cannot be reached/);
  });

  it('refuses a clone URL at a link-local or unspecified address, however it is written, before git runs', async () => {
    const repo = server.createRepository('addressed', { 'main.tf': 'output "v" { value = 1 }\n' });
    const sha = repo.head();
    // No git at all: a refusal that came from git would be another failure than "refused".
    const noGit = new RepositoryCache(path.join(dir, 'no-git-cache'), { gitBinary: path.join(dir, 'no-such-git') });
    const refused: Array<[string, RegExp]> = [
      ['http://169.254.169.254/acme/app.git', /169\.254\.169\.254 is a link-local address/],
      ['http://2852039166/acme/app.git', /169\.254\.169\.254 is a link-local address/],
      ['https://[::ffff:169.254.169.254]/acme/app.git', /is a link-local address/],
      ['http://0.0.0.0:8080/acme/app.git', /0\.0\.0\.0 is an unspecified address/],
      ['ssh://git@[fe80::1]/acme/app.git', /fe80::1 is a link-local address/],
      ['ssh://git@169.254.169.254:2222/acme/app.git', /is a link-local address/],
      ['git@169.254.169.254:acme/app.git', /169\.254\.169\.254 is a link-local address/],
      ['ssh://[169.254.169.254]/acme/app.git', /its host cannot be read/],
      // Where URL and git (curl, ssh) may read different hosts: refused whole.
      ['http://good.example\\@169.254.169.254/acme/app.git', /its host cannot be read/],
      ['http://a@b@169.254.169.254/acme/app.git', /its host cannot be read/],
      ['a@b@169.254.169.254:acme/app.git', /its host cannot be read/],
      ['http://good.example/acme app.git', /its host cannot be read/],
      ['http://good.example\t@169.254.169.254/acme/app.git', /its host cannot be read/],
    ];
    for (const [url, why] of refused) {
      const at = { ...source(repo, sha), repoKey: `refused/${url}`, url };
      for (const attempt of [noGit.snapshot(at, MiB), noGit.commit(at), noGit.head(at, 'main')]) {
        const err = await rejectsWith(attempt, 'refused', why);
        assert.match(err.message, /otfd does not fetch from there \(the clone URL is the VCS provider's\)/);
      }
    }
    // A loopback address (a self-hosted provider, these tests) is fetched as before.
    const ok = await cache.snapshot(source(repo, sha), MiB);
    assert.deepEqual(Object.keys(await filesOf(ok)), ['main.tf']);
    await ok.dispose();
  });

  it('reads submodule names with spaces whole: such a name is fetched, and a URL hidden in one is not taken for the URL', async () => {
    const lib = server.createRepository('lib-spaced', { 'lib.tf': 'lib\n' });
    // A legitimate name with a space: the submodule is fetched.
    const app = server.createRepository('app-spaced', { 'main.tf': 'main\n' });
    app.addSubmodule('lib', lib);
    const named = app.commit({ '.gitmodules': `[submodule "my lib"]\n\tpath = lib\n\turl = ${lib.url}\n` }, 'Name it with a space');
    const fetched = await cache.snapshot(source(app, named, { submodules: true }), MiB);
    assert.equal((await filesOf(fetched))['lib/lib.tf'], 'lib\n');
    await fetched.dispose();
    // A name that reads as a harmless URL, in front of the metadata service's: the real URL is refused.
    const hidden = server.createRepository('app-hidden-url', { 'main.tf': 'main\n' });
    hidden.addSubmodule('lib', lib);
    const sha = hidden.commit({ '.gitmodules': '[submodule "x http://example.com/"]\n\tpath = lib\n\turl = http://169.254.169.254/inner.git\n' }, 'Hide a URL in the name');
    await rejectsWith(cache.snapshot(source(hidden, sha, { submodules: true }), MiB), 'refused', /cannot fetch submodule http:\/\/169\.254\.169\.254\/inner\.git: 169\.254\.169\.254 is a link-local address/);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'cache', 'tmp')), [], 'no work tree left behind');
  });

  it('checks the URL of every submodule, at every level, before git fetches it', async () => {
    const inner = server.createRepository('inner-at-metadata', { 'inner.tf': 'inner\n' });
    const lib = server.createRepository('lib-naming-metadata', { 'lib.tf': 'lib\n' });
    lib.addSubmodule('vendor/inner', inner);
    // The repository's author (not the provider) names the cloud metadata service for a nested one.
    lib.commit({ '.gitmodules': '[submodule "vendor/inner"]\n\tpath = vendor/inner\n\turl = http://169.254.169.254/inner.git\n' }, 'Point at metadata');
    const app = server.createRepository('app-nesting', { 'main.tf': 'main\n' });
    const sha = app.addSubmodule('lib', lib);
    await rejectsWith(cache.snapshot(source(app, sha, { submodules: true }), MiB), 'refused', /cannot fetch submodule http:\/\/169\.254\.169\.254\/inner\.git: 169\.254\.169\.254 is a link-local address/);
    // Without submodules asked for, the commit is fetched as before.
    const without = await cache.snapshot(source(app, sha), MiB);
    assert.deepEqual(Object.keys(await filesOf(without)).sort(), ['.gitmodules', 'main.tf']);
    await without.dispose();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'cache', 'tmp')), [], 'no work tree left behind');
  });

  it('follows no redirect of a git server (one could lead the fetch to the cloud metadata service)', async () => {
    const repo = server.createRepository('moved', { 'main.tf': 'output "v" { value = 1 }\n' });
    // Redirects every request to the working repository: following it would succeed.
    const redirector = http.createServer((req, res) => {
      res.writeHead(301, { Location: `${repo.url}${(req.url ?? '/').replace(/^\/old\.git/, '')}` }).end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/old.git`;
      const at = { ...source(repo, repo.head()), repoKey: 'moved/old', url };
      await rejectsWith(cache.snapshot(at, MiB), 'refused', /answered with a redirect, which otfd does not follow/);
      await rejectsWith(cache.head(at, 'main'), 'refused', /answered with a redirect/);
    } finally {
      await new Promise<void>((resolve) => redirector.close(() => resolve()));
    }
  });

  it('stops a fetch from a server that does not answer, and leaves nothing of it running', async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/silent.git`;
    try {
      const slow = new RepositoryCache(path.join(dir, 'slow'), { commandTimeoutMs: 1500 });
      const token = crypto.randomBytes(16).toString('hex');
      await rejectsWith(
        slow.snapshot({ repoKey: 'silent', url, auth: { kind: 'https', username: 'x-access-token', password: token }, sha: 'c'.repeat(40), ref: 'refs/heads/main', submodules: false }, MiB),
        'timeout',
        /git fetch of http:\/\/127\.0\.0\.1:\d+\/silent\.git took longer than 1\.5 s and was stopped/,
      );
      // Killed (SIGKILL ends a process a moment after it is sent).
      await waitUntil('git and git-remote-http are gone', () => processesNaming(url).length === 0, 5_000);
      await rejectsWith(slow.head({ repoKey: 'silent', url, auth: { kind: 'none' }, ref: null }, 'main'), 'timeout', /ls-remote/);
      await waitUntil('git ls-remote and git-remote-http are gone', () => processesNaming(url).length === 0, 5_000);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('stop() ends the git commands under way at once, leaves none running, and refuses new ones', async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/stopped.git`;
    try {
      // Five minutes of patience: only stop() ends these.
      const stopping = new RepositoryCache(path.join(dir, 'stopping'));
      const fetching = stopping.snapshot({ repoKey: 'stopped', url, auth: { kind: 'none' }, sha: 'c'.repeat(40), ref: 'refs/heads/main', submodules: false }, MiB);
      const listing = stopping.head({ repoKey: 'stopped', url, auth: { kind: 'none' }, ref: null }, 'main');
      await waitUntil('git is running', () => processesNaming(url).length >= 2, 10_000);
      const started = Date.now();
      await stopping.stop();
      await rejectsWith(fetching, 'stopped', /otfd is stopping/);
      await rejectsWith(listing, 'stopped', /otfd is stopping/);
      assert.ok(Date.now() - started < 5_000, 'stopped at once');
      await waitUntil('git and git-remote-http are gone', () => processesNaming(url).length === 0, 5_000);
      assert.equal(stopping.isStopped, true);
      await rejectsWith(stopping.head({ repoKey: 'stopped', url, auth: { kind: 'none' }, ref: null }, 'main'), 'stopped', /otfd is stopping/);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('keeps the refs of only the last fetched commits of a repository, and removes clones not used for long', async () => {
    const repo = server.createRepository('kept', { 'a.tf': '0\n' });
    const few = new RepositoryCache(path.join(dir, 'few'), { keepCommits: 2 });
    const shas: string[] = [];
    for (let i = 1; i <= 4; i++) {
      shas.push(repo.commit({ 'a.tf': `${i}\n` }, `commit ${i}`));
      await (await few.snapshot(source(repo, shas.at(-1)!), MiB)).dispose();
    }
    const reposDir = path.join(dir, 'few', 'repos');
    const [clone] = fs.readdirSync(reposDir);
    const refs = execFileSync('git', ['for-each-ref', '--format=%(refname)', 'refs/otf/commits/'], { cwd: path.join(reposDir, clone), encoding: 'utf8' });
    assert.deepEqual(refs.trim().split('\n').sort(), shas.slice(2).map((s) => `refs/otf/commits/${s}`).sort());
    // A commit whose ref went is fetched again when asked for.
    assert.equal((await filesOf(await few.snapshot(source(repo, shas[0]), MiB)))['a.tf'], '1\n');
    // Used just now: kept. Not fetched into for a month: removed.
    assert.equal(few.sweepIdle(14 * 24 * 3_600_000), 0);
    const old = new Date(Date.now() - 30 * 24 * 3_600_000);
    fs.utimesSync(path.join(reposDir, clone, 'otf-cache-ready'), old, old);
    assert.equal(few.sweepIdle(14 * 24 * 3_600_000), 1);
    assert.deepEqual(fs.readdirSync(reposDir), []);
    // And made again when the repository is used again.
    assert.equal((await filesOf(await few.snapshot(source(repo, shas[3]), MiB)))['a.tf'], '4\n');
  });

  it('falls back to fetching the ref when the server refuses a bare commit id (protocol v0)', async () => {
    server.protocolV2(false);
    const repo = server.createRepository('old', { 'a.tf': '1\n' });
    const first = repo.head();
    const second = repo.commit({ 'a.tf': '2\n' }, 'two');
    repo.commit({ 'a.tf': '3\n' }, 'three');
    const snap = await cache.snapshot(source(repo, second), MiB);
    assert.deepEqual(await filesOf(snap), { 'a.tf': '2\n' });
    // A branch of any name git allows, Unicode included.
    repo.checkout('feature/grüße');
    const unicode = repo.commit({ 'a.tf': 'ü\n' }, 'umlauts');
    const snapU = await cache.snapshot(source(repo, unicode, { ref: 'refs/heads/feature/grüße' }), MiB);
    assert.deepEqual(await filesOf(snapU), { 'a.tf': 'ü\n' });
    await snapU.dispose();
    assert.equal(await cache.head(source(repo, unicode), 'feature/grüße'), unicode);
    await snap.dispose();
    const snap1 = await cache.snapshot(source(repo, first), MiB);
    assert.deepEqual(await filesOf(snap1), { 'a.tf': '1\n' });
    await snap1.dispose();
    await rejectsWith(cache.snapshot(source(repo, 'b'.repeat(40)), MiB), 'commit-not-found', /not in/);
    await rejectsWith(cache.snapshot(source(repo, 'b'.repeat(40), { ref: null }), MiB), 'commit-not-found', /commit/);
    // Nothing git could take for an option gets to its command line.
    await rejectsWith(cache.snapshot(source(repo, second, { ref: '--upload-pack=touch /tmp/x' }), MiB), 'commit-not-found', /not a ref name/);
    await rejectsWith(cache.snapshot(source(repo, '--output=/tmp/x'), MiB), 'commit-not-found', /not a commit id/);
    assert.equal(await cache.changedFiles(`test/${repo.name}`, '--output=/tmp/x', second), null);
  });

  it('never puts the token in a git command line or a leftover file; two snapshots of one repository at once both succeed', async () => {
    // A git on PATH that records its arguments as it starts and when it ends, around the real one.
    const shim = path.join(dir, 'shim');
    fs.mkdirSync(shim);
    const argvLog = path.join(dir, 'argv.log');
    const realGit = (await import('node:child_process')).execFileSync('sh', ['-c', 'command -v git']).toString().trim();
    fs.writeFileSync(
      path.join(shim, 'git'),
      `#!/bin/sh\nprintf 'start %s %s\\n' "$$" "$*" >> '${argvLog}'\n'${realGit}' "$@"\ncode=$?\nprintf 'end %s\\n' "$$" >> '${argvLog}'\nexit $code\n`,
      { mode: 0o755 },
    );
    const shimmed = new RepositoryCache(path.join(dir, 'cache2'), { path: `${shim}:${process.env.PATH}` });

    const token = `glpat-${crypto.randomBytes(12).toString('hex')}`;
    server.addCredentials('oauth2', token);
    const repo = server.createRepository('secret', { 'main.tf': 'x\n', 'sub/b.tf': 'b\n' });
    const sha = repo.commit({ 'c.tf': 'c\n' }, 'c');
    const auth = { kind: 'https' as const, username: 'oauth2', password: token };
    const [a, b] = await Promise.all([shimmed.snapshot(source(repo, sha, { auth }), MiB), shimmed.snapshot(source(repo, sha, { auth }), MiB)]);
    assert.deepEqual(await filesOf(a), await filesOf(b));
    assert.deepEqual(Object.keys(await filesOf(a)).sort(), ['c.tf', 'main.tf', 'sub/b.tf']);
    assert.equal(await shimmed.head({ repoKey: 'test/secret', url: repo.url, auth, ref: null }, 'main'), sha);
    assert.equal(await shimmed.head({ repoKey: 'test/secret', url: repo.url, auth, ref: null }, 'nope'), null);
    await a.dispose();
    await b.dispose();

    const argv = fs.readFileSync(argvLog, 'utf8');
    // Both fetched (the server is asked each time), one after the other: the second started after the first ended.
    const lines = argv.trim().split('\n');
    const fetches = lines.filter((l) => / fetch /.test(l)).map((l) => l.split(' ')[1]);
    assert.equal(fetches.length, 2, argv);
    const [startA, endA, startB] = [lines.findIndex((l) => l.startsWith(`start ${fetches[0]} `)), lines.indexOf(`end ${fetches[0]}`), lines.findIndex((l) => l.startsWith(`start ${fetches[1]} `))];
    assert.ok(startA < endA && endA < startB, `the fetches overlapped:\n${argv}`);
    const basic = Buffer.from(`oauth2:${token}`).toString('base64');
    assert.ok(!argv.includes(token) && !argv.includes(basic), 'no token in any argument list');
    // Nothing on disk holds it either: not the cache, not a temporary folder.
    for (const entry of fs.readdirSync(path.join(dir, 'cache2'), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const content = fs.readFileSync(path.join(entry.parentPath, entry.name));
      assert.ok(!content.includes(token) && !content.includes(basic), `${entry.name} holds the token`);
    }
    assert.deepEqual(fs.readdirSync(path.join(dir, 'cache2', 'tmp')), []);
  });

  it('re-makes a cached clone that a crash left broken', async () => {
    const repo = server.createRepository('crashy', { 'a.tf': 'a\n' });
    const snap = await cache.snapshot(source(repo, repo.head()), MiB);
    await snap.dispose();
    const [folder] = fs.readdirSync(path.join(dir, 'cache', 'repos'));
    const clone = path.join(dir, 'cache', 'repos', folder);
    // A fetch killed midway: its lock files stay. Another clone never finished: no marker, no HEAD.
    fs.writeFileSync(path.join(clone, 'shallow.lock'), '');
    fs.mkdirSync(path.join(clone, 'refs', 'otf'), { recursive: true });
    fs.writeFileSync(path.join(clone, 'refs', 'otf', 'x.lock'), '');
    const second = repo.commit({ 'b.tf': 'b\n' }, 'b');
    const restarted = new RepositoryCache(path.join(dir, 'cache'));
    const snap2 = await restarted.snapshot(source(repo, second), MiB);
    assert.deepEqual(await filesOf(snap2), { 'a.tf': 'a\n', 'b.tf': 'b\n' });
    await snap2.dispose();

    fs.rmSync(path.join(clone, 'HEAD'));
    fs.rmSync(path.join(clone, 'otf-cache-ready'));
    const third = repo.commit({ 'c.tf': 'c\n' }, 'c');
    const again = new RepositoryCache(path.join(dir, 'cache'));
    const snap3 = await again.snapshot(source(repo, third), MiB);
    assert.deepEqual(Object.keys(await filesOf(snap3)).sort(), ['a.tf', 'b.tf', 'c.tf']);
    await snap3.dispose();
  });

  describe('over SSH', () => {
    let ssh: SshGitServer;
    const { privateKey, publicKey } = generateKeyPair();

    beforeEach(async () => {
      ssh = await startSshGitServer({ authorizedKey: publicKey, root: server.root });
    });
    afterEach(async () => {
      await ssh.stop();
    });

    it('fetches with the workspace key, removes the key file, and says when the key is refused or the server is too slow', async () => {
      const repo = server.createRepository('viassh', { 'main.tf': 'ssh\n' });
      const url = `ssh://git@127.0.0.1:${ssh.port}/viassh.git`;
      const snap = await cache.snapshot({ ...source(repo, repo.head()), url, repoKey: 'ssh/viassh', auth: { kind: 'ssh', privateKey } }, MiB);
      assert.deepEqual(await filesOf(snap), { 'main.tf': 'ssh\n' });
      await snap.dispose();
      assert.ok(ssh.authenticated > 0);
      assert.deepEqual(fs.readdirSync(path.join(dir, 'cache', 'tmp')), [], 'the key file is gone');

      const other = generateKeyPair();
      const sha = repo.commit({ 'x.tf': 'x\n' }, 'x');
      await rejectsWith(cache.snapshot({ ...source(repo, sha), url, repoKey: 'ssh/viassh', auth: { kind: 'ssh', privateKey: other.privateKey } }, MiB), 'credentials', /refused the workspace's SSH key/);
      assert.deepEqual(fs.readdirSync(path.join(dir, 'cache', 'tmp')), []);

      const slow = new RepositoryCache(path.join(dir, 'slow'), { commandTimeoutMs: 1500 });
      const release = ssh.hold();
      try {
        await rejectsWith(slow.snapshot({ ...source(repo, sha), url, repoKey: 'ssh/viassh', auth: { kind: 'ssh', privateKey } }, MiB), 'timeout', /longer than 1\.5 s/);
        // Still held: nothing of that fetch (git, its ssh program) is left running, nor its key file.
        await waitUntil('git and its ssh program are gone', () => processesNaming(path.join(dir, 'slow')).length === 0, 5_000);
        assert.deepEqual(fs.readdirSync(path.join(dir, 'slow', 'tmp')), []);
      } finally {
        release();
      }
    });

    it('fetches different repositories side by side, and the same repository one fetch at a time', async () => {
      const slowRepo = server.createRepository('held', { 'held.tf': 'held\n' });
      const other = server.createRepository('free', { 'free.tf': 'free\n' });
      const url = `ssh://git@127.0.0.1:${ssh.port}/held.git`;
      const viaSsh = { ...source(slowRepo, slowRepo.head()), url, repoKey: 'ssh/held', auth: { kind: 'ssh' as const, privateKey } };
      const release = ssh.hold();
      let settled = 0;
      const held = cache.snapshot(viaSsh, MiB).finally(() => settled++);
      const queued = cache.snapshot(viaSsh, MiB).finally(() => settled++);
      try {
        await waitUntil('the first fetch reaches the SSH server', () => ssh.commands.some((c) => c.includes('held.git')), 30_000);
        // Another repository is not held up by the fetch that hangs.
        const free = await cache.snapshot(source(other, other.head()), MiB);
        assert.deepEqual(await filesOf(free), { 'free.tf': 'free\n' });
        await free.dispose();
        assert.equal(settled, 0, 'the held fetches are still waiting');
        assert.equal(ssh.commands.filter((c) => c.includes('held.git')).length, 1, 'the second snapshot of the held repository waits for the first before it fetches');
      } finally {
        release();
      }
      const [a, b] = await Promise.all([held, queued]);
      assert.deepEqual(await filesOf(a), { 'held.tf': 'held\n' });
      assert.deepEqual(await filesOf(b), { 'held.tf': 'held\n' });
      await a.dispose();
      await b.dispose();
    });
  });
});
