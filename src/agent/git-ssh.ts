// The ssh program of runs: git runs it (GIT_SSH_COMMAND, set by the runner) to fetch git::ssh://
// modules with the workspace's SSH key. It is ours, in Node with ssh2, so that a runner needs no
// system ssh: it takes the arguments git passes to an OpenSSH-like program
//
//   git-ssh.js [-i keyfile] [-p port] [-o option]... [-4|-6] [user@]host command...
//
// authenticates with the key file, runs the command on the server and joins its stdin, stdout,
// stderr and exit code to its own. Host keys are not checked (there is no known_hosts to check
// them against): like the modules' URLs, the servers are the configuration's choice.
//
// It never prints the key: its errors name the file and what went wrong, not what is in it.
import fs from 'node:fs';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
// ssh2 is CommonJS: its names come off the default export.
import ssh2 from 'ssh2';

const { Client, utils } = ssh2;

/** What a failure of ssh itself exits with (as OpenSSH does), so git tells it from the command's. */
const SSH_FAILED = 255;

export interface SshArguments {
  keyFile: string | null;
  port: number;
  user: string;
  host: string;
  command: string;
}

/** Reads git's arguments; an Error says what is wrong with them. */
export function parseArguments(argv: string[], defaultUser = os.userInfo().username): SshArguments | Error {
  let keyFile: string | null = null;
  let port = 22;
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    const flag = argv[i];
    if (flag === '-4' || flag === '-6') continue;
    const value = argv[++i];
    if (value === undefined) return new Error(`option ${flag} needs a value`);
    if (flag === '-i') keyFile = value;
    else if (flag === '-p') {
      port = Number(value);
      if (!Number.isInteger(port) || port < 1 || port > 65535) return new Error(`bad port "${value}"`);
    } else if (flag !== '-o') return new Error(`unknown option ${flag}`);
    // -o: git asks for SendEnv=GIT_PROTOCOL, which exec() below does by itself; others do not apply.
  }
  const destination = argv[i];
  const command = argv.slice(i + 1).join(' ');
  if (!destination || !command) return new Error('usage: git-ssh [-i keyfile] [-p port] [-o option] [user@]host command');
  const at = destination.lastIndexOf('@');
  return {
    keyFile,
    port,
    user: at >= 0 ? destination.slice(0, at) : defaultUser,
    host: destination.slice(at + 1).replace(/^\[(.*)\]$/, '$1'),
    command,
  };
}

function fail(message: string): never {
  process.stderr.write(`otf git-ssh: ${message}\n`);
  process.exit(SSH_FAILED);
}

function main(): void {
  const args = parseArguments(process.argv.slice(2));
  if (args instanceof Error) fail(args.message);
  if (!args.keyFile) {
    fail(
      `cannot fetch from ${args.host} over SSH: this workspace has no SSH key. Assign one of the organization's SSH keys to the workspace (PATCH /api/v2/workspaces/:id/relationships/ssh-key) to fetch git::ssh:// modules.`,
    );
  }
  let privateKey: Buffer;
  try {
    privateKey = fs.readFileSync(args.keyFile);
  } catch (err) {
    fail(`cannot read the SSH key file ${args.keyFile}: ${(err as Error).message}`);
  }
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error) {
    fail(`the workspace's SSH key is not a private key that can be used (${parsed.message}); replace its value with an unencrypted private key in OpenSSH or PEM form`);
  }

  const conn = new Client();
  let exitCode = SSH_FAILED;
  conn.on('error', (err) => fail(`cannot connect to ${args.user}@${args.host}:${args.port}: ${err.message}`));
  conn.on('ready', () => {
    const env = process.env.GIT_PROTOCOL ? { GIT_PROTOCOL: process.env.GIT_PROTOCOL } : undefined;
    conn.exec(args.command, env ? { env } : {}, (err, stream) => {
      if (err) fail(`cannot run the command on ${args.host}: ${err.message}`);
      process.stdin.pipe(stream);
      stream.pipe(process.stdout);
      stream.stderr.pipe(process.stderr);
      stream.on('exit', (code: number | null, signal?: string) => {
        exitCode = code ?? (signal ? SSH_FAILED : 0);
      });
      stream.on('close', () => {
        process.stdin.unpipe(stream);
        process.stdin.destroy();
        conn.end();
        // What the command wrote must reach git before this process goes.
        process.stdout.write('', () => process.exit(exitCode));
      });
    });
  });
  conn.connect({
    host: args.host,
    port: args.port,
    username: args.user,
    privateKey,
    hostVerifier: () => true,
    readyTimeout: 30_000,
  });
}

// Run as a program (by git), not when imported (by tests of parseArguments).
if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) main();
