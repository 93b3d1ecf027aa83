// otf-agent's configuration: the flags of ../shared/CONTRACT.md, each also settable as
// OTF_AGENT_<FLAG>.
import os from 'node:os';
import path from 'node:path';
import { AGENT_NAME, AGENT_NAME_RULE } from '../protocol/agent.js';
import { collectFlags, ConfigError, existingDirectory, expandHome, LOG_LEVELS, oneOf, parseBool, parseInteger, positiveDuration, usageOf, type FlagSpec, type LogLevel } from '../flags.js';

export interface AgentConfig {
  token: string;
  /** https://host[:port] or http://host[:port], without a trailing slash */
  address: string;
  name: string | null;
  concurrency: number;
  disconnectAfterJob: boolean;
  /** 0: never */
  idleTimeoutSeconds: number;
  engineBinsDir: string;
  /** Where the agent keeps what must outlive it: the outbox of states not yet acknowledged. */
  dataDir: string;
  /** How long a state is offered to otfd before the agent stops trying (keeping the file). */
  stateRetryHours: number;
  logLevel: LogLevel;
  /** Where agent hooks are (terraform-pre-plan, ...); null: none (docs/timeouts-and-hooks.md). */
  hooksDir: string | null;
  /** How long one hook may run before it is killed and its phase fails. */
  hookTimeoutMs: number;
}

export const AGENT_FLAGS: FlagSpec[] = [
  { name: 'token', help: 'an agent token of the pool this agent joins', default: 'required' },
  { name: 'address', help: 'where otfd is: https://host[:port], http://..., or host[:port] (HTTPS)', default: 'required' },
  { name: 'name', help: "the agent's name, 8 to 80 letters, digits, -, _ or .", default: 'random' },
  { name: 'concurrency', help: 'jobs run at once', default: '1' },
  { name: 'disconnect-after-job', boolean: true, help: 'run one job, then deregister and exit 0', default: 'off' },
  { name: 'idle-timeout', help: 'seconds without a job after which the agent deregisters and exits 0; 0: never', default: '0' },
  { name: 'engine-bins-dir', help: 'where engine binaries are kept', default: '~/.cache/otf/engines' },
  { name: 'data-dir', help: 'where states wait until otfd has acknowledged them (outbox/)', default: '~/.local/share/otf-agent' },
  { name: 'state-retry-hours', help: 'hours a state is offered to otfd before the agent stops trying (the file stays)', default: '24' },
  { name: 'log-level', help: 'debug, info, warn or error', default: 'info' },
  { name: 'hooks-dir', help: 'a directory of agent hooks: terraform-pre-plan, terraform-post-plan, terraform-pre-apply, terraform-post-apply', default: 'none' },
  { name: 'hook-timeout', help: 'how long one hook may run before it is killed and its phase fails (e.g. 90s, 10m)', default: '10m' },
];

export const AGENT_ENV_PREFIX = 'OTF_AGENT_';

export function agentUsage(): string {
  return usageOf('otf-agent', AGENT_ENV_PREFIX, AGENT_FLAGS);
}

/** A bare host[:port] means HTTPS. */
export function normalizeAddress(raw: string): string {
  const withScheme = /^https?:\/\//i.test(raw) ? raw : `https://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(`--address: "${raw}" is not https://host[:port], http://host[:port] or host[:port]`);
  }
  if (url.pathname !== '/' || url.search || url.username) {
    throw new ConfigError(`--address: "${raw}" must be only a scheme, a host and a port`);
  }
  return `${url.protocol}//${url.host}`;
}

export function parseAgentConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): AgentConfig | null {
  const v = collectFlags(AGENT_FLAGS, AGENT_ENV_PREFIX, argv, env);
  if (!v) return null;
  const token = v.get('token');
  if (!token) throw new ConfigError('--token is required: an agent token of the pool this agent joins');
  const address = v.get('address');
  if (!address) throw new ConfigError('--address is required: where otfd is');
  const name = v.get('name') ?? null;
  if (name !== null && !AGENT_NAME.test(name)) throw new ConfigError(`--name: "${name}" ${AGENT_NAME_RULE}`);
  const disconnectAfterJob = v.has('disconnect-after-job') ? parseBool('disconnect-after-job', v.get('disconnect-after-job')!) : false;
  return {
    token,
    address: normalizeAddress(address),
    name,
    concurrency: disconnectAfterJob ? 1 : parseInteger('concurrency', v.get('concurrency') ?? '1', 1, 64),
    disconnectAfterJob,
    idleTimeoutSeconds: parseInteger('idle-timeout', v.get('idle-timeout') ?? '0', 0, 31_536_000),
    engineBinsDir: path.resolve(expandHome(v.get('engine-bins-dir') ?? path.join(os.homedir(), '.cache/otf/engines'))),
    dataDir: path.resolve(expandHome(v.get('data-dir') ?? path.join(os.homedir(), '.local/share/otf-agent'))),
    stateRetryHours: parseInteger('state-retry-hours', v.get('state-retry-hours') ?? '24', 1, 24 * 365),
    logLevel: oneOf('log-level', v.get('log-level') ?? 'info', LOG_LEVELS),
    hooksDir: v.has('hooks-dir') ? existingDirectory('hooks-dir', v.get('hooks-dir')!) : null,
    hookTimeoutMs: positiveDuration('hook-timeout', v.get('hook-timeout') ?? '10m', 24 * 3_600_000),
  };
}
