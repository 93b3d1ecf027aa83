// otfd with --blob-store s3, on s3rver (an S3 implementation in Node) started here: the terraform
// CLI keeps a state of several MiB in it, streamed both ways; nothing lands in PostgreSQL's blob
// tables; the collector deletes the objects of deleted records; a bucket otfd cannot use stops it
// at start with a clear error. (Every other test file runs on S3 too with OTF_TEST_BLOB_STORE=s3.)
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { BlobCollector } from '../src/blobs/collector.js';
import { S3BlobStore } from '../src/blobs/s3.js';
import { ConfigError, parseConfig, type BlobStoreConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { artifactKey } from '../src/runs/artifacts.js';
import { blobOwners } from '../src/server.js';
import { stateKey } from '../src/state/service.js';
import type { Json } from './helpers/api.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { spawnOtfd } from './helpers/otfd.js';
import { S3RVER_KEY, testS3, type TestS3 } from './helpers/s3.js';
import { freshDatabase, suite } from './hooks.js';
import { cloudBlock, terraform, workdir } from './helpers/terraform.js';

type S3Config = Extract<BlobStoreConfig, { kind: 's3' }>;

async function objectKeys(s3: TestS3, cfg: S3Config): Promise<string[]> {
  const res = await s3.client.send(new ListObjectsV2Command({ Bucket: cfg.bucket }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

async function objectBytes(s3: TestS3, cfg: S3Config, key: string): Promise<Buffer> {
  const res = await s3.client.send(new GetObjectCommand({ Bucket: cfg.bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

describe('blobs in an S3-compatible store (s3rver)', function () {
  this.timeout(180_000);
  let s3: TestS3;
  let cfg: S3Config;
  let server: TestServer;
  let org: string;
  let ws: Json;
  let dir: string;

  before(async () => {
    s3 = await testS3();
    cfg = await s3.bucketConfig('otf/');
    server = await startServer({ ssl: true, config: { blobStore: cfg } });
    org = await createOrganization(server.api);
    ws = await createWorkspace(server.api, org, 'big-state', { 'execution-mode': 'local' });
    // A state of several MiB: the resource's input (and so its output) is a file of 3 MiB.
    dir = workdir({
      'main.tf': `${cloudBlock(server, org, 'name = "big-state"')}
resource "terraform_data" "big" {
  input = file("\${path.module}/big.txt")
}
output "length" {
  value = length(terraform_data.big.output)
}
`,
    });
    fs.writeFileSync(path.join(dir, 'big.txt'), crypto.randomBytes(2304 * 1024).toString('base64'));
    const init = await terraform(server, dir, ['init', '-input=false']);
    assert.equal(init.code, 0, init.output);
  });
  after(() => server?.stop());

  it('keeps a state of several MiB that terraform applies in the bucket, and terraform state pull reads it back byte for byte', async () => {
    const apply = await terraform(server, dir, ['apply', '-auto-approve', '-input=false']);
    assert.equal(apply.code, 0, apply.output);
    const current = await server.api.get(`/workspaces/${ws.id}/current-state-version`);
    assert.equal(current.status, 200, current.text);
    const id: string = current.body.data.id;
    assert.ok(current.body.data.attributes.size > 6 * 1024 * 1024, `state of ${current.body.data.attributes.size} bytes`);

    // In the bucket under the prefix, and no staged upload left behind.
    const keys = await objectKeys(s3, cfg);
    assert.ok(keys.includes(`otf/${stateKey(id)}`), keys.join(', '));
    assert.deepEqual(keys.filter((k) => k.includes('/uploads/')), []);
    // Nothing in PostgreSQL's blob tables.
    assert.deepEqual(await server.otfd.db('blobs').pluck('key'), []);

    const pull = await terraform(server, dir, ['state', 'pull']);
    assert.equal(pull.code, 0, pull.output);
    const stored = await objectBytes(s3, cfg, `otf/${stateKey(id)}`);
    assert.equal(pull.stdout, `${stored.toString()}\n`);
    // Downloads through otfd's signed URL stream the object.
    const download = await server.api.get(current.body.data.attributes['hosted-state-download-url']);
    assert.equal(download.status, 200);
    assert.equal(download.text, stored.toString());

    const output = await terraform(server, dir, ['output', '-raw', 'length']);
    assert.equal(output.stdout, String(fs.readFileSync(path.join(dir, 'big.txt')).length));
  });

  it('takes terraform state push of the pulled state as the next serial', async () => {
    const pull = await terraform(server, dir, ['state', 'pull']);
    const doc = JSON.parse(pull.stdout);
    doc.serial += 1;
    fs.writeFileSync(path.join(dir, 'pushed.tfstate'), JSON.stringify(doc));
    const push = await terraform(server, dir, ['state', 'push', 'pushed.tfstate']);
    assert.equal(push.code, 0, push.output);
    // A new current version (terraform picks its serial), whose object holds what was pushed.
    const current = await server.api.get(`/workspaces/${ws.id}/current-state-version`);
    assert.ok(current.body.data.attributes.serial > doc.serial - 1, `serial ${current.body.data.attributes.serial}`);
    const stored = JSON.parse((await objectBytes(s3, cfg, `otf/${stateKey(current.body.data.id)}`)).toString());
    assert.equal(stored.serial, current.body.data.attributes.serial);
    assert.deepEqual(stored.resources, doc.resources);
  });

  it("the collector deletes the objects of deleted records, and none of a live workspace's", async () => {
    const store = new S3BlobStore(cfg);
    const collector = new BlobCollector(store, blobOwners(server.otfd.db), createLogger('silent'));
    // Objects of a run and a state version that do not exist (their records deleted, or never committed).
    const orphans = [artifactKey('run-doesnotexist1', 'plan-file'), stateKey('sv-doesnotexist1')];
    for (const key of orphans) await s3.client.send(new PutObjectCommand({ Bucket: cfg.bucket, Key: `otf/${key}`, Body: 'orphan' }));
    const before = await objectKeys(s3, cfg);
    assert.ok(orphans.every((k) => before.includes(`otf/${k}`)));

    // Younger than the collector's hour: left alone.
    assert.equal(await collector.collect(), 0);
    assert.equal(await collector.collect(0), orphans.length);
    const after = await objectKeys(s3, cfg);
    assert.deepEqual(after, before.filter((k) => !orphans.some((o) => k === `otf/${o}`)));
    const current = await server.api.get(`/workspaces/${ws.id}/current-state-version`);
    await s3.client.send(new HeadObjectCommand({ Bucket: cfg.bucket, Key: `otf/${stateKey(current.body.data.id)}` }));

    // Deleting the workspace leaves its objects to the collector, which then takes them all.
    assert.equal((await server.api.delete(`/workspaces/${ws.id}`)).status, 204);
    assert.ok((await collector.collect(0)) >= 2);
    assert.deepEqual(await objectKeys(s3, cfg), []);
    store.destroy();
  });

  it('refuses to start on a bucket that does not exist, or without --s3-bucket, or with another --blob-store', async () => {
    await assert.rejects(
      startServer({ config: { blobStore: { ...cfg, bucket: 'no-such-bucket-here' } } }),
      (err: Error) => err instanceof ConfigError && /--s3-bucket: cannot use bucket "no-such-bucket-here" at http:\/\/127\.0\.0\.1:\d+: it does not exist/.test(err.message),
    );
    assert.throws(() => parseConfig(['--blob-store', 'gcs'], {}), /--blob-store/);
    assert.throws(() => parseConfig(['--blob-store', 's3'], {}), /--blob-store s3 needs --s3-bucket/);
    assert.throws(() => parseConfig(['--s3-bucket', 'b-1'], {}), /--s3-bucket: needs --blob-store s3/);
    assert.throws(() => parseConfig(['--blob-store', 's3', '--s3-bucket', 'Bad_Bucket'], {}), /not a valid bucket name/);
    assert.throws(() => parseConfig(['--blob-store', 's3', '--s3-bucket', 'ok-bucket', '--s3-endpoint', 'ftp://x'], {}), /--s3-endpoint: must be an http\(s\) URL/);
    assert.throws(() => parseConfig(['--blob-store', 's3', '--s3-bucket', 'ok-bucket', '--s3-prefix', 'a\0b'], {}), /--s3-prefix/);
    const parsed = parseConfig(['--blob-store', 's3', '--s3-bucket', 'ok-bucket', '--s3-path-style', '--s3-endpoint', 'http://minio:9000'], { AWS_REGION: 'eu-west-1' });
    assert.deepEqual(parsed?.blobStore, { kind: 's3', bucket: 'ok-bucket', endpoint: 'http://minio:9000', region: 'eu-west-1', pathStyle: true, prefix: '' });
    assert.deepEqual(parseConfig([], {})?.blobStore, { kind: 'postgres' });
  });

  it('the otfd process ends with exit code 1 and one line when its bucket cannot be used', async () => {
    const database = await freshDatabase();
    const start = async (args: string[]) => {
      const dataDir = fs.mkdtempSync(path.join(suite().tmp, 'data-'));
      const child = spawnOtfd(['--address', '127.0.0.1:0', '--database', database, '--data-dir', dataDir, ...args], {
        AWS_ACCESS_KEY_ID: S3RVER_KEY,
        AWS_SECRET_ACCESS_KEY: S3RVER_KEY,
      });
      return { code: await child.exited, stderr: child.stderr() };
    };
    const missing = await start(['--blob-store', 's3', '--s3-bucket', 'no-such-bucket', '--s3-endpoint', s3.endpoint, '--s3-path-style']);
    assert.equal(missing.code, 1, missing.stderr);
    assert.equal(missing.stderr.trimEnd().split('\n').length, 1, missing.stderr);
    assert.match(missing.stderr, /--s3-bucket: cannot use bucket "no-such-bucket" at http:\/\/127\.0\.0\.1:\d+: it does not exist/);
    const unknown = await start(['--blob-store', 'gcs']);
    assert.equal(unknown.code, 1, unknown.stderr);
    assert.match(unknown.stderr, /--blob-store/);
    assert.equal(unknown.stderr.trimEnd().split('\n').length, 1, unknown.stderr);
  });
});
