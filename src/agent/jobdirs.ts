// Where runners keep job folders. A job folder holds a CLI config with the job's token, variables
// and plan files: it must not outlive its job. The runner removes it when the job ends; a process
// killed mid-job (SIGKILL, power loss) cannot, so every otfd and otf-agent keeps its job folders in
// a folder of its own, named after its pid, under one parent per user:
//
//   <tmpdir>/otf-jobs-<uid>/<otfd|otf-agent>-<pid>-<random>/otf-job-<random>/
//
// and at start removes the folders of processes that are gone. Several agents may share a machine
// (and a tmpdir), so a folder whose process still runs is never touched.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { processAlive } from '../pids.js';

export type ProcessKind = 'otfd' | 'otf-agent';

const OWNER_FILE = 'owner.json';
const FOLDER = /^(otfd|otf-agent)-(\d+)-[0-9a-f]+$/;

interface Owner {
  pid: number;
  /** The process's start time (clock ticks since boot, from /proc), to tell a reused pid apart. */
  started: string | null;
}

/** The start time of a process, or null where /proc cannot tell it. */
function startTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}


/**
 * Whether the process that made a folder is gone. In doubt it is alive: a pid that exists is the
 * owner unless both start times are known and differ (the pid was reused, say by a restarted
 * container whose agent is pid 1 again).
 */
function ownerGone(folder: string, pid: number): boolean {
  if (!processAlive(pid)) return true;
  let owner: Owner;
  try {
    owner = JSON.parse(fs.readFileSync(path.join(folder, OWNER_FILE), 'utf8')) as Owner;
  } catch {
    return false; // being made right now, or unreadable: leave it
  }
  const now = startTime(pid);
  return owner.pid === pid && owner.started !== null && now !== null && owner.started !== now;
}

/**
 * Removes a folder whatever the engine left in it. Never throws: a job must still report its
 * outcome when its folder cannot go (the next start of this process kind retries).
 */
export function removeFolder(dir: string, logger: Logger): boolean {
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    return true;
  } catch (err) {
    // A read-only directory (some tools make them) cannot be emptied by a non-root owner: make
    // every directory writable and try again.
    try {
      makeWritable(dir);
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      return true;
    } catch {
      logger.warn({ dir, err: (err as Error).message }, 'could not remove a job folder');
      return false;
    }
  }
}

function makeWritable(dir: string): void {
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) return;
  fs.chmodSync(dir, st.mode | 0o700);
  for (const entry of fs.readdirSync(dir)) makeWritable(path.join(dir, entry));
}

/** The parent of every job folder of this user on this machine, made (0700) and checked as ours. */
function parentDir(tmp: string): string {
  const uid = process.getuid?.();
  const parent = path.join(tmp, uid === undefined ? 'otf-jobs' : `otf-jobs-${uid}`);
  fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(parent);
  // The tmpdir is shared with other users: refuse a parent someone else made or could write into.
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
    throw new Error(`${parent} is not a directory of this user that only it can write to; remove it or set TMPDIR`);
  }
  return parent;
}

export class JobFolders {
  private constructor(
    /** This process's own folder: the work root of its jobs. */
    readonly dir: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Makes this process's folder, after removing those left by processes that are gone. `tmp` is
   * the temporary directory (TMPDIR, by default).
   */
  static open(kind: ProcessKind, logger: Logger, tmp = os.tmpdir()): JobFolders {
    const parent = parentDir(tmp);
    sweep(parent, logger);
    const dir = path.join(parent, `${kind}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
    fs.mkdirSync(dir, { mode: 0o700 });
    const owner: Owner = { pid: process.pid, started: startTime(process.pid) };
    fs.writeFileSync(path.join(dir, OWNER_FILE), JSON.stringify(owner) + '\n', { mode: 0o600 });
    return new JobFolders(dir, logger);
  }

  /** Removes this process's folder and whatever a job left in it; for a clean stop. */
  close(): void {
    removeFolder(this.dir, this.logger);
  }
}

/** Removes the folders (and the job folders in them) of processes that are gone. */
export function sweep(parent: string, logger: Logger): number {
  let removed = 0;
  let entries: string[];
  try {
    entries = fs.readdirSync(parent);
  } catch {
    return 0;
  }
  for (const name of entries) {
    const m = FOLDER.exec(name);
    if (!m) continue; // not ours to judge
    const folder = path.join(parent, name);
    if (!ownerGone(folder, Number(m[2]))) continue;
    const jobs = fs.existsSync(folder) ? fs.readdirSync(folder).filter((f) => f !== OWNER_FILE).length : 0;
    if (removeFolder(folder, logger)) {
      removed++;
      logger.info({ folder, jobs }, 'removed the job folders of a process that is gone');
    }
  }
  return removed;
}
