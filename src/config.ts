// otfd configuration: every flag of ../shared/CONTRACT.md, each also settable through OTF_<FLAG>.
// A flag beats its variable. Invalid values raise ConfigError, which the CLI prints as one line.
import fs from 'node:fs';
import path from 'node:path';
import { cronProblem } from './cron.js';
import {
  collectFlags,
  ConfigError,
  envNameOf,
  existingDirectory,
  expandHome,
  LOG_LEVELS,
  oneOf,
  parseBool,
  parseDuration,
  parseInteger,
  positiveDuration,
  readableFile,
  usageOf,
  type FlagSpec,
  type LogLevel,
} from './flags.js';

import { MAX_TIMEOUT_SECONDS } from './timeouts.js';

export { ConfigError } from './flags.js';
export type { LogLevel } from './flags.js';
export type Engine = 'terraform' | 'tofu';

export interface Config {
  /** Listen host ('' means every interface) and port (0 picks a free one). */
  listenHost: string;
  listenPort: number;
  /** host[:port] users reach; null means "the listen address". */
  hostname: string | null;
  /** PostgreSQL connection string; null starts the embedded PostgreSQL. */
  database: string | null;
  dataDir: string;
  siteToken: string | null;
  secret: string | null;
  ssl: boolean;
  certFile: string | null;
  keyFile: string | null;
  concurrency: number;
  defaultEngine: Engine;
  engineBinsDir: string;
  logLevel: LogLevel;
  /** Largest configuration tarball accepted, packed and unpacked, in bytes. */
  maxConfigSize: number;
  /** How often pool agents report; three missed reports make an agent unknown. */
  agentHeartbeatSeconds: number;
  /** How long an agent may be silent before it is errored and its jobs fail. */
  agentGracePeriodSeconds: number;
  /** Longest a single SQL statement may run before PostgreSQL cancels it; 0 means no limit. */
  statementTimeoutMs: number;
  /** How long a SIGTERM waits for running server-agent jobs before it cancels them. */
  shutdownTimeoutMs: number;
  /** Failed authentications per client address and minute before 429s; 0 turns the limit off. */
  authFailureLimit?: number;
  /** How long after a cancel request force-cancel becomes available (default 10 s). */
  forceCancelCoolOffMs?: number;
  /** How long a web UI session lasts from sign-in (default 24 h). */
  sessionLifetimeMs?: number;
  /** How often the web UI's event streams gather their visitors' rights again (default 30 s; no flag: tests shorten it). */
  streamRecheckMs?: number;
  /** Single sign-on in the web UI through an OpenID Connect provider; null (or absent) for none. */
  oidc?: OidcConfig | null;
  /** Whether notifications may go to private, loopback and link-local addresses (default no). */
  notificationAllowPrivateAddresses?: boolean;
  /** The SMTP server email notifications go through; null (or absent) for none. */
  smtp?: SmtpConfig | null;
  /** How long one notification delivery attempt may take, and the waits before its retries (no flags: tests shorten them). */
  notificationTimeoutMs?: number;
  notificationRetryDelaysMs?: number[];
  /** The site's plan and apply timeouts, for organizations and workspaces that set none (default 2 h each). */
  planTimeoutSeconds?: number;
  applyTimeoutSeconds?: number;
  /**
   * How long past its timeout a running job may go without its runner reporting before otfd ends
   * it itself (the runner hung or lost). No flag: the default (the runner's kill grace plus a
   * minute) fits everyone; tests shorten it.
   */
  timeoutBackstopMarginMs?: number;
  /** Where the server agent finds agent hooks (terraform-pre-plan, ...); null (or absent): no hooks. */
  serverAgentHooksDir?: string | null;
  /** How long one hook may run before it is killed (default 10 min). */
  hookTimeoutMs?: number;
  /** Where blobs (state files, configuration tarballs, plans) are kept; absent means PostgreSQL. */
  blobStore?: BlobStoreConfig;
  /** --audit-retention: how long audit trail events are kept, in milliseconds; null (or absent) keeps them forever. */
  auditRetentionMs?: number | null;
  /** --assessments-schedule: when health assessments are due, a cron expression (default daily). */
  assessmentsSchedule?: string;
  /** How often the assessment scheduler looks for due workspaces (default 30 s; no flag: tests shorten it). */
  assessmentsTickMs?: number;
}

