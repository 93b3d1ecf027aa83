// The test git server over HTTP (test/helpers/git-http-server.ts), as plain git sees it: clones
// through Git's own http-backend, basic auth with registered tokens, a revoked token and a deleted
// repository refused as a provider refuses them, branches, tags and submodules served.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { manyFiles, startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';

const run = promisify(execFile);

/** Plain git, with no configuration of the host and no prompt; the Authorization header in the environment. */
async function gitClient(args: string[], opts: { cwd: string; auth?: { user: string; token: string } }): Promise<{ ok: boolean; stderr: string }> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: opts.cwd, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0' };
  if (opts.auth) {
    env.GIT_CONFIG_COUNT = '1';
    env.GIT_CONFIG_KEY_0 = 'http.extraHeader';
    env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${Buffer.from(`${opts.auth.user}:${opts.auth.token}`).toString('base64')}`;
  }
  try {
    await run('git', args, { cwd: opts.cwd, env });
    return { ok: true, stderr: '' };
  } catch (err) {
    return { ok: false, stderr: (err as { stderr?: string }).stderr ?? String(err) };
  }
}

describe('test git server over HTTP (git http-backend)', function () {
  this.timeout(60_000);
  let server: GitHttpServer;
  let tmp: string;

  beforeEach(async () => {
    server = await startGitHttpServer();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'otf-git-client-'));
  });
  afterEach(async () => {
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('serves a repository that plain git clones, with its branches and tags, and counts the bytes it sent', async () => {
    const repo = server.createRepository('app', { 'main.tf': 'output "x" { value = 1 }\n' });
    const first = repo.head();
    const second = repo.commit({ 'main.tf': 'output "x" { value = 2 }\n', 'extra.txt': 'hello\n' }, 'second');
    assert.notEqual(first, second);
    repo.tag('v1.0.0', first);
    repo.checkout('feature');
    const feature = repo.commit({ 'extra.txt': null }, 'drop extra');

    const before = server.bytesSent();
    const cloned = await gitClient(['clone', '-q', repo.url, 'out'], { cwd: tmp });
    assert.equal(cloned.ok, true, cloned.stderr);
    assert.ok(server.bytesSent() > before, 'the pack was counted');
    const out = path.join(tmp, 'out');
    assert.equal(fs.readFileSync(path.join(out, 'main.tf'), 'utf8'), 'output "x" { value = 2 }\n');
    const { stdout: refs } = await run('git', ['ls-remote', repo.url], { cwd: tmp, env: { PATH: process.env.PATH, HOME: tmp } });
    assert.match(refs, new RegExp(`^${second}\trefs/heads/main$`, 'm'));
    assert.match(refs, new RegExp(`^${feature}\trefs/heads/feature$`, 'm'));
    assert.match(refs, new RegExp(`^${first}\trefs/tags/v1.0.0$`, 'm'));
    assert.ok(server.requests.some((r) => r.url.startsWith('/app.git/info/refs?service=git-upload-pack') && r.status === 200));
  });

  it('asks for registered credentials, refuses a revoked token with 401 and WWW-Authenticate, and a deleted repository with 404', async () => {
    const repo = server.createRepository('private', { 'a.txt': 'a\n' });
    server.addCredentials('x-access-token', 'tok-good');
    assert.equal((await gitClient(['clone', '-q', repo.url, 'anon'], { cwd: tmp })).ok, false, 'no credentials, no clone');
    const good = await gitClient(['clone', '-q', repo.url, 'good'], { cwd: tmp, auth: { user: 'x-access-token', token: 'tok-good' } });
    assert.equal(good.ok, true, good.stderr);
    assert.equal(server.requests.at(-1)?.user, 'x-access-token');

    server.revoke('tok-good');
    const res = await fetch(`${repo.url}/info/refs?service=git-upload-pack`, { headers: { Authorization: `Basic ${Buffer.from('x-access-token:tok-good').toString('base64')}` } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic /);
    const refused = await gitClient(['clone', '-q', repo.url, 'revoked'], { cwd: tmp, auth: { user: 'x-access-token', token: 'tok-good' } });
    assert.equal(refused.ok, false);

    server.addCredentials('x-access-token', 'tok-new');
    server.deleteRepository('private');
    const gone = await fetch(`${repo.url}/info/refs?service=git-upload-pack`, { headers: { Authorization: `Basic ${Buffer.from('x-access-token:tok-new').toString('base64')}` } });
    assert.equal(gone.status, 404);
    await gone.arrayBuffer();
  });

  it('serves a repository with a submodule, and one of many files', async () => {
    const lib = server.createRepository('lib', { 'lib.tf': 'output "lib" { value = "lib" }\n' });
    const app = server.createRepository('app', { 'main.tf': 'module "lib" { source = "./lib" }\n' });
    app.addSubmodule('lib', lib);
    const cloned = await gitClient(['clone', '-q', '--recurse-submodules', app.url, 'out'], { cwd: tmp });
    assert.equal(cloned.ok, true, cloned.stderr);
    assert.equal(fs.readFileSync(path.join(tmp, 'out', 'lib', 'lib.tf'), 'utf8'), 'output "lib" { value = "lib" }\n');

    const big = server.createRepository('big', manyFiles(1000));
    const clonedBig = await gitClient(['clone', '-q', big.url, 'big'], { cwd: tmp });
    assert.equal(clonedBig.ok, true, clonedBig.stderr);
    const { stdout } = await run('git', ['ls-files'], { cwd: path.join(tmp, 'big') });
    assert.equal(stdout.trim().split('\n').length, 1000);
  });
});
