// Agent hooks (docs/timeouts-and-hooks.md): executables an operator puts in a runner's hooks
// directory (otf-agent --hooks-dir, otfd --server-agent-hooks-dir), run at Terraform Cloud's four
// points of a job with the job's environment. Their output goes to the run's log, with the job's
// secrets masked; a hook that fails or runs over its timeout fails the phase with that output.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { JobControl } from './runner.js';

export const HOOK_NAMES = ['terraform-pre-plan', 'terraform-post-plan', 'terraform-pre-apply', 'terraform-post-apply'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

export interface HookOptions {
  /** The hooks directory; null: no hooks. */
  dir: string | null;
  /** How long one hook may run before it is stopped (SIGTERM, then SIGKILL) and its phase fails. */
  timeoutMs: number;
}

/** How long a hook has to end after SIGTERM before its process group is killed. */
export const HOOK_KILL_AFTER_MS = 3000;
/** The most of a hook's output kept for the log; more is cut (a hook is not a log shipper). */
const MAX_HOOK_OUTPUT = 1024 * 1024;

/** A hook that failed: its phase fails with this message (its output is in the log already). */
export class HookFailed extends Error {}

/**
 * Replaces every secret in the text by a mask. The secrets are the values of the job's sensitive
 * variables and its token: a hook sees them in its environment, and must not print them to a log
 * that whoever may read runs can read.
 */
export function maskSecrets(text: string, secrets: string[]): string {
  let out = text;
  // Longest first, so that a secret containing another is masked whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (s.length >= 4) out = out.split(s).join('(sensitive value)');
  }
  return out;
}

/**
 * Runs the named hook, if the hooks directory has it, in `cwd` with `env`. Its output, masked,
 * goes to `write` once it ends (whole, so that a secret split across two reads is still masked).
 * Throws HookFailed when the hook is not executable, exits non-zero, or runs over the timeout.
 */
export async function runHook(
  name: HookName,
  o: { hooks: HookOptions; cwd: string; env: NodeJS.ProcessEnv; control: JobControl; write: (text: string) => void; secrets: string[] },
): Promise<void> {
  if (!o.hooks.dir) return;
  const file = path.join(o.hooks.dir, name);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return; // no such hook: nothing to run at this point
  }
  if (!stat.isFile()) throw new HookFailed(`the hook ${file} is not a file`);
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    throw new HookFailed(`the hook ${file} is not executable (chmod +x it, or remove it)`);
  }
  o.write(`\nRunning the ${name} hook...\n`);
  const result = await execute(file, o);
  const output = maskSecrets(result.output, o.secrets);
  if (output) o.write(output.endsWith('\n') ? output : `${output}\n`);
  if (result.timedOut) throw new HookFailed(`the ${name} hook ran over its timeout of ${Math.round(o.hooks.timeoutMs / 1000)}s and was killed`);
  if (result.error) throw new HookFailed(`cannot run the ${name} hook: ${result.error}`);
  if (result.code !== 0) throw new HookFailed(`the ${name} hook failed (exit code ${result.code})`);
  o.write(`The ${name} hook finished.\n`);
}

interface HookResult {
  code: number;
  output: string;
  timedOut: boolean;
  error?: string;
}

function execute(file: string, o: { hooks: HookOptions; cwd: string; env: NodeJS.ProcessEnv; control: JobControl }): Promise<HookResult> {
  return new Promise((resolve) => {
    // Its own process group: at the timeout the hook and whatever it started are stopped together.
    const child = spawn(file, [], { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    // A cancel or a phase timeout reaches the hook as it reaches the engine.
    o.control.attach(child);
    const chunks: Buffer[] = [];
    let size = 0;
    let cut = false;
    const take = (c: Buffer) => {
      if (size >= MAX_HOOK_OUTPUT) {
        cut = true;
        return;
      }
      chunks.push(c);
      size += c.length;
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    let timedOut = false;
    let killTimer: NodeJS.Timeout | null = null;
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // the group is gone already
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), HOOK_KILL_AFTER_MS);
    }, o.hooks.timeoutMs);
    const done = (r: Omit<HookResult, 'output' | 'timedOut'>) => {
      clearTimeout(timer);
      o.control.detach();
      // A hook killed at its timeout leaves nothing behind; a hook that ended by itself may have
      // started something the phase needs (a tunnel, a proxy), which is its own business.
      if (timedOut) {
        if (killTimer) clearTimeout(killTimer);
        signalGroup('SIGKILL');
      }
      // Whatever it left running may hold the pipes open: they are not waited for.
      child.stdout.destroy();
      child.stderr.destroy();
      const output = Buffer.concat(chunks).toString('utf8') + (cut ? `\n(output cut at ${MAX_HOOK_OUTPUT} bytes)\n` : '');
      resolve({ ...r, output, timedOut });
    };
    let finished = false;
    const finish = (r: Omit<HookResult, 'output' | 'timedOut'>) => {
      if (finished) return;
      finished = true;
      done(r);
    };
    const ended = (stream: NodeJS.ReadableStream) => new Promise<void>((r) => stream.once('end', r).once('close', r));
    child.on('error', (err) => finish({ code: 1, error: err.message }));
    // The output still in the pipes is read before the result is taken, for at most half a second:
    // something the hook left running may keep them open.
    child.on('exit', (code, signal) => {
      const settle = new Promise<void>((r) => setTimeout(r, 500));
      void Promise.race([Promise.all([ended(child.stdout), ended(child.stderr)]), settle]).then(() => finish({ code: code ?? (signal ? 128 : 1) }));
    });
  });
}