export interface SmtpConfig {
  host: string;
  port: number;
  user: string | null;
  /** A secret: never logged. */
  password: string | null;
  from: string;
  /** none: plain SMTP; starttls: the connection must be upgraded (default); tls: TLS from the start (port 465). */
  tls: 'none' | 'starttls' | 'tls';
}

/** --blob-store and its --s3-* flags. */
export type BlobStoreConfig =
  | { kind: 'postgres' }
  | {
      kind: 's3';
      bucket: string;
      /** null: AWS's own endpoint for the region */
      endpoint: string | null;
      region: string;
      pathStyle: boolean;
      /** prepended to every key; '' for none */
      prefix: string;
    };

export interface OidcConfig {
  /** The provider's issuer URL; its /.well-known/openid-configuration is read at start. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The claim that names the user (its value becomes the username). */
  usernameClaim: string;
  /** A claim listing group names: a group named like a team of an organization makes the user a member of it. Null for none. */
  teamsClaim: string | null;
  /** The scopes asked for at sign-in (--oidc-scopes), "openid" among them. */
  scopes: string[];
  /** What the sign-in button says: "Sign in with <name>". */
  name: string;
}

export const FLAGS: FlagSpec[] = [
  { name: 'address', help: 'listen address, host:port', default: 'localhost:8080' },
  { name: 'hostname', help: 'the host[:port] users reach; used to build absolute URLs', default: 'the listen address' },
  { name: 'database', help: 'PostgreSQL connection string (DATABASE_URL is read as well)', default: 'embedded PostgreSQL' },
  { name: 'data-dir', help: 'where the embedded PostgreSQL and generated secrets live', default: '~/.local/share/otf' },
  { name: 'site-token', help: 'a bearer token with site-admin rights over the whole API', default: 'none' },
  { name: 'secret', help: 'key for signed URLs and secrets at rest; the same on every replica', default: 'generated in the data dir' },
  { name: 'ssl', boolean: true, help: 'serve HTTPS (needs --cert-file and --key-file)', default: 'off' },
  { name: 'cert-file', help: 'TLS certificate (PEM)', default: 'none' },
  { name: 'key-file', help: 'TLS private key (PEM)', default: 'none' },
  { name: 'concurrency', help: 'jobs the built-in server agent runs at once; 0 turns it off', default: '5' },
  { name: 'default-engine', help: 'terraform or tofu', default: 'terraform' },
  { name: 'engine-bins-dir', help: 'where engine binaries are kept', default: '~/.cache/otf/engines' },
  { name: 'log-level', help: 'debug, info, warn or error', default: 'info' },
  { name: 'max-config-size', help: 'largest configuration upload, packed or unpacked (bytes, or with KiB, MiB, GiB)', default: '100MiB' },
  { name: 'agent-heartbeat-interval', help: 'seconds between pool agents\' heartbeats; 3 missed make an agent unknown', default: '5' },
  { name: 'agent-grace-period', help: 'seconds of silence after which a pool agent is errored and its runs fail', default: '60' },
  { name: 'statement-timeout', help: 'longest one SQL statement may run (e.g. 30s, 2m; 0 for none)', default: '30s' },
  { name: 'shutdown-timeout', help: 'on SIGTERM, how long running server-agent jobs may take to finish before they are canceled', default: '10m' },
  { name: 'auth-failure-limit', help: 'failed authentications per client address and minute before otfd answers 429; 0 turns it off', default: '30' },
  { name: 'force-cancel-cool-off', help: 'how long after a cancel request force-cancel of the run becomes available', default: '10s' },
  { name: 'session-lifetime', help: 'how long a web UI session lasts from sign-in (e.g. 12h, 30m)', default: '24h' },
  { name: 'oidc-issuer', help: 'issuer URL of an OpenID Connect provider for single sign-on in the web UI', default: 'none' },
  { name: 'oidc-client-id', help: 'the client id otfd has at the OpenID Connect provider', default: 'none' },
  { name: 'oidc-client-secret', help: 'the client secret otfd has at the OpenID Connect provider', default: 'none' },
  { name: 'oidc-username-claim', help: 'the ID token claim whose value becomes the username', default: 'preferred_username' },
  { name: 'oidc-teams-claim', help: 'an ID token claim listing groups; a group named like a team makes the user its member', default: 'none' },
  { name: 'oidc-scopes', help: 'the scopes otfd asks the OpenID Connect provider for, separated by spaces or commas (add the one that brings the teams claim, if your provider needs one)', default: 'openid profile email' },
  { name: 'oidc-name', help: 'the provider\'s name on the sign-in button', default: 'single sign-on' },
  { name: 'notification-allow-private-addresses', boolean: true, help: 'let notifications go to private, loopback and link-local addresses (refused by default: workspace admins choose the URLs)', default: 'off' },
  { name: 'smtp-host', help: 'SMTP server for email notifications', default: 'none (email notifications fail)' },
  { name: 'smtp-port', help: 'port of the SMTP server', default: '587 (465 with --smtp-tls=tls)' },
  { name: 'smtp-user', help: 'user name at the SMTP server', default: 'none (no authentication)' },
  { name: 'smtp-password', help: 'password at the SMTP server (prefer OTF_SMTP_PASSWORD: arguments are visible to other users)', default: 'none' },
  { name: 'smtp-from', help: 'the From address of email notifications', default: 'otf@<the SMTP host>' },
  { name: 'smtp-tls', help: 'none (plain SMTP), starttls (upgrade required) or tls (TLS from the start)', default: 'starttls' },
  { name: 'plan-timeout', help: 'how long a plan may run before it is interrupted and the run errors, for organizations and workspaces that set none (e.g. 30m, 2h)', default: '2h' },
  { name: 'apply-timeout', help: 'how long an apply may run before it is interrupted and the run errors, for organizations and workspaces that set none', default: '2h' },
  { name: 'server-agent-hooks-dir', help: 'a directory of agent hooks (terraform-pre-plan, terraform-post-plan, terraform-pre-apply, terraform-post-apply) the server agent runs', default: 'none' },
  { name: 'hook-timeout', help: 'how long one agent hook of the server agent may run before it is killed and its phase fails', default: '10m' },
  { name: 'blob-store', help: 'where blobs (state files, configurations, plans) are kept: postgres or s3', default: 'postgres' },
  { name: 's3-bucket', help: 'with --blob-store s3: the bucket (must exist); credentials come from the usual AWS variables', default: 'none' },
  { name: 's3-endpoint', help: 'with --blob-store s3: the endpoint URL of an S3-compatible store (MinIO, Ceph...)', default: 'AWS' },
  { name: 's3-region', help: 'with --blob-store s3: the region', default: 'AWS_REGION, else us-east-1' },
  { name: 's3-path-style', boolean: true, help: 'with --blob-store s3: address buckets as endpoint/bucket (most S3-compatible stores need it)', default: 'off' },
  { name: 's3-prefix', help: 'with --blob-store s3: a prefix for every key, e.g. otf/', default: 'none' },
  { name: 'assessments-schedule', help: 'when health assessments (drift detection) are due: a cron expression in UTC, 5 or 6 fields or @daily/@hourly', default: '@daily' },
  { name: 'audit-retention', help: 'how long the audit trail keeps its events (e.g. 400d); older ones are deleted hourly', default: 'forever' },
];

