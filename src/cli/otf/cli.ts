// otf's command line: global flags (--address, --token, --json, --help) anywhere, then
// "<noun> <verb>" and the verb's arguments and flags. Exit codes: 0 done, 1 a failure (one line on
// stderr), 2 a command line that makes no sense (one line on stderr).
import { Client, normalizeAddress } from './client.js';
import { argsUsage, CliError, Flags, UsageError, type Command, type Context, type FlagSpec, type Noun } from './command.js';
import { Output, table, type Sink } from './output.js';

export interface Io {
  stdout: Sink;
  stderr: Sink;
  env: NodeJS.ProcessEnv;
  stdin(): Promise<string>;
}

const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'address', value: '<url>', help: 'where otfd is: https://host[:port], http://host[:port], or host[:port] meaning HTTPS (env OTF_ADDRESS)' },
  { name: 'token', value: '<token>', help: 'an API token: the site token, or an organization, team or user token (env OTF_TOKEN)' },
  { name: 'json', help: 'print the JSON:API resources (an array for lists) instead of tables' },
  { name: 'help', help: 'show help for otf, a noun or a command' },
];

interface Parsed {
  noun?: Noun;
  command?: Command;
  args: string[];
  flags: Map<string, string[]>;
}

function flagUsage(flags: FlagSpec[]): string[] {
  const rows = flags.map((f) => {
    const left = `  --${f.name}${f.value ? ` ${f.value}` : ''}${f.name === 'help' ? ', -h' : ''}`;
    const extra = [f.required ? 'required' : '', f.repeatable ? 'repeatable' : '', f.choices ? `one of ${f.choices.join(', ')}` : ''].filter(Boolean);
    return [left, `${f.help}${extra.length ? ` (${extra.join('; ')})` : ''}`];
  });
  return table(['', ''], rows).split('\n').slice(1, -1);
}

/** "otf workspaces list --organization <org>": the arguments and required flags of a command. */
function commandLine(noun: Noun, cmd: Command): string {
  const parts = [`otf ${noun.name} ${cmd.verb}`, argsUsage(cmd), ...(cmd.flags ?? []).filter((f) => f.required).map((f) => `--${f.name} ${f.value ?? ''}`.trim())];
  return parts.filter(Boolean).join(' ');
}

function commandRows(nouns: Noun[]): string[] {
  const rows = nouns.flatMap((n) => n.commands.map((c) => [`  ${commandLine(n, c).slice(4)}`, c.summary]));
  return table(['', ''], rows).split('\n').slice(1, -1);
}

export function globalHelp(nouns: Noun[]): string {
  return [
    'otf: manage an otfd server (organizations, workspaces, runs, state, variables, agent pools, users and teams) over its API.',
    '',
    'Usage: otf <noun> <verb> [arguments] [flags]',
    '',
    'Commands:',
    ...commandRows(nouns),
    '',
    'Global flags (on every command):',
    ...flagUsage(GLOBAL_FLAGS),
    '',
    'A flag beats its environment variable. "otf <noun> --help" and "otf <noun> <verb> --help" say more.',
  ].join('\n');
}

function nounHelp(noun: Noun): string {
  return [`otf ${noun.name}: ${noun.summary}`, '', `Usage: otf ${noun.name} <verb> [arguments] [flags]`, '', 'Commands:', ...commandRows([noun]), '', 'Global flags:', ...flagUsage(GLOBAL_FLAGS)].join('\n');
}

function commandHelp(noun: Noun, cmd: Command): string {
  const lines = [`Usage: ${commandLine(noun, cmd)}${cmd.flags?.some((f) => !f.required) ? ' [flags]' : ''}`, '', `${cmd.summary}.`];
  if (cmd.details) lines.push('', cmd.details);
  if (cmd.flags?.length) lines.push('', 'Flags:', ...flagUsage(cmd.flags));
  lines.push('', 'Global flags:', ...flagUsage(GLOBAL_FLAGS));
  return lines.join('\n');
}

