// A git server over SSH on localhost, for runs that fetch git::ssh:// modules: ssh2's Server on a
// random port with a host key made for it, letting in one client key, and running nothing but
// `git-upload-pack '<path>'` (what a clone asks for) on repositories under the folder it serves.
// Needs only Node and git, like the rest of `npm test`.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';

const { Server, utils } = ssh2;

export interface SshGitServer {
  port: number;
  /** The folder whose repositories it serves; a URL's path is relative to it. */
  root: string;
  /** Every command clients asked to run, accepted or not, in order. */
  commands: string[];
  /** How many clients authenticated with the authorized key. */
  authenticated: number;
  /**
   * Makes the commands asked for from now on wait before they run, until the returned function is
   * called: a fetch then hangs where a test wants it to.
   */
  hold(): () => void;
  stop(): Promise<void>;
}

/** A new key pair in OpenSSH form: the private key a workspace gets, the public key a server lets in. */
export function generateKeyPair(): { privateKey: string; publicKey: string } {
  const pair = utils.generateKeyPairSync('ed25519');
  return { privateKey: pair.private, publicKey: pair.public };
}

/** The path of `git-upload-pack '<path>'` (git quotes it so), or null for any other command. */
export function uploadPackPath(command: string): string | null {
  const m = /^git-upload-pack '([^']+)'$/.exec(command.trim());
  return m ? m[1] : null;
}

/** The repository a path names inside root, or null when it is outside root or not a repository. */
function repositoryIn(root: string, requested: string): string | null {
  const resolved = path.resolve(root, `.${path.posix.normalize(`/${requested}`)}`);
  if (resolved !== root && !resolved.startsWith(root + path.sep)) return null;
  return fs.existsSync(resolved) ? resolved : null;
}

/** Starts the server, letting in only `authorizedKey` (an OpenSSH public key), serving `root`. */
export async function startSshGitServer(opts: { authorizedKey: string; root: string }): Promise<SshGitServer> {
  const allowed = utils.parseKey(opts.authorizedKey);
  if (allowed instanceof Error) throw allowed;
  const allowedKey = Array.isArray(allowed) ? allowed[0] : allowed;
  const root = fs.realpathSync(opts.root);
  const hostKey = utils.generateKeyPairSync('ed25519').private;
  const commands: string[] = [];
  const state = { authenticated: 0 };
  let gate: Promise<void> = Promise.resolve();

  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const sameKey = ctx.key.algo === allowedKey.type && Buffer.from(ctx.key.data).equals(allowedKey.getPublicSSH());
      if (!sameKey) return ctx.reject(['publickey']);
      // Without a signature the client only asks whether the key would do.
      if (!ctx.signature || !ctx.blob) return ctx.accept();
      if (allowedKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
      state.authenticated++;
      ctx.accept();
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        const env: Record<string, string> = {};
        session.on('env', (accept, _reject, info) => {
          if (info.key === 'GIT_PROTOCOL') env.GIT_PROTOCOL = info.val;
          accept?.();
        });
        session.on('exec', async (accept, _reject, info) => {
          commands.push(info.command);
          const requested = uploadPackPath(info.command);
          const repo = requested === null ? null : repositoryIn(root, requested);
          if (!repo) {
            const channel = accept();
            channel.stderr.write(`this server runs only git-upload-pack on a repository it serves, not: ${info.command}\n`);
            channel.exit(1);
            channel.end();
            return;
          }
          const channel = accept();
          await gate;
          const child = spawn('git-upload-pack', [repo], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
          channel.pipe(child.stdin);
          child.stdout.pipe(channel, { end: false });
          child.stderr.pipe(channel.stderr, { end: false });
          child.stdin.on('error', () => undefined); // the client may hang up first
          child.on('close', (code) => {
            channel.exit(code ?? 1);
            channel.end();
          });
        });
      });
    });
    client.on('error', () => undefined); // a client that goes away mid-handshake is not the server's failure
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    root,
    commands,
    get authenticated() {
      return state.authenticated;
    },
    hold() {
      let release = () => {};
      gate = new Promise<void>((resolve) => (release = resolve));
      return () => {
        gate = Promise.resolve();
        release();
      };
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A git repository at root/<name> holding the files given (path to content), committed on branch
 * main. Returns its path inside root, as a git::ssh:// URL names it.
 */
export function createGitRepository(root: string, name: string, files: Record<string, string>): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: os.tmpdir(), GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'otf', GIT_AUTHOR_EMAIL: 'otf@example.com', GIT_COMMITTER_NAME: 'otf', GIT_COMMITTER_EMAIL: 'otf@example.com' },
      stdio: 'pipe',
    });
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-q', '-m', 'module');
  return `/${name}`;
}
