// How otfd gets the files of a commit: a cache of bare clones, one per repository, under otfd's
// data dir, fetched with simple-git, and an archive (.tar.gz) of the commit's tracked files that
// becomes a configuration version.
//
//   snapshot(source, maxSize)  fetches exactly the commit, shallow (--depth=1), into the
//                              repository's cached clone, and archives its tracked files (with its
//                              submodules, recursively and shallow, when asked). A second commit of
//                              the same repository fetches only the objects the cache lacks. The
//                              server is asked each time, also for a commit the cache holds, so a
//                              revoked token or a deleted repository is noticed and the cache never
//                              hands a commit to credentials that cannot read it.
//   head(source, branch)       the branch's head on the server (ls-remote): polling, and a run
//                              asked for on a VCS workspace.
//   changedFiles(key, a, b)    paths changed between two commits the cache holds, or null.
//
// Rules that matter:
// - Credentials never reach the disk nor a command line (every user can read every process's
//   arguments): an HTTPS token travels as an Authorization header in git's environment
//   (GIT_CONFIG_COUNT/KEY/VALUE, http.<origin>.extraHeader, so a submodule on another host never
//   gets it); an SSH key is in a file readable by otfd's user only, in a private folder of the cache,
//   for the duration of the fetch, and git runs otf-agent's own ssh program (src/agent/git-ssh.ts)
//   with it, as runs do for git::ssh:// modules.
// - git sees nothing of the host's configuration (no system or global config, no credential
//   helper, no prompt) and may use only http, https and ssh, also for a repository's submodules.
// - The clone URL (the VCS provider's answer) and every submodule's URL are checked before git
//   fetches from them, as a provider's api-url is (src/vcs/addresses.ts: no link-local or
//   unspecified address, also by a name resolving to one), and git follows no HTTP redirect.
// - One fetch at a time per repository (a lock per cache key); different repositories in parallel.
// - The size limit holds while archiving, on the packed and the unpacked bytes, and stops the
//   archive the moment one is passed: nothing is read whole into memory. (git archive is spawned
//   directly for that: simple-git hands over a command's output only once it has all of it.)
// - Every git command has a time limit.
// - A failure is a CloneError whose message can go into a run's log as is: it says what went wrong
//   in words and never holds a secret.
// - A cached clone a crash left broken is found the first time this process uses it: one never
//   finished (no marker file) or that git no longer reads is re-made; git's lock files left behind
//   by a killed fetch are removed. The cache folder belongs to one otfd process: its tmp folder is
//   emptied when the cache is made.
//
// A cache key (CommitSource.repoKey) names one repository wherever it is used (e.g. the provider's
// host and the repository's identifier), so that workspaces of that repository share its clone.
//
// Each fetched commit is kept under refs/otf/commits/ so that later fetches can negotiate against
// it; only the last ones (keepCommits, 20) are, older ones' objects go at the next gc. Clones not
// fetched into for long are removed by sweepIdle(). Removing the cache folder while otfd is stopped
// is always safe.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { simpleGit, GitPluginError, type SimpleGit } from 'simple-git';
import * as tar from 'tar';
import type { CommitSource } from '../vcs/types.js';
// Ref names as git allows them, never anything git could read as an option: the one rule (src/vcs/names.ts).
import { isRefName, refusedCloneUrl } from '../vcs/index.js';

/** Why a commit could not be had. */
export type CloneFailure = 'credentials' | 'not-found' | 'unreachable' | 'refused' | 'commit-not-found' | 'too-large' | 'timeout' | 'stopped' | 'failed';

/** A commit could not be fetched or archived; the message is for a run's log and holds no secret. */
export class CloneError extends Error {
  constructor(
    readonly reason: CloneFailure,
    message: string,
  ) {
    super(message);
    this.name = 'CloneError';
  }
}

export interface CommitInfo {
  sha: string;
  message: string;
  authorName: string;
  authorEmail: string;
}

export interface Snapshot {
  /** A .tar.gz of the commit's tracked files, paths relative to the repository's root. */
  file: string;
  /** Its size in bytes. */
  size: number;
  /** Removes the file. */
  dispose(): Promise<void>;
}