export function envName(flag: string): string {
  return envNameOf('OTF_', flag);
}

export function usage(): string {
  return usageOf('otfd', 'OTF_', FLAGS);
}

/** Splits "host:port", "[v6]:port" or ":port". */
export function parseHostPort(name: string, v: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:[\]]*):(\d+)$/.exec(v);
  if (!m) throw new ConfigError(`--${name}: "${v}" is not host:port`);
  const port = Number(m[2]);
  if (port > 65535) throw new ConfigError(`--${name}: port ${m[2]} is out of range (0-65535)`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 };

/** A size such as 1048576, 512KiB or 100MiB. */
function parseSize(name: string, v: string): number {
  const m = /^(\d+)\s*([A-Za-z]*)$/.exec(v.trim());
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined || Number(m[1]) === 0) {
    throw new ConfigError(`--${name}: "${v}" is not a size (a whole number of bytes, or with KiB, MiB or GiB)`);
  }
  return Number(m[1]) * unit;
}


/** Parses argv and env into a Config. Returns null when --help was asked for. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Config | null {
  const v = collectFlags(FLAGS, 'OTF_', argv, env);
  if (!v) return null;
  if (!v.has('database') && env.DATABASE_URL) v.set('database', env.DATABASE_URL);
  const listen = parseHostPort('address', v.get('address') ?? 'localhost:8080');
  const hostname = v.get('hostname') ?? null;
  if (hostname !== null && !/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(hostname)) {
    throw new ConfigError(`--hostname: "${hostname}" is not host[:port]`);
  }
  const ssl = v.has('ssl') ? parseBool('ssl', v.get('ssl')!) : false;
  let certFile: string | null = null;
  let keyFile: string | null = null;
  if (ssl) {
    if (!v.get('cert-file')) throw new ConfigError('--ssl needs --cert-file');
    if (!v.get('key-file')) throw new ConfigError('--ssl needs --key-file');
    certFile = readableFile('cert-file', v.get('cert-file')!);
    keyFile = readableFile('key-file', v.get('key-file')!);
  }
  const secret = v.get('secret') ?? null;
  if (secret !== null && secret.length < 16) throw new ConfigError('--secret: must be at least 16 characters');
  const siteToken = v.get('site-token') ?? null;
  if (siteToken !== null && siteToken.length < 8) throw new ConfigError('--site-token: must be at least 8 characters');
  const database = v.get('database') ?? null;
  if (database !== null && !/^postgres(ql)?:\/\//.test(database)) {
    throw new ConfigError('--database: expected a postgres:// or postgresql:// connection string');
  }
  return {
    listenHost: listen.host,
    listenPort: listen.port,
    hostname,
    database,
    dataDir: path.resolve(expandHome(v.get('data-dir') ?? '~/.local/share/otf')),
    siteToken,
    secret,
    ssl,
    certFile,
    keyFile,
    concurrency: parseInteger('concurrency', v.get('concurrency') ?? '5', 0, 1000),
    defaultEngine: oneOf('default-engine', v.get('default-engine') ?? 'terraform', ['terraform', 'tofu'] as const),
    engineBinsDir: path.resolve(expandHome(v.get('engine-bins-dir') ?? '~/.cache/otf/engines')),
    logLevel: oneOf('log-level', v.get('log-level') ?? 'info', LOG_LEVELS),
    maxConfigSize: parseSize('max-config-size', v.get('max-config-size') ?? '100MiB'),
    agentHeartbeatSeconds: parseInteger('agent-heartbeat-interval', v.get('agent-heartbeat-interval') ?? '5', 1, 300),
    agentGracePeriodSeconds: parseInteger('agent-grace-period', v.get('agent-grace-period') ?? '60', 1, 86_400),
    statementTimeoutMs: parseDuration('statement-timeout', v.get('statement-timeout') ?? '30s', 24 * 3_600_000),
    shutdownTimeoutMs: parseDuration('shutdown-timeout', v.get('shutdown-timeout') ?? '10m', 24 * 3_600_000),
    authFailureLimit: parseInteger('auth-failure-limit', v.get('auth-failure-limit') ?? '30', 0, 1_000_000),
    forceCancelCoolOffMs: parseDuration('force-cancel-cool-off', v.get('force-cancel-cool-off') ?? '10s', 24 * 3_600_000),
    sessionLifetimeMs: parseDuration('session-lifetime', v.get('session-lifetime') ?? '24h', 30 * 24 * 3_600_000) || 24 * 3_600_000,
    oidc: parseOidc(v),
    notificationAllowPrivateAddresses: v.has('notification-allow-private-addresses') ? parseBool('notification-allow-private-addresses', v.get('notification-allow-private-addresses')!) : false,
    smtp: parseSmtp(v),
    planTimeoutSeconds: parseTimeoutFlag('plan-timeout', v.get('plan-timeout') ?? '2h'),
    applyTimeoutSeconds: parseTimeoutFlag('apply-timeout', v.get('apply-timeout') ?? '2h'),
    serverAgentHooksDir: v.has('server-agent-hooks-dir') ? existingDirectory('server-agent-hooks-dir', v.get('server-agent-hooks-dir')!) : null,
    hookTimeoutMs: positiveDuration('hook-timeout', v.get('hook-timeout') ?? '10m', 24 * 3_600_000),
    blobStore: parseBlobStore(v, env),
    assessmentsSchedule: parseCron('assessments-schedule', v.get('assessments-schedule') ?? '@daily'),
    auditRetentionMs: parseAuditRetention(v.get('audit-retention') ?? 'forever'),
  };
}

/** The longest --audit-retention: 100 years (a larger number is surely a typo). */
const MAX_AUDIT_RETENTION_MS = 36_500 * 86_400_000;
const DAY_MS = 86_400_000;

