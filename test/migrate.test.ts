// Replicas starting together against one database: migrations run once, under an advisory lock.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createLogger } from '../src/logger.js';
import { startOtfd } from '../src/server.js';
import { migrations } from '../migrations/index.js';
import { Api } from './helpers/api.js';
import { freePort } from './helpers/server.js';
import { freshDatabase, suite } from './hooks.js';

describe('database migrations', () => {
  it('apply once when three replicas start at the same moment, and every replica serves', async () => {
    const database = await freshDatabase();
    const siteToken = crypto.randomBytes(16).toString('hex');
    const secret = crypto.randomBytes(16).toString('hex');
    const replicas = await Promise.all(
      [0, 1, 2].map(async () =>
        startOtfd(
          {
            listenHost: '127.0.0.1',
            listenPort: await freePort(),
            hostname: null,
            database,
            dataDir: fs.mkdtempSync(path.join(suite().tmp, 'replica-')),
            siteToken,
            secret,
            ssl: false,
            certFile: null,
            keyFile: null,
            concurrency: 0,
            defaultEngine: 'terraform',
            engineBinsDir: suite().tmp,
            logLevel: 'error',
            maxConfigSize: 1024 * 1024,
            agentHeartbeatSeconds: 5,
            agentGracePeriodSeconds: 60,
            statementTimeoutMs: 30_000,
            shutdownTimeoutMs: 600_000,
          },
          { logger: createLogger('silent') },
        ),
      ),
    );
    try {
      const client = new pg.Client({ connectionString: database });
      await client.connect();
      const applied = await client.query('SELECT name FROM knex_migrations ORDER BY id');
      await client.end();
      assert.deepEqual(
        applied.rows.map((r: { name: string }) => r.name),
        Object.keys(migrations).sort(),
      );
      // What one replica writes, the others read.
      const [a, b] = replicas.map((r) => new Api(r.url, siteToken));
      assert.equal((await a.post('/organizations', { data: { type: 'organizations', attributes: { name: 'shared', email: 's@example.com' } } })).status, 201);
      assert.equal((await b.get('/organizations/shared')).status, 200);
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
    }
  });
});