export interface RepositoryCacheOptions {
  /** The longest any one git command may take (default 5 minutes). */
  commandTimeoutMs?: number;
  /** The git program (default: git on PATH). */
  gitBinary?: string;
  /** PATH for git (default: otfd's own). */
  path?: string;
  /** Commits whose refs each cached clone keeps, the last fetched (default 20). */
  keepCommits?: number;
}

/** otf-agent's ssh program for git, beside the runner once compiled (dist/src/agent/git-ssh.js). */
const GIT_SSH = fileURLToPath(new URL('../agent/git-ssh.js', import.meta.url));

/** How deep submodules of submodules are fetched. */
const MAX_SUBMODULE_DEPTH = 10;

/** Marks a cached clone that was made to the end; one without it is re-made. */
const READY_MARKER = 'otf-cache-ready';

/** The commits of refs/otf/commits/, in the order fetched, last at the end. */
const FETCHED_LIST = 'otf-fetched';

/** Files git leaves behind when killed mid-command; no other process uses the cache, so they are stale. */
const STALE_LOCKS = ['shallow.lock', 'config.lock', 'packed-refs.lock', 'HEAD.lock', 'index.lock', 'FETCH_HEAD.lock'];

/** The server would not hand out a commit by its id alone (protocol v0 without allowAnySHA1InWant). */
const REFUSED_BARE_ID = /not our ref|unadvertised object|Server does not allow request|couldn't find remote ref|no such remote ref|unable to find/i;

/** How git was run for one source: its environment, and what must go when it is done. */
interface Session {
  env: Record<string, string>;
  /** Secrets that must not appear in a message (the token, the Authorization value). */
  secrets: string[];
  /** The URL as a message may show it (no user info). */
  url: string;
  kind: 'https' | 'ssh' | 'none';
  /** Set in the environment of git and all it starts: what is left of a stopped command is found by it. */
  marker: string;
  close(): void;
}

export class RepositoryCache {
  private readonly reposDir: string;
  private readonly tmpDir: string;
  private readonly homeDir: string;
  private readonly timeoutMs: number;
  private readonly binary: string;
  private readonly hostPath: string;
  /** The tail of the last fetch of each repository: the next one waits for it. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Cached clones checked (and repaired) by this process already. */
  private readonly checked = new Set<string>();
  private readonly keepCommits: number;
  private sweeper: NodeJS.Timeout | null = null;
  /** Aborted by stop(): every command listens to it. */
  private readonly stopping = new AbortController();
  /** The markers of the sessions open now: stop() kills what is left of their commands by them. */
  private readonly live = new Set<string>();

  constructor(
    readonly dir: string,
    opts: RepositoryCacheOptions = {},
  ) {
    this.reposDir = path.join(dir, 'repos');
    this.tmpDir = path.join(dir, 'tmp');
    this.homeDir = path.join(dir, 'home');
    this.timeoutMs = opts.commandTimeoutMs ?? 5 * 60_000;
    this.keepCommits = Math.max(1, opts.keepCommits ?? 20);
    this.binary = opts.gitBinary ?? 'git';
    this.hostPath = opts.path ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
    fs.mkdirSync(this.reposDir, { recursive: true, mode: 0o700 });
    // Archives and work trees of an earlier process are of no use to anyone now.
    fs.rmSync(this.tmpDir, { recursive: true, force: true });
    fs.mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(this.homeDir, { recursive: true, mode: 0o700 });
  }

  /** Whether stop() was called. */
  get isStopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /**
   * Ends every git command under way (and their helpers, by their sessions' marker) and refuses
   * new ones: otfd stops, and nothing may write into the cache or hold the database after it.
   * Waits for the commands' callers to let go of the repositories.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    if (this.sweeper) clearInterval(this.sweeper);
    const kill = () => {
      for (const marker of this.live) killProcessesWithEnv(marker);
    };
    kill();
    setTimeout(kill, 500).unref();
    await Promise.allSettled([...this.locks.values()]);
  }

  /** Fetches the commit into the cache and archives its tracked files, at most maxSize bytes packed and unpacked. */
  async snapshot(source: CommitSource, maxSize: number): Promise<Snapshot> {
    if (!isCommitId(source.sha)) throw new CloneError('commit-not-found', `"${source.sha}" is not a commit id`);
    if (source.ref !== null && !isRefName(source.ref)) throw new CloneError('commit-not-found', `"${source.ref}" is not a ref name`);
    await this.checkAddress(source.url);
    const session = this.open(source);
    try {
      const repo = await this.withLock(source.repoKey, () => this.fetch(source, session));
      const file = path.join(this.tmpDir, `${crypto.randomUUID()}.tar.gz`);
      try {
        const hasSubmodules = source.submodules && (await this.exists(repo, `${source.sha}:.gitmodules`));
        if (hasSubmodules) await this.archiveWithSubmodules(repo, source, session, file, maxSize);
        else await this.archive(repo, source.sha, file, maxSize, session);
      } catch (err) {
        fs.rmSync(file, { force: true });
        throw err;
      }
      const size = fs.statSync(file).size;
      return { file, size, dispose: () => fs.promises.rm(file, { force: true }) };
    } finally {
      session.close();
    }
  }