/** Splits the command line; global flags may come anywhere, the verb's own flags after the verb. */
function parse(argv: string[], nouns: Noun[]): Parsed {
  const out: Parsed = { args: [], flags: new Map() };
  let positionalOnly = false;
  const specs = () => [...GLOBAL_FLAGS, ...(out.command?.flags ?? [])];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const isFlag = !positionalOnly && (arg.startsWith('--') || arg === '-h');
    if (!positionalOnly && arg === '--') {
      positionalOnly = true;
      continue;
    }
    if (isFlag) {
      const eq = arg.indexOf('=');
      const name = arg === '-h' ? 'help' : eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const spec = specs().find((f) => f.name === name);
      if (!spec) {
        const where = out.command ? `otf ${out.noun!.name} ${out.command.verb}` : 'otf';
        throw new UsageError(`unknown flag --${name} for ${where} (see ${where} --help)`);
      }
      let value: string;
      if (spec.value) {
        if (eq !== -1) value = arg.slice(eq + 1);
        else if (i + 1 < argv.length) value = argv[++i];
        else throw new UsageError(`flag --${name} needs a value ${spec.value}`);
        if (spec.choices && !spec.choices.includes(value)) throw new UsageError(`--${name}: "${value}" is not one of ${spec.choices.join(', ')}`);
      } else if (eq !== -1) {
        const v = arg.slice(eq + 1);
        if (/^(true|1|yes|on)$/i.test(v)) value = 'true';
        else if (/^(false|0|no|off)$/i.test(v)) value = 'false';
        else throw new UsageError(`--${name} is a switch: "${v}" is neither true nor false`);
      } else {
        value = 'true';
      }
      const list = out.flags.get(name) ?? [];
      out.flags.set(name, spec.repeatable ? [...list, value] : [value]);
      continue;
    }
    if (!out.noun) {
      out.noun = nouns.find((n) => n.name === arg);
      if (!out.noun) throw new UsageError(`unknown command "${arg}" (see otf --help)`);
    } else if (!out.command) {
      out.command = out.noun.commands.find((c) => c.verb === arg);
      if (!out.command) throw new UsageError(`unknown command "${out.noun.name} ${arg}" (see otf ${out.noun.name} --help)`);
    } else {
      out.args.push(arg);
    }
  }
  return out;
}

/** Checks the number of arguments and the required flags of a command. */
function check(noun: Noun, cmd: Command, args: string[], flags: Map<string, string[]>): void {
  const specs = cmd.args ?? [];
  const usage = `usage: ${commandLine(noun, cmd)}${cmd.flags?.some((f) => !f.required) ? ' [flags]' : ''}`;
  const required = specs.filter((a) => !a.optional).length;
  if (args.length < required) {
    const missing = specs.filter((a) => !a.optional)[args.length];
    throw new UsageError(`missing ${missing.name} (${usage})`);
  }
  if (!specs.some((a) => a.variadic) && args.length > specs.length) {
    throw new UsageError(`unexpected argument "${args[specs.length]}" (${usage})`);
  }
  for (const f of cmd.flags ?? []) {
    if (f.required && !flags.has(f.name)) throw new UsageError(`--${f.name} is required (${usage})`);
  }
}

function oneLine(message: string): string {
  return message.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** Runs otf with these arguments; resolves with its exit code. Never throws. */
export async function runCli(argv: string[], nouns: Noun[], io: Io): Promise<number> {
  let client: Client | null = null;
  try {
    const parsed = parse(argv, nouns);
    const { noun, command, args, flags } = parsed;
    if (flags.has('help') || !noun || !command) {
      const text = command && noun ? commandHelp(noun, command) : noun ? nounHelp(noun) : globalHelp(nouns);
      io.stdout.write(`${text}\n`);
      return 0;
    }
    check(noun, command, args, flags);
    const json = flags.get('json')?.[0] === 'true';
    const pick = (flag: string, variable: string) => flags.get(flag)?.[0] ?? (io.env[variable] || undefined);
    const ctx: Context = {
      api() {
        if (client) return client;
        const address = pick('address', 'OTF_ADDRESS');
        if (!address) throw new CliError('--address (or OTF_ADDRESS) is required: where otfd is, e.g. https://otf.example.com');
        const token = pick('token', 'OTF_TOKEN');
        if (!token) throw new CliError('--token (or OTF_TOKEN) is required: an API token of otfd');
        client = new Client(normalizeAddress(address), token);
        return client;
      },
      out: new Output(io.stdout, json),
      stderr: io.stderr,
      json,
      args,
      flags: new Flags(flags),
      stdin: io.stdin,
    };
    // Address and token are checked before any work, even by commands that read stdin first.
    ctx.api();
    return (await command.run(ctx)) ?? 0;
  } catch (err) {
    const code = err instanceof UsageError ? 2 : 1;
    const message = err instanceof Error ? err.message || err.name : String(err);
    io.stderr.write(`otf: ${oneLine(message)}\n`);
    return code;
  } finally {
    (client as Client | null)?.close();
  }
}
