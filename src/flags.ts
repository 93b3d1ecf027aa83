// Command-line flags shared by otfd and otf-agent: each flag can also be set through an
// environment variable, <PREFIX> + the flag in upper snake case; a flag beats its variable.
// Invalid values raise ConfigError, which the commands print as one line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class ConfigError extends Error {}

export interface FlagSpec {
  name: string;
  boolean?: boolean;
  help: string;
  default: string;
}

export function envNameOf(prefix: string, flag: string): string {
  return prefix + flag.toUpperCase().replace(/-/g, '_');
}

export function usageOf(command: string, prefix: string, flags: FlagSpec[]): string {
  const lines = [`Usage: ${command} [flags]`, '', `Flags (each also settable as ${prefix}<FLAG>):`];
  for (const f of flags) {
    const left = `  --${f.name}${f.boolean ? '' : ' <value>'}`;
    lines.push(`${left.padEnd(28)} ${f.help} (default: ${f.default}; ${envNameOf(prefix, f.name)})`);
  }
  return lines.join('\n');
}

/** Reads flags, then variables, into raw strings. Returns null when --help was asked for. */
export function collectFlags(flags: FlagSpec[], prefix: string, argv: string[], env: NodeJS.ProcessEnv): Map<string, string> | null {
  const byName = new Map(flags.map((f) => [f.name, f]));
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return null;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}" (flags start with --; see --help)`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const spec = byName.get(name);
    if (!spec) throw new ConfigError(`unknown flag --${name} (see --help)`);
    if (eq !== -1) {
      values.set(name, arg.slice(eq + 1));
    } else if (spec.boolean) {
      values.set(name, 'true');
    } else {
      if (i + 1 >= argv.length) throw new ConfigError(`flag --${name} needs a value`);
      values.set(name, argv[++i]);
    }
  }
  for (const f of flags) {
    const v = env[envNameOf(prefix, f.name)];
    if (!values.has(f.name) && v !== undefined && v !== '') values.set(f.name, v);
  }
  return values;
}

export function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

export function parseBool(name: string, v: string): boolean {
  if (/^(true|1|yes|on)$/i.test(v)) return true;
  if (/^(false|0|no|off)$/i.test(v)) return false;
  throw new ConfigError(`--${name}: "${v}" is not a boolean (use true or false)`);
}

export function parseInteger(name: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new ConfigError(`--${name}: "${v}" is not a whole number from ${min} to ${max}`);
  }
  return Number(v);
}

export function oneOf<T extends string>(name: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) {
    throw new ConfigError(`--${name}: "${v}" is not one of ${allowed.join(', ')}`);
  }
  return v as T;
}

export function readableFile(name: string, p: string): string {
  try {
    fs.accessSync(p, fs.constants.R_OK);
    if (!fs.statSync(p).isFile()) throw new Error('not a file');
  } catch {
    throw new ConfigError(`--${name}: cannot read file "${p}"`);
  }
  return p;
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const DURATION_UNITS: Record<string, number> = { '': 1000, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as 30s, 500ms, 10m, 1h or 400d; a bare number is seconds. In milliseconds. */
export function parseDuration(name: string, v: string, maxMs: number): number {
  const m = /^(\d+)\s*(ms|s|m|h|d|)$/i.exec(v.trim());
  const ms = m ? Number(m[1]) * DURATION_UNITS[m[2].toLowerCase()] : NaN;
  if (!Number.isSafeInteger(ms) || ms > maxMs) {
    throw new ConfigError(`--${name}: "${v}" is not a duration (a whole number with ms, s, m, h or d, at most ${maxMs / 3_600_000} h)`);
  }
  return ms;
}

/** A duration as parseDuration reads it, more than 0. */
export function positiveDuration(name: string, v: string, maxMs: number): number {
  const ms = parseDuration(name, v, maxMs);
  if (ms <= 0) throw new ConfigError(`--${name}: must be more than 0`);
  return ms;
}

/** A directory that must exist (a typo must not silently turn off what it holds). */
export function existingDirectory(name: string, p: string): string {
  const dir = path.resolve(expandHome(p));
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new ConfigError(`--${name}: "${p}" is not a directory`);
  return dir;
}