  /**
   * Fetches the commit into the cache, as snapshot() does, and says what it is, without archiving
   * it (polling names a run after the commit it saw; the run's snapshot then finds it cached).
   */
  async commit(source: CommitSource): Promise<CommitInfo> {
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(source.sha)) throw new CloneError('commit-not-found', `"${source.sha}" is not a commit id`);
    await this.checkAddress(source.url);
    const session = this.open(source);
    try {
      const repo = await this.withLock(source.repoKey, () => this.fetch(source, session));
      return await this.commitInfo(repo, source.sha, session);
    } finally {
      session.close();
    }
  }

  /** The sha the branch points at on the server, or null when it has no such branch. */
  async head(source: Omit<CommitSource, 'sha' | 'submodules'>, branch: string): Promise<string | null> {
    if (!isRefName(branch)) return null;
    await this.checkAddress(source.url);
    const session = this.open(source);
    try {
      const out = await this.run(this.tmpDir, session, ['ls-remote', '--heads', '--', source.url, `refs/heads/${branch}`], 'ls-remote');
      const line = out.split('\n').find((l) => l.endsWith(`\trefs/heads/${branch}`));
      return line ? line.slice(0, line.indexOf('\t')) : null;
    } finally {
      session.close();
    }
  }

  /** Paths changed between two commits, from the cache alone; null when it lacks either of them. */
  async changedFiles(repoKey: string, base: string, head: string): Promise<string[] | null> {
    const repo = this.repoDir(repoKey);
    if (!isCommitId(base) || !isCommitId(head) || !fs.existsSync(path.join(repo, READY_MARKER))) return null;
    const session = this.open({ url: '', auth: { kind: 'none' } });
    try {
      if (!(await this.exists(repo, `${base}^{commit}`)) || !(await this.exists(repo, `${head}^{commit}`))) return null;
      const out = await this.run(repo, session, ['diff', '--name-only', '--no-renames', '-z', base, head, '--'], 'diff');
      return out.split('\0').filter(Boolean);
    } finally {
      session.close();
    }
  }

  // ---------------------------------------------------------------- fetching

  /**
   * The clone URL comes from the VCS provider's answer: before each fetch its host (and what a
   * name resolves to now) is checked as the provider's api-url is, so that no provider, nor
   * anyone answering as one, points a fetch at a link-local (cloud metadata) or unspecified
   * address. Private and loopback addresses stay allowed (self-hosted providers).
   */
  private async checkAddress(url: string, what: 'clone' | 'submodule' = 'clone'): Promise<void> {
    const refused = await refusedCloneUrl(url);
    if (!refused) return;
    const whose = what === 'clone' ? " (the clone URL is the VCS provider's)" : '';
    throw new CloneError('refused', `cannot fetch ${what === 'submodule' ? 'submodule ' : ''}${shownUrl(url)}: ${refused}; otfd does not fetch from there${whose}`);
  }

  /**
   * Makes sure the cached clone holds the commit; returns the clone's folder. Runs under the
   * repository's lock. The server is asked every time, also for a commit the cache holds (git then
   * only checks that it is still readable): a revoked token or a deleted repository is noticed, and
   * the cache gives no commit to credentials that cannot read the repository.
   */
  private async fetch(source: CommitSource, session: Session): Promise<string> {
    const repo = await this.fetchCommit(source, session);
    await this.remember(repo, source.sha, session);
    return repo;
  }

  private async fetchCommit(source: CommitSource, session: Session): Promise<string> {
    const repo = await this.prepare(source.repoKey, session);
    const keep = `refs/otf/commits/${source.sha}`;
    const fetch = (depth: number, refspec: string) =>
      this.run(repo, session, ['-c', 'fetch.writeCommitGraph=false', 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', `--depth=${depth}`, '--', source.url, refspec], 'fetch');
    try {
      // Exactly the commit: with a ref to it kept, a later fetch negotiates against it and gets only new objects.
      await fetch(1, `+${source.sha}:${keep}`);
      return repo;
    } catch (err) {
      const refused = err instanceof CloneError && err.reason === 'commit-not-found';
      if (!refused || !source.ref) throw err;
    }
    // The server would not hand out the commit by its id: fetch the ref that holds it, deeper if
    // the ref moved on since (an unknown commit costs the last 100 commits of the ref once).
    for (const depth of [1, 100]) {
      await fetch(depth, `+${source.ref}:refs/otf/fetched`);
      if (await this.exists(repo, `${source.sha}^{commit}`)) {
        await this.run(repo, session, ['update-ref', keep, source.sha], 'update-ref');
        return repo;
      }
    }
    throw new CloneError('commit-not-found', `the commit ${source.sha} is not in ${session.url} (not at the tip of ${source.ref} nor among its last 100 commits)`);
  }

  /**
   * Notes the commit as the repository's last fetched and keeps the refs of only the last ones
   * (keepCommits): older refs are deleted a batch at a time, and git gc then drops their objects
   * (those fetched within the last hour stay, for an archive of them that may still be under way).
   * The clone's marker is touched: sweepIdle() goes by it.
   */
  private async remember(repo: string, sha: string, session: Session): Promise<void> {
    const now = new Date();
    fs.utimesSync(path.join(repo, READY_MARKER), now, now);
    const list = path.join(repo, FETCHED_LIST);
    const before = fs.existsSync(list) ? fs.readFileSync(list, 'utf8').split('\n').filter(isCommitId) : [];
    let order = [...before.filter((s) => s !== sha), sha];
    const dropped = order.length > this.keepCommits + Math.ceil(this.keepCommits / 2) ? order.slice(0, order.length - this.keepCommits) : [];
    order = order.slice(dropped.length);
    for (const old of dropped) await this.run(repo, session, ['update-ref', '-d', `refs/otf/commits/${old}`], 'update-ref');
    fs.writeFileSync(`${list}.tmp`, `${order.join('\n')}\n`, { mode: 0o600 });
    fs.renameSync(`${list}.tmp`, list);
    if (dropped.length > 0) await this.run(repo, session, ['gc', '--quiet', '--prune=1.hour.ago'], 'gc');
  }

  /**
   * Removes the cached clones not fetched into for longer than `idleMs` (their repository is no
   * longer used by any connection, or so rarely that a fresh shallow clone costs little), at most
   * `max` of them per call; clones in use now are left alone. Answers how many went.
   */
  sweepIdle(idleMs: number, max = 50): number {
    if (this.isStopped) return 0;
    const busy = new Set([...this.locks.keys()].map((key) => path.basename(this.repoDir(key))));
    let removed = 0;
    for (const name of fs.readdirSync(this.reposDir)) {
      if (removed >= max) break;
      if (busy.has(name)) continue;
      const dir = path.join(this.reposDir, name);
      const marker = fs.statSync(path.join(dir, READY_MARKER), { throwIfNoEntry: false }) ?? fs.statSync(dir, { throwIfNoEntry: false });
      if (!marker || Date.now() - marker.mtimeMs < idleMs) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      for (const key of this.checked) if (this.repoDir(key) === dir) this.checked.delete(key);
      removed++;
    }
    return removed;
  }

  /** Sweeps idle clones now and every `everyMs` until stop(). */
  startSweeping(idleMs: number, everyMs: number): void {
    const sweep = () => {
      try {
        this.sweepIdle(idleMs);
      } catch {
        // A folder that went meanwhile; the next sweep looks again.
      }
    };
    sweep();
    this.sweeper = setInterval(sweep, everyMs);
    this.sweeper.unref();
  }

  /** The cached clone of a repository, made (or re-made, when a crash left it broken) as needed. */
  private async prepare(repoKey: string, session: Session): Promise<string> {
    const repo = this.repoDir(repoKey);
    if (!this.checked.has(repoKey)) {
      let sound = fs.existsSync(path.join(repo, READY_MARKER));
      if (sound) {
        for (const lock of STALE_LOCKS) fs.rmSync(path.join(repo, lock), { force: true });
        removeLockFiles(path.join(repo, 'refs'));
        sound = await this.run(repo, session, ['rev-parse', '--is-bare-repository'], 'rev-parse').then(
          (out) => out.trim() === 'true',
          () => false,
        );
      }
      if (!sound) {
        fs.rmSync(repo, { recursive: true, force: true });
        fs.mkdirSync(repo, { recursive: true, mode: 0o700 });
        await this.run(repo, session, ['init', '--quiet', '--bare'], 'init');
        fs.writeFileSync(path.join(repo, READY_MARKER), `${repoKey}\n`);
      }
      this.checked.add(repoKey);
    }
    return repo;
  }

  private async commitInfo(repo: string, sha: string, session: Session): Promise<CommitInfo> {
    const out = await this.run(repo, session, ['log', '-1', '--format=%H%x00%an%x00%ae%x00%B', sha], 'log');
    const [full, authorName, authorEmail, ...rest] = out.split('\0');
    return { sha: full.trim(), authorName, authorEmail, message: rest.join('\0').replace(/\s+$/, '') };
  }

  // ---------------------------------------------------------------- archiving

  /**
   * `git archive` of the commit, gzipped to `file`, counting both sides against the limit as it
   * streams. gzip's fastest level: the archive is written once and read once, by the run, and
   * level 1 takes about half the time of the default for nearly the same size on text.
   */
  private async archive(repo: string, sha: string, file: string, maxSize: number, session: Session): Promise<void> {
    const child = spawn(this.binary, ['archive', '--format=tar', sha], { cwd: repo, env: session.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const timer = setTimeout(() => child.kill('SIGKILL'), this.timeoutMs);
    const onStop = () => child.kill('SIGKILL');
    this.stopping.signal.addEventListener('abort', onStop);
    try {
      await pipeline(child.stdout, limit(maxSize, 'unpacked'), zlib.createGzip({ level: 1 }), limit(maxSize, 'packed'), fs.createWriteStream(file, { mode: 0o600 }));
    } catch (err) {
      child.kill('SIGKILL');
      await exited;
      if (this.isStopped) throw stoppedError();
      throw err instanceof CloneError ? err : this.failure(`${String((err as Error).message)}\n${stderr}`, session, 'archive');
    } finally {
      clearTimeout(timer);
      this.stopping.signal.removeEventListener('abort', onStop);
    }
    const code = await exited;
    if (this.isStopped) throw stoppedError();
    if (code !== 0) {
      if (child.signalCode === 'SIGKILL') throw new CloneError('timeout', `archiving the commit took longer than ${seconds(this.timeoutMs)} and was stopped`);
      throw this.failure(stderr, session, 'archive');
    }
  }

  /**
   * The commit checked out in a temporary work tree (its objects read from the cached clone), its
   * submodules fetched into it recursively and shallow, and every tracked file of the lot archived.
   */
  private async archiveWithSubmodules(repo: string, source: CommitSource, session: Session, file: string, maxSize: number): Promise<void> {
    const work = fs.mkdtempSync(path.join(this.tmpDir, 'work-'));
    try {
      await this.run(work, session, ['init', '--quiet'], 'init');
      // Objects come from the cache (alternates), the shallow boundary with them.
      fs.writeFileSync(path.join(work, '.git', 'objects', 'info', 'alternates'), `${path.join(repo, 'objects')}\n`);
      if (fs.existsSync(path.join(repo, 'shallow'))) fs.copyFileSync(path.join(repo, 'shallow'), path.join(work, '.git', 'shallow'));
      // Relative submodule URLs are relative to the repository's own.
      await this.run(work, session, ['config', 'remote.origin.url', source.url], 'config');
      await this.run(work, session, ['checkout', '--quiet', '--detach', source.sha], 'checkout');
      await this.updateSubmodules(work, session, 1);
      const listed = await this.run(work, session, ['ls-files', '-z', '--recurse-submodules'], 'ls-files');
      const files = listed.split('\0').filter(Boolean);
      let unpacked = 0;
      for (const f of files) {
        unpacked += fs.lstatSync(path.join(work, f)).size;
        if (unpacked > maxSize) throw tooLarge(maxSize, 'unpacked');
      }
      const packed = tar.c({ gzip: true, cwd: work, portable: true, noDirRecurse: true, follow: false }, files) as AsyncIterable<Buffer>;
      await pipeline(packed, limit(maxSize, 'packed'), fs.createWriteStream(file, { mode: 0o600 }));
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }

  /**
   * Fetches the submodules of the work tree at `dir` shallow, one level at a time (the deepest at
   * MAX_SUBMODULE_DEPTH): a repository's .gitmodules names the URLs, so each is checked as the
   * clone URL is (checkAddress) before git fetches from it. Relative URLs are resolved by git
   * (init) against the URL of the repository that names them, and checked as resolved.
   */
  private async updateSubmodules(dir: string, session: Session, level: number): Promise<void> {
    if (!fs.existsSync(path.join(dir, '.gitmodules'))) return;
    if (level > MAX_SUBMODULE_DEPTH) throw new CloneError('failed', `the submodules are nested deeper than ${MAX_SUBMODULE_DEPTH} levels`);
    await this.run(dir, session, ['submodule', '--quiet', 'init'], 'submodule init');
    const urls = await this.run(dir, session, ['config', '-z', '--local', '--get-regexp', '^submodule\\..*\\.url$'], 'config').catch(() => '');
    for (const [, url] of configEntries(urls)) {
      await this.checkAddress(url, 'submodule');
    }
    await this.run(dir, session, ['submodule', '--quiet', 'update', '--depth=1'], 'submodule update');
    const paths = await this.run(dir, session, ['config', '-z', '--file', '.gitmodules', '--get-regexp', '^submodule\\..*\\.path$'], 'config').catch(() => '');
    for (const [, relative] of configEntries(paths)) {
      const sub = path.join(dir, relative);
      // A path git did not check out (or one leading outside the work tree) has nothing to fetch.
      if (!sub.startsWith(`${dir}${path.sep}`) || !fs.existsSync(path.join(sub, '.git'))) continue;
      await this.updateSubmodules(sub, session, level + 1);
    }
  }

  // ---------------------------------------------------------------- git

  /** git's environment for one source, with its credentials; close() removes what it put on disk. */
  private open(source: Pick<CommitSource, 'url' | 'auth'>): Session {
    if (this.isStopped) throw stoppedError();
    const env: Record<string, string> = {
      PATH: this.hostPath,
      HOME: this.homeDir,
      LC_ALL: 'C',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      // Only these, also for submodules (a repository's .gitmodules must not reach file:// or ext::).
      GIT_ALLOW_PROTOCOL: 'http:https:ssh',
      GIT_PROTOCOL_FROM_USER: '0',
    };
    const config: [string, string][] = [
      ['gc.auto', '0'],
      ['maintenance.auto', 'false'],
      ['core.askPass', ''],
      ['credential.helper', ''],
      // A redirect could lead a fetch to an address checkAddress() refuses (the cloud metadata
      // service): none is followed, as the provider's API is called without following any.
      ['http.followRedirects', 'false'],
    ];
    const secrets: string[] = [];
    let keyDir: string | null = null;
    if (source.auth.kind === 'https') {
      const value = `Basic ${Buffer.from(`${source.auth.username}:${source.auth.password}`).toString('base64')}`;
      const origin = new URL(source.url);
      config.push([`http.${origin.protocol}//${origin.host}/.extraHeader`, `Authorization: ${value}`]);
      secrets.push(source.auth.password, value.slice('Basic '.length));
    }
    // An HTTPS repository's key is for its submodules at ssh:// URLs (TFC's SSH key of an OAuth token).
    const privateKey = source.auth.kind === 'ssh' || source.auth.kind === 'https' ? source.auth.privateKey : undefined;
    if (privateKey) {
      // In the cache's own temporary folder (0700, in otfd's data dir), never a shared one.
      keyDir = fs.mkdtempSync(path.join(this.tmpDir, 'ssh-'));
      const keyFile = path.join(keyDir, 'ssh-key');
      const key = privateKey.endsWith('\n') ? privateKey : `${privateKey}\n`;
      fs.writeFileSync(keyFile, key, { mode: 0o600, flag: 'wx' });
      env.GIT_SSH_COMMAND = [process.execPath, GIT_SSH, '-i', keyFile].map(shellQuote).join(' ');
      // git would otherwise probe the program with -G to learn whether it takes OpenSSH's -p.
      env.GIT_SSH_VARIANT = 'ssh';
    } else {
      // Without a key it is still ours, so that no system ssh (with the host's keys) answers.
      env.GIT_SSH_COMMAND = [process.execPath, GIT_SSH].map(shellQuote).join(' ');
      env.GIT_SSH_VARIANT = 'ssh';
    }
    const marker = `OTF_GIT_SESSION=${crypto.randomUUID()}`;
    env.OTF_GIT_SESSION = marker.slice('OTF_GIT_SESSION='.length);
    this.live.add(marker);
    const live = this.live;
    env.GIT_CONFIG_COUNT = String(config.length);
    config.forEach(([key, value], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = key;
      env[`GIT_CONFIG_VALUE_${i}`] = value;
    });
    const session: Session = {
      env,
      secrets: secrets.filter((s) => s.length > 0),
      url: shownUrl(source.url),
      kind: source.auth.kind,
      marker,
      close() {
        live.delete(marker);
        if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
        keyDir = null;
      },
    };
    return session;
  }

  private git(cwd: string, session: Session, signal: AbortSignal): SimpleGit {
    return simpleGit({
      baseDir: cwd,
      binary: this.binary,
      abort: signal,
      // The environment is ours (above), every part of it on purpose.
      unsafe: { allowUnsafeSshCommand: true, allowUnsafeConfigEnvCount: true, allowUnsafeConfigPaths: true, allowUnsafeAskPass: true, allowUnsafeCredentialHelper: true },
    }).env(session.env);
  }

  /** Runs one git command with the time limit; a failure becomes a CloneError. */
  private async run(cwd: string, session: Session, args: string[], what: string): Promise<string> {
    if (this.isStopped) throw stoppedError();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      return await this.git(cwd, session, AbortSignal.any([controller.signal, this.stopping.signal])).raw(args);
    } catch (err) {
      if (this.isStopped) {
        killProcessesWithEnv(session.marker);
        throw stoppedError();
      }
      if (controller.signal.aborted || (err instanceof GitPluginError && err.plugin === 'abort')) {
        // git, stopped, leaves its helpers (git-remote-http, the ssh program) running until the
        // server hangs up, which a server that stopped answering never does. Once more a moment
        // later, for a helper git was starting as it was stopped.
        killProcessesWithEnv(session.marker);
        setTimeout(() => killProcessesWithEnv(session.marker), 500).unref();
        throw new CloneError('timeout', `git ${what} of ${session.url} took longer than ${seconds(this.timeoutMs)} and was stopped`);
      }
      throw this.failure((err as Error).message, session, what);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether an object exists in the repository (cat-file -e). */
  private async exists(repo: string, object: string): Promise<boolean> {
    const session = this.open({ url: '', auth: { kind: 'none' } });
    return this.run(repo, session, ['cat-file', '-e', object], 'cat-file')
      .then(
        () => true,
        () => false,
      )
      .finally(() => session.close());
  }

  /** git's complaint, as a CloneError that names the reason in words and holds no secret. */
  private failure(stderr: string, session: Session, what: string): CloneError {
    const text = redact(stderr, session.secrets);
    const where = session.url;
    if (/Authentication failed|could not read (Username|Password)|terminal prompts disabled|returned error: 40[13]|HTTP 40[13]|authentication methods failed|Permission denied \(publickey/i.test(text)) {
      const why = session.kind === 'ssh' ? "the repository refused the workspace's SSH key" : "the repository refused the credentials; the VCS provider's token may have been revoked";
      return new CloneError('credentials', `cannot fetch ${where}: ${why}`);
    }
    if (/returned error: 30[12378]\b/.test(text)) {
      return new CloneError('refused', `cannot fetch ${where}: the server answered with a redirect, which otfd does not follow (it could lead to an address otfd refuses)`);
    }
    if (/Could not resolve host|Failed to connect|Couldn't connect|Connection refused|Connection timed out|No route to host|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|EAI_AGAIN|getaddrinfo|cannot connect to/i.test(text)) {
      return new CloneError('unreachable', `cannot fetch ${where}: the host cannot be reached (${lastLine(text)})`);
    }
    if (REFUSED_BARE_ID.test(text) || /bad object|not a valid object|unknown revision|bad revision/i.test(text)) {
      return new CloneError('commit-not-found', `cannot fetch ${where}: the commit is not in the repository (${lastLine(text)})`);
    }
    if (/repository '.*' not found|returned error: 404|HTTP 404|does not appear to be a git repository|Repository not found|not a repository it serves|Could not read from remote repository/i.test(text)) {
      return new CloneError('not-found', `cannot fetch ${where}: the repository does not exist, or the credentials cannot see it`);
    }
    return new CloneError('failed', `git ${what} of ${where} failed: ${lastLine(text) || 'no reason given'}`);
  }

  private repoDir(repoKey: string): string {
    return path.join(this.reposDir, crypto.createHash('sha256').update(repoKey).digest('hex').slice(0, 32));
  }

  /** Runs fn after every earlier call for the same key has finished; other keys do not wait. */
  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(key) ?? Promise.resolve();
    const result = before.then(fn, fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }
}

/** A full commit id (SHA-1 or SHA-256), nothing git could read as an option or a revision expression. */
function isCommitId(sha: string): boolean {
  return /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha);
}

/** A pass-through that fails with CloneError('too-large') once more than max bytes went by. */
function limit(max: number, side: 'packed' | 'unpacked'): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      total += chunk.length;
      if (total > max) return done(tooLarge(max, side));
      done(null, chunk);
    },
  });
}

function stoppedError(): CloneError {
  return new CloneError('stopped', 'otfd is stopping: the git command was ended');
}

function tooLarge(max: number, side: 'packed' | 'unpacked'): CloneError {
  return new CloneError('too-large', `the commit's files are larger than the limit of ${formatSize(max)} ${side} (--max-config-size)`);
}

export function formatSize(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB'];
  let n = bytes;
  let u = 0;
  while (n >= 1024 && u < units.length - 1 && n % 1024 === 0) {
    n /= 1024;
    u++;
  }
  return `${n} ${units[u]}`;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/**
 * Kills the processes with `entry` ("NAME=value") in their environment: a value made for one
 * session of ours, so only processes started for it match. Linux only (/proc); elsewhere nothing
 * is done.
 */
function killProcessesWithEnv(entry: string): void {
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already, or not ours to read
    }
  }
}

