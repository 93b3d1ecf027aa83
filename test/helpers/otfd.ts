// Runs the real otfd executable (bin/otfd) as a child process, the way an operator runs it, and
// keeps what it prints. For the tests of what only a whole process shows: signals, restarts on the
// same data, kill -9, command-line errors. Other tests start otfd in-process (./server.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase, suite } from '../hooks.js';
import { Api } from './api.js';
import { REPO_ROOT } from './fixtures.js';
import { freePort } from './server.js';
import { until } from './wait.js';

export const OTFD = path.join(REPO_ROOT, 'bin', 'otfd');

export interface OtfdChild {
  child: ChildProcess;
  /** What it printed so far on stdout, on stderr, and on both interleaved as it came. */
  stdout(): string;
  stderr(): string;
  output(): string;
  /** Resolves with its exit code once it has ended (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Whether it still runs. */
  running(): boolean;
  /** Resolves once its stdout includes `text`; rejects if it ends first. */
  printed(text: string): Promise<void>;
}

/**
 * Starts `node bin/otfd ...args`. It gets the caller's environment without the OTF_ variables and
 * DATABASE_URL, so that nothing of the test run leaks into its configuration, plus `env`.
 */
export function spawnOtfd(args: string[], env: Record<string, string> = {}): OtfdChild {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTF_') && k !== 'DATABASE_URL'));
  const child = spawn(process.execPath, [OTFD, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let both = '';
  const waiting = new Set<() => void>();
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    both += c.toString();
    for (const check of [...waiting]) check();
  });
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
    both += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const running = () => child.exitCode === null && child.signalCode === null;
  const printed = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!out.includes(text)) return;
        waiting.delete(check);
        resolve();
      };
      waiting.add(check);
      check();
      void exited.then((code) => {
        if (!waiting.has(check)) return;
        waiting.delete(check);
        reject(new Error(`otfd exited with ${code} before it printed ${JSON.stringify(text)}`));
      });
    });
  return { child, stdout: () => out, stderr: () => err, output: () => both, exited, running, printed };
}

/** A place for an otfd of its own: a fresh database, data dir, port and site token. */
export interface OtfdPlace {
  database: string;
  dataDir: string;
  port: number;
  siteToken: string;
  url: string;
  /** A client of it holding the site token. */
  api: Api;
  /** --database, --data-dir, --address and --site-token for it. */
  args: string[];
}

/** Makes an OtfdPlace; its data dir is under the suite's temporary folder, named `prefix`... */
export async function otfdPlace(prefix = 'otfd-'): Promise<OtfdPlace> {
  const database = await freshDatabase();
  const siteToken = crypto.randomBytes(16).toString('hex');
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(suite().tmp, prefix));
  const url = `http://127.0.0.1:${port}`;
  const args = ['--database', database, '--data-dir', dataDir, '--address', `127.0.0.1:${port}`, '--site-token', siteToken];
  return { database, dataDir, port, siteToken, url, api: new Api(url, siteToken), args };
}

/** Waits until the otfd child answers ping at `api`; fails with what it printed if it does not in time or ends. */
export async function answersPing(otfd: OtfdChild, api: Api, timeoutMs = 30_000): Promise<void> {
  await until(
    'otfd to answer ping',
    async () => {
      if (!otfd.running()) throw new Error(`otfd ended before it answered ping; it printed:\n${otfd.output()}`);
      return [200, 204].includes((await api.get('/ping').catch(() => null))?.status ?? 0);
    },
    (ok) => ok,
    timeoutMs,
  ).catch((err: Error) => {
    throw err.message.includes('it printed:') ? err : new Error(`${err.message}\notfd printed:\n${otfd.output()}`);
  });
}
