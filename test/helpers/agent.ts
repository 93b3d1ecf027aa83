// Runs the real otf-agent executable (bin/otf-agent) against a test server over TLS, trusting the
// suite's certificate through NODE_EXTRA_CA_CERTS, and watches what it prints.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from '../hooks.js';
import type { Json } from './api.js';
import type { TestServer } from './server.js';

const OTF_AGENT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/otf-agent');

export interface AgentExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface AgentProcess {
  child: ChildProcess;
  /** Every line it printed so far, stdout and stderr interleaved as they came. */
  lines(): string[];
  /** Its structured log lines (stdout), parsed. */
  logs(): Json[];
  /** What it printed on stderr. */
  stderr(): string;
  /** Waits for a log line matching `match` (a message, or a predicate on the parsed line) and returns it. */
  waitForLog(match: string | ((line: Json) => boolean), timeoutMs?: number): Promise<Json>;
  /** Resolves when the process has ended. */
  exited: Promise<AgentExit>;
  /** Whether it still runs. */
  running(): boolean;
  /** Output for assertion messages. */
  describe(): string;
}

const spawnedAgents: AgentProcess[] = [];

/**
 * Starts `node bin/otf-agent --address <server> ...args`. The agent gets a clean environment (no
 * OTF_ variables of the caller), the suite's certificate, and a temporary directory of its own.
 */
export function startAgent(server: Pick<TestServer, 'url'>, args: string[], env: Record<string, string> = {}): AgentProcess {
  const { tmp, certFile } = suite();
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTF_') && k !== 'DATABASE_URL'));
  const workDir = fs.mkdtempSync(path.join(tmp, 'agent-'));
  const child = spawn(
    process.execPath,
    [OTF_AGENT, '--address', server.url, '--engine-bins-dir', path.join(tmp, 'engines'), ...args],
    // Its own data dir (the outbox) unless the test gives one, so agents never share states.
    { env: { ...base, NODE_EXTRA_CA_CERTS: certFile, TMPDIR: workDir, OTF_AGENT_DATA_DIR: path.join(workDir, 'data'), ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  const parsed: Json[] = [];
  let stderr = '';
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  const split = (onLine: (line: string) => void) => {
    let pending = '';
    return (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let i: number;
      while ((i = pending.indexOf('\n')) >= 0) {
        onLine(pending.slice(0, i));
        pending = pending.slice(i + 1);
      }
    };
  };
  child.stdout!.on(
    'data',
    split((line) => {
      lines.push(line);
      try {
        parsed.push(JSON.parse(line));
      } catch {
        // not a log line
      }
      notify();
    }),
  );
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stderr!.on(
    'data',
    split((line) => {
      lines.push(line);
      notify();
    }),
  );
  const exited = new Promise<AgentExit>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve({ code, signal });
      notify();
    });
  });

  const agent: AgentProcess = {
    child,
    lines: () => [...lines],
    logs: () => [...parsed],
    stderr: () => stderr,
    exited,
    running: () => child.exitCode === null && child.signalCode === null,
    describe: () => `otf-agent (pid ${child.pid}) printed:\n${lines.join('\n')}`,
    waitForLog(match, timeoutMs = 30_000) {
      const test = typeof match === 'string' ? (l: Json) => l.msg === match : match;
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = parsed.find(test);
          if (found) return done(() => resolve(found));
          if (!agent.running()) done(() => reject(new Error(`otf-agent exited (${child.exitCode ?? child.signalCode}) before logging ${String(match)}\n${agent.describe()}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for otf-agent to log ${String(match)}\n${agent.describe()}`))), timeoutMs);
        const done = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
  };
  spawnedAgents.push(agent);
  return agent;
}

/** Kills (SIGKILL) the agents a test started and left running, and waits for them to end. */
export async function killLeftoverAgents(): Promise<void> {
  const left = spawnedAgents.splice(0);
  for (const a of left) if (a.running()) a.child.kill('SIGKILL');
  await Promise.all(left.map((a) => a.exited));
}