/** Removes every "*.lock" under a folder (refs git was updating when it was killed). */
function removeLockFiles(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.lock')) fs.rmSync(path.join(entry.parentPath, entry.name), { force: true });
  }
}

/** Replaces every secret (and anything after "Authorization:") in text. */
export function redact(text: string, secrets: string[]): string {
  let out = text.replace(/(Authorization:\s*)\S+(\s+\S+)?/gi, '$1[redacted]').replace(/(\/\/)[^/@\s]+@/g, '$1');
  for (const s of secrets) out = out.split(s).join('[redacted]');
  return out;
}

function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const fatal = lines.filter((l) => /^(fatal|error):/i.test(l));
  return (fatal.at(-1) ?? lines.at(-1) ?? '').replace(/^(fatal|error):\s*/i, '').slice(0, 300);
}

/** The URL as a message may show it: without a user name or password in it. */
function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    // An scp-like SSH address (git@host:path) is no URL; its user name is no secret.
    return url;
  }
}

/** Single quotes for sh, which runs GIT_SSH_COMMAND. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The entries of `git config -z --get-regexp`: each is the key, a newline, the value, then NUL.
 * A submodule's name may hold spaces (and anything but ".."), so the text form, key and value
 * split at the first space, could read a URL from inside the name.
 */
function configEntries(text: string): Array<[string, string]> {
  return text
    .split('\0')
    .filter(Boolean)
    .map((entry) => {
      const cut = entry.indexOf('\n');
      return cut < 0 ? [entry, ''] : [entry.slice(0, cut), entry.slice(cut + 1)];
    });
}
