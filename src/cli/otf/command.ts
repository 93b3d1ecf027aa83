// The shape of otf's commands. A noun (organizations, workspaces, ...) holds verbs; each verb
// declares its arguments and flags, from which otf parses the command line and writes its help, and
// a run function. Adding a noun is writing one of these and listing it in nouns.ts.
import type { Client } from './client.js';
import type { Output, Sink } from './output.js';

/** A failure to report: one line on stderr, exit code 1. */
export class CliError extends Error {}

/** A command line otf cannot make sense of: one line on stderr, exit code 2. */
export class UsageError extends Error {}

export interface ArgSpec {
  /** As the help shows it: "<org>/<ws>", "<name>". */
  name: string;
  optional?: boolean;
  /** Takes every remaining argument (at least one unless optional). */
  variadic?: boolean;
}

export interface FlagSpec {
  name: string;
  /** The placeholder of its value ("<email>"); a flag without one is a switch. */
  value?: string;
  help: string;
  required?: boolean;
  /** May be given more than once; every value is kept. */
  repeatable?: boolean;
  /** Allowed values, checked before anything is sent. */
  choices?: readonly string[];
}

/** Flags as given: switches map to "true", repeated flags keep every value. */
export class Flags {
  constructor(private readonly values: Map<string, string[]>) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  get(name: string): string | undefined {
    const all = this.values.get(name);
    return all?.[all.length - 1];
  }

  all(name: string): string[] {
    return this.values.get(name) ?? [];
  }

  on(name: string): boolean {
    return this.get(name) === 'true';
  }
}

export interface Context {
  /** The client, made on first use from --address and --token (which it requires). */
  api(): Client;
  out: Output;
  /** Standard error, for what is neither a result nor an error (run logs with --json). */
  stderr: Sink;
  /** --json: print JSON:API resources for scripts. */
  json: boolean;
  args: string[];
  flags: Flags;
  /** Reads standard input to its end (variables set <key> -). */
  stdin(): Promise<string>;
}

export interface Command {
  verb: string;
  summary: string;
  args?: ArgSpec[];
  flags?: FlagSpec[];
  /** Longer help, shown by --help on the command. */
  details?: string;
  /** Resolves with the exit code; undefined means 0. */
  run(ctx: Context): Promise<number | void>;
}

export interface Noun {
  name: string;
  summary: string;
  commands: Command[];
}

/** "<org>/<ws> <key> <value>": the arguments of a command as its usage line shows them. */
export function argsUsage(cmd: Command): string {
  return (cmd.args ?? [])
    .map((a) => {
      const name = a.variadic ? `${a.name}...` : a.name;
      return a.optional ? `[${name}]` : name;
    })
    .join(' ');
}
