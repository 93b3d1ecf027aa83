// Runs otf, the admin CLI, as a user runs it: the compiled bin/otf as a child process against a test
// server over HTTPS, told where it is and who it is by OTF_ADDRESS (a bare host:port, meaning HTTPS)
// and OTF_TOKEN, trusting the suite's certificate through NODE_EXTRA_CA_CERTS.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from '../hooks.js';
import type { TestServer } from './server.js';

const OTF = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/otf');

export interface OtfResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunningOtf {
  child: ChildProcess;
  stdout(): string;
  running(): boolean;
  result: Promise<OtfResult>;
}

export interface OtfOptions {
  /** Variables to set; undefined removes one (OTF_ADDRESS: undefined runs otf without an address). */
  env?: Record<string, string | undefined>;
  input?: string;
}

/** Starts bin/otf with OTF_ADDRESS (bare host:port: HTTPS) and OTF_TOKEN of the site admin, unless opts.env says otherwise. */
export function startOtf(server: TestServer, args: string[], opts: OtfOptions = {}): RunningOtf {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTF_')));
  const env: Record<string, string | undefined> = {
    ...base,
    NODE_EXTRA_CA_CERTS: suite().certFile,
    OTF_ADDRESS: server.hostname,
    OTF_TOKEN: server.siteToken,
    ...opts.env,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const child = spawn(process.execPath, [OTF, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const result = new Promise<OtfResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  child.stdin.end(opts.input ?? '');
  return { child, stdout: () => stdout, running: () => child.exitCode === null && child.signalCode === null, result };
}

/** Runs bin/otf as startOtf starts it, and returns how it ended. */
export function runOtf(server: TestServer, args: string[], opts: OtfOptions = {}): Promise<OtfResult> {
  return startOtf(server, args, opts).result;
}

/** Lines of output, without the final newline's empty line. */
export function linesOf(text: string): string[] {
  return text.replace(/\n$/, '').split('\n');
}

export function assertOk(res: OtfResult): void {
  assert.equal(res.code, 0, `expected exit code 0, got ${res.code}; stdout: ${res.stdout}; stderr: ${res.stderr}`);
  assert.equal(res.stderr, '', 'nothing on stderr');
}
