// Global fixtures and root hooks for the whole suite: one PostgreSQL (DATABASE_URL, or an embedded
// throwaway cluster) and one self-signed certificate, shared by every test file and every worker.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.js';
import { createLogger } from '../src/logger.js';
import { selfSignedCertificate } from './helpers/certificates.js';

interface Shared {
  /** Connection string of a database we may create other databases from. */
  adminUrl: string;
  tmp: string;
  certFile: string;
  keyFile: string;
}

let shared: Shared | null = null;
let embedded: EmbeddedPostgres | null = null;
let counter = 0;

export function suite(): Shared {
  if (!shared) throw new Error('root hooks did not run: mocha must --require dist/test/hooks.js');
  return shared;
}

/** A new, empty database for one test file; returns its connection string. */
export async function freshDatabase(): Promise<string> {
  const { adminUrl } = suite();
  const name = `otf_test_${process.pid}_${++counter}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Where the shared parts are described to every test process (mocha's parallel workers inherit it). */
const SHARED_ENV = 'OTF_TEST_SHARED';

/**
 * Once per `mocha` run, in its main process: PostgreSQL and the certificate. In parallel mode the
 * workers are started after this and inherit the environment it sets, so every test file, in
 * whichever process it runs, shares the one cluster (each file makes its own databases in it).
 */
export async function mochaGlobalSetup(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'otf-test-'));
  // The embedded cluster runs as the postgres user when we are root: let it traverse.
  fs.chmodSync(tmp, 0o755);
  const certFile = path.join(tmp, 'cert.pem');
  const keyFile = path.join(tmp, 'key.pem');
  selfSignedCertificate(certFile, keyFile, ['localhost', '127.0.0.1'], 30);
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    embedded = await startEmbeddedPostgres({
      dataDir: path.join(tmp, 'pg'),
      logger: createLogger('silent'),
      database: 'postgres',
      // a throwaway cluster: durability buys nothing here; parallel workers each run otfds
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '400' },
    });
    adminUrl = embedded.url;
  }
  shared = { adminUrl, tmp, certFile, keyFile };
  process.env[SHARED_ENV] = JSON.stringify(shared);
}

export async function mochaGlobalTeardown(): Promise<void> {
  await embedded?.stop();
  if (shared) fs.rmSync(shared.tmp, { recursive: true, force: true });
}

export const mochaHooks = {
  beforeAll() {
    // In a parallel worker the setup ran in the main process: take what it described.
    const described = process.env[SHARED_ENV];
    if (!shared && described) shared = JSON.parse(described) as Shared;
  },
};
