// Starts otfd in-process against a fresh database of the suite's PostgreSQL.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Config } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { startOtfd, type Otfd, type StartOptions } from '../../src/server.js';
import { freshDatabase, suite } from '../hooks.js';
import { Api } from './api.js';
import { testS3 } from './s3.js';

export interface TestServer {
  otfd: Otfd;
  /** A client holding the site token. */
  api: Api;
  siteToken: string;
  url: string;
  /** host:port, as the terraform CLI names the server */
  hostname: string;
  databaseUrl: string;
  dataDir: string;
  /** --secret, for tests that make signed URLs of their own (an expired one, say) */
  secret: string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export function randomName(prefix = 'org'): string {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
}

export async function startServer(
  opts: {
    ssl?: boolean;
    config?: Partial<Config>;
    engineReleases?: StartOptions['engineReleases'];
    /** The database of another test server, for a second otfd (a replica) beside it. */
    databaseUrl?: string;
    /** Where otfd logs; default a silent logger (or OTF_TEST_LOG's level, on stdout). */
    logger?: Logger;
    /** Told of drifted and failed health assessments, as notifications are. */
    onAssessmentResult?: StartOptions['onAssessmentResult'];
  } = {},
): Promise<TestServer> {
  const { tmp, certFile, keyFile } = suite();
  const port = await freePort();
  const databaseUrl = opts.databaseUrl ?? (await freshDatabase());
  const siteToken = `site-${crypto.randomBytes(16).toString('hex')}`;
  const dataDir = fs.mkdtempSync(path.join(tmp, 'data-'));
  const ssl = opts.ssl ?? false;
  const config: Config = {
    listenHost: '127.0.0.1',
    listenPort: port,
    hostname: `localhost:${port}`,
    database: databaseUrl,
    dataDir,
    siteToken,
    secret: crypto.randomBytes(16).toString('hex'),
    ssl,
    certFile: ssl ? certFile : null,
    keyFile: ssl ? keyFile : null,
    concurrency: 0,
    defaultEngine: 'terraform',
    engineBinsDir: path.join(tmp, 'engines'),
    logLevel: 'info',
    maxConfigSize: 100 * 1024 * 1024,
    agentHeartbeatSeconds: 1,
    agentGracePeriodSeconds: 5,
    statementTimeoutMs: 30_000,
    // in-process test servers stop at once, canceling what runs, unless a test says otherwise
    shutdownTimeoutMs: 0,
    // OTF_TEST_BLOB_STORE=s3 runs any test file with its blobs in S3 (s3rver), a bucket per otfd.
    blobStore: process.env.OTF_TEST_BLOB_STORE === 's3' && !opts.config?.blobStore ? await (await testS3()).bucketConfig() : { kind: 'postgres' },
    ...opts.config,
  };
  const otfd = await startOtfd(config, { logger: opts.logger ?? createLogger(process.env.OTF_TEST_LOG ?? 'silent'), engineReleases: opts.engineReleases, onAssessmentResult: opts.onAssessmentResult });
  const api = new Api(otfd.url, siteToken, ssl ? fs.readFileSync(certFile) : undefined);
  return { otfd, api, siteToken, url: otfd.url, hostname: otfd.hostname, databaseUrl, dataDir, secret: config.secret!, stop: () => otfd.stop() };
}

/** Creates an organization through the API and returns its name. */
export async function createOrganization(api: Api, name = randomName()): Promise<string> {
  const res = await api.post('/organizations', { data: { type: 'organizations', attributes: { name, email: `${name}@example.com` } } });
  if (res.status !== 201) throw new Error(`creating organization ${name}: ${res.status} ${res.text}`);
  return name;
}

/** Creates a workspace through the API and returns its document's data. */
export async function createWorkspace(api: Api, org: string, name = randomName('ws'), attributes: Record<string, unknown> = {}) {
  const res = await api.post(`/organizations/${org}/workspaces`, { data: { type: 'workspaces', attributes: { name, ...attributes } } });
  if (res.status !== 201) throw new Error(`creating workspace ${name}: ${res.status} ${res.text}`);
  return res.body.data;
}
