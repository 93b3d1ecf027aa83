// A real git server over HTTP on 127.0.0.1, for VCS-driven runs: Git's own `git http-backend` run as
// a CGI program behind a small node `http` server on a random port. It serves the bare repositories
// under its root (GIT_PROJECT_ROOT, every one exported), streams request and response bodies both
// ways, and counts the bytes it sent, so that a test can see how much a fetch transferred.
//
// Access: with no credential registered anyone may read; once a test registers one (a user name and
// a token, as a VCS provider hands out), every request needs HTTP basic auth with a registered pair,
// and a revoked pair gets 401 with WWW-Authenticate, as a provider answers a revoked token. A deleted
// repository answers 404.
//
// Repositories are made bare under the root and filled from a work tree of their own beside it:
// commit() writes files, commits and pushes (through the file system: the server only serves
// reads), returning the new commit's sha. Needs only Node and git, like the rest of `npm test`.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The environment of every git command of the helper: nothing of the host's configuration. */
const GIT_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: os.tmpdir(),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Ada Tester',
  GIT_AUTHOR_EMAIL: 'ada@example.com',
  GIT_COMMITTER_NAME: 'Ada Tester',
  GIT_COMMITTER_EMAIL: 'ada@example.com',
};

/** Runs git in `cwd` and returns its standard output, trimmed. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 }).toString('utf8').trim();
}

export interface ServedRequest {
  method: string;
  /** The path and query asked for, e.g. /app.git/info/refs?service=git-upload-pack */
  url: string;
  /** The user name of the credentials it came with, whether they were accepted or not. */
  user: string | null;
  status: number;
  /** Body bytes sent back. */
  bytesSent: number;
}

export interface TestRepository {
  name: string;
  /** The bare repository the server serves. */
  bare: string;
  /** Its work tree, where commit() writes. */
  work: string;
  /** The URL to clone it over HTTP (no credentials in it). */
  url: string;
  /**
   * Writes files (null: removes the file) on the current branch of the work tree, commits them with
   * `message` and pushes that branch; returns the commit's sha.
   */
  commit(files: Record<string, string | null>, message: string): string;
  /** Switches the work tree to `name`, made from the current commit when it does not exist yet. */
  checkout(name: string): void;
  /** Tags a commit (default: the current one) and pushes the tag; returns the tagged commit's sha. */
  tag(name: string, sha?: string): string;
  /** Adds `other` as a submodule at `at` (pointing at its current commit), commits and pushes; returns the sha. */
  addSubmodule(at: string, other: TestRepository, message?: string): string;
  /** The sha a branch of the served repository points at. */
  head(branch?: string): string;
}

export interface GitHttpServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The folder of the bare repositories (GIT_PROJECT_ROOT). */
  root: string;
  /** Every request, in order. */
  requests: ServedRequest[];
  /** Body bytes sent to clients in all, so far. */
  bytesSent(): number;
  /** Makes `username`/`token` valid; from then on every request needs valid credentials. */
  addCredentials(username: string, token: string): void;
  /** The token no longer lets anyone in: 401 with WWW-Authenticate. */
  revoke(token: string): void;
  /** A new repository "<name>.git" on branch main, with a first commit of `files` when given. */
  createRepository(name: string, files?: Record<string, string>): TestRepository;
  /** Removes a served repository: it answers 404 from then on. */
  deleteRepository(name: string): void;
  /** git config of every served repository from now (e.g. uploadpack.allowAnySHA1InWant false). */
  configure(key: string, value: string): void;
  /**
   * false: the server ignores the Git-Protocol header and speaks protocol v0, as older servers do,
   * where a fetch of a commit no ref points at is refused ("unadvertised object").
   */
  protocolV2(enabled: boolean): void;
  stop(): Promise<void>;
}

/**
 * `count` files under ten folders, each its number and then about `size` bytes: repeated (so they
 * pack small) by default, or pseudo-random hex, which packs as real text does, with `random`.
 */
export function manyFiles(count: number, prefix = 'files', opts: { size?: number; random?: boolean } = {}): Record<string, string> {
  const size = opts.size ?? 200;
  const files: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    let body = '';
    if (opts.random) {
      for (let block = 0; body.length < size; block++) body += crypto.createHash('sha256').update(`${prefix}/${i}/${block}`).digest('hex') + '\n';
    } else body = 'x'.repeat(size + (i % 50));
    files[`${prefix}/${String(i % 10)}/file-${String(i).padStart(5, '0')}.txt`] = `file ${i}\n${body}\n`;
  }
  return files;
}

/** The user name and token of a basic Authorization header, or null. */
function basicCredentials(header: string | undefined): { user: string; token: string } | null {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), token: decoded.slice(colon + 1) };
}

