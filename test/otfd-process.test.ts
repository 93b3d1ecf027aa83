// The otfd executable as an operator runs it: embedded PostgreSQL in its data dir, a site token
// printed once, clean stops on SIGTERM, reuse of the data on restart, recovery after kill -9, and
// one-line errors for bad configuration.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Api } from './helpers/api.js';
import { spawnOtfd, type OtfdChild } from './helpers/otfd.js';
import { freePort } from './helpers/server.js';
import { waitUntil } from './helpers/wait.js';
import { suite } from './hooks.js';
import { processAlive } from '../src/pids.js';

function postmasterPid(dataDir: string): number | null {
  const file = path.join(dataDir, 'postgres', 'postmaster.pid');
  return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8').split('\n')[0]) : null;
}

/** Runs otfd with a bad configuration and returns its exit code and stderr. */
async function failsToStart(args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const r = spawnOtfd(args);
  const code = await r.exited;
  return { code, stderr: r.stderr(), stdout: r.stdout() };
}

function assertOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0], /^otfd: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
}

describe('the otfd executable', function () {
  this.timeout(120_000);

  describe('with a fresh data dir and the embedded PostgreSQL', () => {
    let dataDir: string;
    let port: number;
    let siteToken: string;
    let otfd: OtfdChild;

    before(async () => {
      dataDir = fs.mkdtempSync(path.join(suite().tmp, 'otfd-'));
      fs.chmodSync(dataDir, 0o755);
      port = await freePort();
    });

    after(async () => {
      if (otfd && otfd.child.exitCode === null) {
        otfd.child.kill('SIGTERM');
        await otfd.exited;
      }
    });

    it('starts, prints its URL and a generated site token once, and answers ping', async () => {
      otfd = spawnOtfd(['--data-dir', dataDir, '--address', `127.0.0.1:${port}`]);
      await waitUntil('the site token', () => /site token.*: (\S+)/.test(otfd.stdout()), 30_000, 50);
      assert.match(otfd.stdout(), new RegExp(`otfd is listening on http://127.0.0.1:${port}`));
      siteToken = /site token.*: (\S+)/.exec(otfd.stdout())![1];
      const api = new Api(`http://127.0.0.1:${port}`, siteToken);
      const ping = await api.get('/ping');
      assert.equal(ping.status, 204);
      const org = await api.post('/organizations', { data: { type: 'organizations', attributes: { name: 'kept', email: 'k@example.com' } } });
      assert.equal(org.status, 201);
      assert.ok(!fs.readFileSync(path.join(dataDir, 'secret'), 'utf8').includes(siteToken), 'the token itself is not stored');
    });

    it('stops on SIGTERM and takes its PostgreSQL down with it', async () => {
      const pgPid = postmasterPid(dataDir);
      assert.ok(pgPid && processAlive(pgPid), 'PostgreSQL runs while otfd runs');
      otfd.child.kill('SIGTERM');
      assert.equal(await otfd.exited, 0);
      await waitUntil('PostgreSQL to stop', () => !processAlive(pgPid!), 10_000, 50);
      assert.equal(postmasterPid(dataDir), null);
    });

    it('starts again on the same data: the organization is there, the token still works, none is printed', async () => {
      otfd = spawnOtfd(['--data-dir', dataDir, '--address', `127.0.0.1:${port}`]);
      await waitUntil('the URL', () => /otfd is listening on/.test(otfd.stdout()), 30_000, 50);
      assert.doesNotMatch(otfd.stdout(), /site token/);
      const api = new Api(`http://127.0.0.1:${port}`, siteToken);
      const org = await api.get('/organizations/kept');
      assert.equal(org.status, 200);
    });

    it('recovers after being killed with SIGKILL, which leaves its PostgreSQL running', async () => {
      const pgPid = postmasterPid(dataDir)!;
      otfd.child.kill('SIGKILL');
      await otfd.exited;
      assert.ok(processAlive(pgPid), 'the orphaned PostgreSQL is still running');
      otfd = spawnOtfd(['--data-dir', dataDir, '--address', `127.0.0.1:${port}`]);
      await waitUntil('the URL', () => /otfd is listening on/.test(otfd.stdout()), 30_000, 50);
      assert.ok(!processAlive(pgPid), 'the stale PostgreSQL was stopped');
      const org = await new Api(`http://127.0.0.1:${port}`, siteToken).get('/organizations/kept');
      assert.equal(org.status, 200);
    });

    it('reports 503 at /healthz when its database stops being usable', async () => {
      const api = new Api(`http://127.0.0.1:${port}`, null);
      assert.equal((await api.get('/healthz')).status, 200);
      process.kill(postmasterPid(dataDir)!, 'SIGKILL');
      await waitUntil('healthz to fail', async () => (await api.get('/healthz')).status === 503, 30_000, 50);
      const res = await api.get('/healthz');
      assert.equal(res.body.status, 'unavailable');
      otfd.child.kill('SIGTERM');
      assert.equal(await otfd.exited, 0);
    });

    it('refuses a second otfd on the same data dir', async () => {
      const first = spawnOtfd(['--data-dir', dataDir, '--address', `127.0.0.1:${port}`]);
      await waitUntil('the URL', () => /otfd is listening on/.test(first.stdout()), 30_000, 50);
      const second = await failsToStart(['--data-dir', dataDir, '--address', `127.0.0.1:${await freePort()}`]);
      assert.equal(second.code, 1);
      assertOneLine(second.stderr, /is in use by another otfd/);
      first.child.kill('SIGTERM');
      assert.equal(await first.exited, 0);
    });
  });

  describe('with invalid configuration', () => {
    it('ends with exit code 1 and one line for a bad port', async () => {
      const r = await failsToStart(['--address', 'localhost:70000']);
      assert.equal(r.code, 1);
      assertOneLine(r.stderr, /--address: port 70000 is out of range/);
    });

    it('ends with exit code 1 and one line for a missing certificate file', async () => {
      const r = await failsToStart(['--ssl', '--cert-file', '/no/such/cert.pem', '--key-file', '/no/such/key.pem']);
      assert.equal(r.code, 1);
      assertOneLine(r.stderr, /cannot read file "\/no\/such\/cert.pem"/);
    });

    it('ends with exit code 1 and one line for an unreachable database', async () => {
      const dataDir = fs.mkdtempSync(path.join(suite().tmp, 'otfd-'));
      const r = await failsToStart(['--data-dir', dataDir, '--database', `postgres://otf:x@127.0.0.1:${await freePort()}/otf`]);
      assert.equal(r.code, 1);
      assertOneLine(r.stderr, /cannot connect to the database/);
    });

    it('ends with exit code 1 and one line when the address is taken', async () => {
      const port = await freePort();
      const net = await import('node:net');
      const blocker = net.createServer().listen(port, '127.0.0.1');
      try {
        const dataDir = fs.mkdtempSync(path.join(suite().tmp, 'otfd-'));
        fs.chmodSync(dataDir, 0o755);
        const r = await failsToStart(['--data-dir', dataDir, '--address', `127.0.0.1:${port}`]);
        assert.equal(r.code, 1);
        assertOneLine(r.stderr, /address already in use/);
      } finally {
        blocker.close();
      }
    });

    it('names where the embedded cluster is when it cannot start', async () => {
      const dataDir = fs.mkdtempSync(path.join(suite().tmp, 'otfd-'));
      fs.chmodSync(dataDir, 0o755);
      // A cluster of a PostgreSQL version this one cannot read.
      fs.mkdirSync(path.join(dataDir, 'postgres'));
      fs.writeFileSync(path.join(dataDir, 'postgres', 'PG_VERSION'), '9\n');
      fs.writeFileSync(path.join(dataDir, 'postgres-password'), 'x\n', { mode: 0o600 });
      const r = await failsToStart(['--data-dir', dataDir, '--address', `127.0.0.1:${await freePort()}`]);
      assert.equal(r.code, 1);
      assertOneLine(r.stderr, new RegExp(`embedded PostgreSQL in ${path.join(dataDir, 'postgres').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} did not start`));
    });

    it('names where the embedded cluster is when its password file is missing', async () => {
      const dataDir = fs.mkdtempSync(path.join(suite().tmp, 'otfd-'));
      fs.chmodSync(dataDir, 0o755);
      fs.mkdirSync(path.join(dataDir, 'postgres'));
      fs.writeFileSync(path.join(dataDir, 'postgres', 'PG_VERSION'), '18\n');
      const r = await failsToStart(['--data-dir', dataDir, '--address', `127.0.0.1:${await freePort()}`]);
      assert.equal(r.code, 1);
      assert.ok(r.stderr.includes(`the embedded PostgreSQL cluster in ${path.join(dataDir, 'postgres')} exists but its password file`), r.stderr);
    });

    it('prints its flags for --help and exits 0', async () => {
      const r = await failsToStart(['--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /--site-token <value>.*OTF_SITE_TOKEN/);
    });
  });

  describe('in a fresh home directory of mode 0700 (as root: the postgres user cannot enter it)', () => {
    let home: string;
    let clusterDir: string | null = null;

    after(() => {
      // A cluster kept outside the data dir (root) is this test's own: remove it.
      if (clusterDir?.startsWith('/var/lib/otf/')) fs.rmSync(clusterDir, { recursive: true, force: true });
    });

    it('makes ~/.local/share/otf without locking the directories above it, and keeps the cluster where PostgreSQL can reach it', async () => {
      home = fs.mkdtempSync(path.join(suite().tmp, 'home-'));
      fs.chmodSync(home, 0o700);
      const otfd = spawnOtfd(['--address', `127.0.0.1:${await freePort()}`, '--concurrency', '0'], { HOME: home });
      try {
        await waitUntil('otfd to listen', () => otfd.stdout().includes('otfd is listening on'), 60_000, 100);
        const dataDir = path.join(home, '.local', 'share', 'otf');
        const mode = (dir: string) => (fs.statSync(dir).mode & 0o777).toString(8);
        assert.equal(mode(path.join(home, '.local')), '755', '~/.local is made as mkdir -p makes it');
        assert.equal(mode(path.join(home, '.local', 'share')), '755');
        assert.equal(mode(dataDir), '700', 'the data dir holds secrets');
        const init = otfd.stdout().split('\n').filter((l) => l.includes('initialising the embedded PostgreSQL cluster'));
        assert.equal(init.length, 1, otfd.stdout());
        clusterDir = JSON.parse(init[0]).clusterDir as string;
        if (process.getuid?.() === 0) {
          assert.match(clusterDir, /^\/var\/lib\/otf\/postgres-[0-9a-f]{16}$/);
          assert.ok(!fs.existsSync(path.join(dataDir, 'postgres')), 'no cluster folder is left in the data dir');
        } else {
          assert.equal(clusterDir, path.join(dataDir, 'postgres'));
        }
      } finally {
        otfd.child.kill('SIGTERM');
        assert.equal(await otfd.exited, 0, otfd.stderr());
      }
    });
  });
});