/**
 * --audit-retention: "forever" (null), or at least a day. A bare number is seconds, as for every
 * duration flag: "400" meant as days would empty the trail at the next hourly pass, for good.
 */
function parseAuditRetention(v: string): number | null {
  if (v.trim().toLowerCase() === 'forever') return null;
  const ms = positiveDuration('audit-retention', v, MAX_AUDIT_RETENTION_MS);
  if (ms < DAY_MS) throw new ConfigError(`--audit-retention: "${v}" is less than a day; give days (e.g. 400d), or "forever"`);
  return ms;
}

/** A phase timeout flag, in whole seconds: more than 0, at most a week (as the API's timeouts). */
function parseTimeoutFlag(name: string, v: string): number {
  const ms = positiveDuration(name, v, MAX_TIMEOUT_SECONDS * 1000);
  if (ms % 1000 !== 0) throw new ConfigError(`--${name}: "${v}" is not a whole number of seconds`);
  return ms / 1000;
}

/** The --oidc-* flags: all of issuer, client id and client secret, or none of them. */
function parseOidc(v: Map<string, string>): OidcConfig | null {
  const issuer = v.get('oidc-issuer');
  const clientId = v.get('oidc-client-id');
  const clientSecret = v.get('oidc-client-secret');
  if (!issuer && !clientId && !clientSecret) return null;
  if (!issuer || !clientId || !clientSecret) throw new ConfigError('single sign-on needs all of --oidc-issuer, --oidc-client-id and --oidc-client-secret');
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new ConfigError(`--oidc-issuer: "${issuer}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('--oidc-issuer: must be an http(s) URL');
  return {
    issuer,
    clientId,
    clientSecret,
    usernameClaim: v.get('oidc-username-claim') ?? 'preferred_username',
    teamsClaim: v.get('oidc-teams-claim') ?? null,
    scopes: parseScopes(v.get('oidc-scopes') ?? 'openid profile email'),
    name: v.get('oidc-name') ?? 'single sign-on',
  };
}

/** --oidc-scopes: scope tokens (OAuth 2.0's characters), "openid" among them, as OpenID Connect requires. */
function parseScopes(value: string): string[] {
  const scopes = [...new Set(value.split(/[\s,]+/).filter((s) => s !== ''))];
  const bad = scopes.find((s) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s));
  if (bad !== undefined) throw new ConfigError(`--oidc-scopes: "${bad}" is not a valid scope`);
  if (!scopes.includes('openid')) throw new ConfigError('--oidc-scopes: must include "openid"');
  return scopes;
}

/**
 * Makes the data dir, mode 0700: it holds secrets. The directories above it that are missing
 * (`~/.local/share` of a fresh home) are made as `mkdir -p` would, open to traversal, so that they
 * do not lock out of the data dir the postgres user that root's embedded PostgreSQL runs as.
 */
export function makeDataDir(dir: string): void {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** The --smtp-* flags: none of them, or --smtp-host and whichever others are needed. */
function parseSmtp(v: Map<string, string>): SmtpConfig | null {
  const host = v.get('smtp-host');
  const others = ['smtp-port', 'smtp-user', 'smtp-password', 'smtp-from', 'smtp-tls'].filter((f) => v.has(f));
  if (!host) {
    if (others.length > 0) throw new ConfigError(`--${others[0]} needs --smtp-host`);
    return null;
  }
  if (!/^[A-Za-z0-9.-]+$|^\[?[0-9a-fA-F:.]+\]?$/.test(host)) throw new ConfigError(`--smtp-host: "${host}" is not a host name or address`);
  const tls = oneOf('smtp-tls', v.get('smtp-tls') ?? 'starttls', ['none', 'starttls', 'tls'] as const);
  const port = parseInteger('smtp-port', v.get('smtp-port') ?? (tls === 'tls' ? '465' : '587'), 1, 65535);
  const user = v.get('smtp-user') ?? null;
  const password = v.get('smtp-password') ?? null;
  if (password !== null && user === null) throw new ConfigError('--smtp-password needs --smtp-user');
  const from = v.get('smtp-from') ?? `otf@${host.replace(/^\[|\]$/g, '')}`;
  if (!/^[^\s@<>]+@[^\s@<>]+$/.test(from) && !/^[^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>$/.test(from)) {
    throw new ConfigError(`--smtp-from: "${from}" is not an email address (name@host, or "Name <name@host>")`);
  }
  return { host: host.replace(/^\[|\]$/g, ''), port, user, password, from, tls };
}

/** --blob-store and the --s3-* flags, which make sense only with --blob-store s3. */
function parseBlobStore(v: Map<string, string>, env: NodeJS.ProcessEnv): BlobStoreConfig {
  const kind = oneOf('blob-store', v.get('blob-store') ?? 'postgres', ['postgres', 's3'] as const);
  const s3Flags = ['s3-bucket', 's3-endpoint', 's3-region', 's3-path-style', 's3-prefix'].filter((f) => v.has(f));
  if (kind === 'postgres') {
    if (s3Flags.length > 0) throw new ConfigError(`--${s3Flags[0]}: needs --blob-store s3`);
    return { kind };
  }
  const bucket = v.get('s3-bucket');
  if (!bucket) throw new ConfigError('--blob-store s3 needs --s3-bucket');
  // S3's bucket naming rules (3-63 characters of lowercase letters, digits, dots and hyphens).
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new ConfigError(`--s3-bucket: "${bucket}" is not a valid bucket name`);
  const endpoint = v.get('s3-endpoint') ?? null;
  if (endpoint !== null) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new ConfigError(`--s3-endpoint: "${endpoint}" is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('--s3-endpoint: must be an http(s) URL');
  }
  const region = v.get('s3-region') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  if (!/^[a-z0-9-]{1,64}$/.test(region)) throw new ConfigError(`--s3-region: "${region}" is not a region name`);
  const prefix = v.get('s3-prefix') ?? '';
  // Keys are at most 1024 bytes; otf's own are short. No NULs or other control characters.
  if (prefix.length > 200 || [...prefix].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) throw new ConfigError('--s3-prefix: at most 200 characters, none of them control characters');
  return {
    kind,
    bucket,
    endpoint,
    region,
    pathStyle: v.has('s3-path-style') ? parseBool('s3-path-style', v.get('s3-path-style')!) : false,
    prefix,
  };
}

function parseCron(name: string, v: string): string {
  const problem = cronProblem(v);
  if (problem) throw new ConfigError(`--${name}: "${v}" ${problem}`);
  return v;
}