/** Starts the server on a random port of 127.0.0.1, with its own temporary folder for repositories. */
export async function startGitHttpServer(): Promise<GitHttpServer> {
  const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'otf-git-http-')));
  const root = path.join(base, 'repos');
  const works = path.join(base, 'work');
  fs.mkdirSync(root);
  fs.mkdirSync(works);
  const credentials = new Map<string, string>(); // token → user name
  const revoked = new Set<string>();
  const requests: ServedRequest[] = [];
  const extraConfig: [string, string][] = [];
  let sent = 0;
  let v2 = true;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const given = basicCredentials(req.headers.authorization);
    const record: ServedRequest = { method: req.method ?? 'GET', url: url.pathname + url.search, user: given?.user ?? null, status: 0, bytesSent: 0 };
    requests.push(record);
    const answer = (status: number, text: string, headers: http.OutgoingHttpHeaders = {}) => {
      record.status = status;
      res.writeHead(status, { 'Content-Type': 'text/plain', ...headers });
      res.end(text);
    };

    if (credentials.size > 0) {
      const ok = given !== null && !revoked.has(given.token) && credentials.get(given.token) === given.user;
      if (!ok) return answer(401, 'Unauthorized\n', { 'WWW-Authenticate': 'Basic realm="otf test git server"' });
    }
    // The repository is the path up to and including the first segment ending ".git".
    const m = /^\/([^/]+\.git)(\/.*)?$/.exec(url.pathname);
    if (!m || !fs.existsSync(path.join(root, m[1]))) return answer(404, 'Repository not found\n');
    // Reads only: a push goes to the bare repository through the file system.
    if (url.searchParams.get('service') === 'git-receive-pack' || url.pathname.endsWith('/git-receive-pack')) return answer(403, 'This server is read-only\n');

    const env: NodeJS.ProcessEnv = {
      PATH: GIT_ENV.PATH,
      HOME: GIT_ENV.HOME,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ''),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      GIT_CONFIG_COUNT: String(extraConfig.length),
    };
    extraConfig.forEach(([key, value], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = key;
      env[`GIT_CONFIG_VALUE_${i}`] = value;
    });
    if (given) env.REMOTE_USER = given.user;
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
    const protocol = req.headers['git-protocol'];
    if (typeof protocol === 'string' && v2) env.GIT_PROTOCOL = protocol;

    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    req.pipe(child.stdin);
    child.stdin.on('error', () => undefined); // the backend may answer before reading everything
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));

    // The CGI answer: header lines up to a blank line (Status: gives the code), then the body.
    let head = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        sent += chunk.length;
        record.bytesSent += chunk.length;
        if (!res.write(chunk)) {
          child.stdout.pause();
          res.once('drain', () => child.stdout.resume());
        }
        return;
      }
      head = Buffer.concat([head, chunk]);
      const text = head.toString('latin1');
      const crlf = text.indexOf('\r\n\r\n');
      const lf = text.indexOf('\n\n');
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
      if (end < 0) return;
      const bodyStart = end + (end === crlf ? 4 : 2);
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of text.slice(0, end).split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
        else headers[name] = value;
      }
      headersDone = true;
      record.status = status;
      res.writeHead(status, headers);
      const body = head.subarray(bodyStart);
      sent += body.length;
      record.bytesSent += body.length;
      if (body.length) res.write(body);
    });
    child.on('close', (code) => {
      if (!headersDone) return answer(500, `git http-backend failed (exit code ${code}): ${stderr}`);
      res.end();
    });
    child.on('error', (err) => {
      if (!headersDone) answer(500, `cannot run git http-backend: ${err.message}`);
    });
    res.on('close', () => {
      if (child.exitCode === null) child.kill();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const createRepository = (name: string, files?: Record<string, string>): TestRepository => {
    const bareName = `${name}.git`;
    const bare = path.join(root, bareName);
    const work = path.join(works, name);
    git(base, 'init', '-q', '--bare', '-b', 'main', bare);
    git(base, 'init', '-q', '-b', 'main', work);
    git(work, 'remote', 'add', 'origin', bare);
    const repo: TestRepository = {
      name,
      bare,
      work,
      url: `${url}/${bareName}`,
      commit(changes, message) {
        for (const [file, content] of Object.entries(changes)) {
          const full = path.join(work, file);
          if (content === null) {
            git(work, 'rm', '-q', '-r', '--', file);
            continue;
          }
          fs.mkdirSync(path.dirname(full), { recursive: true });
          fs.writeFileSync(full, content);
        }
        git(work, 'add', '-A');
        git(work, 'commit', '-q', '--allow-empty', '-m', message);
        git(work, 'push', '-q', 'origin', 'HEAD');
        return git(work, 'rev-parse', 'HEAD');
      },
      checkout(branch) {
        const exists = git(work, 'branch', '--list', branch) !== '';
        if (exists) git(work, 'checkout', '-q', branch);
        else git(work, 'checkout', '-q', '-b', branch);
      },
      tag(tagName, sha) {
        const target = sha ?? git(work, 'rev-parse', 'HEAD');
        git(work, 'tag', tagName, target);
        git(work, 'push', '-q', 'origin', `refs/tags/${tagName}`);
        return target;
      },
      addSubmodule(at, other, message = `add submodule ${other.name}`) {
        // From its bare folder: the helper's git runs synchronously, so it cannot fetch from this
        // server, which answers on the same event loop (protocol.file: git refuses local submodules
        // by default).
        git(work, '-c', 'protocol.file.allow=always', 'submodule', '-q', 'add', other.bare, at);
        // What a clone of the served repository must follow is the served URL.
        git(work, 'config', '-f', '.gitmodules', `submodule.${at}.url`, other.url);
        git(work, 'add', '.gitmodules');
        return repo.commit({}, message);
      },
      head(branch = 'main') {
        return git(bare, 'rev-parse', `refs/heads/${branch}`);
      },
    };
    if (files) repo.commit(files, 'first commit');
    return repo;
  };

  return {
    url,
    root,
    requests,
    bytesSent: () => sent,
    addCredentials(username, token) {
      credentials.set(token, username);
      revoked.delete(token);
    },
    revoke(token) {
      revoked.add(token);
    },
    createRepository,
    deleteRepository(name) {
      fs.rmSync(path.join(root, `${name}.git`), { recursive: true, force: true });
    },
    configure(key, value) {
      extraConfig.push([key, value]);
    },
    protocolV2(enabled) {
      v2 = enabled;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          fs.rmSync(base, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
