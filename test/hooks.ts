// Root hooks for the whole suite: one PostgreSQL (DATABASE_URL, or an embedded throwaway cluster)
// and one self-signed certificate, shared by every test file.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.js';
import { createLogger } from '../src/logger.js';

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

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(120_000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'otf-test-'));
    // The embedded cluster runs as the postgres user when we are root: let it traverse.
    fs.chmodSync(tmp, 0o755);
    const certFile = path.join(tmp, 'cert.pem');
    const keyFile = path.join(tmp, 'key.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '30',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ], { stdio: 'ignore' });
    let adminUrl = process.env.DATABASE_URL;
    if (!adminUrl) {
      embedded = await startEmbeddedPostgres({
        dataDir: path.join(tmp, 'pg'),
        logger: createLogger('silent'),
        database: 'postgres',
        // a throwaway cluster: durability buys nothing here
        settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
      });
      adminUrl = embedded.url;
    }
    shared = { adminUrl, tmp, certFile, keyFile };
  },
  async afterAll() {
    await embedded?.stop();
    if (shared) fs.rmSync(shared.tmp, { recursive: true, force: true });
  },
};
