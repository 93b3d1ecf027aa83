// An S3-compatible endpoint for the tests: s3rver (an S3 implementation in Node) on a free port,
// keeping its objects in a folder of the suite's temporary directory. One per test process,
// started when first asked for; each otfd gets a bucket of its own.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import type { BlobStoreConfig } from '../../src/config.js';
import { suite } from '../hooks.js';

/** s3rver's fixed credentials; the AWS SDK finds them in the environment, as otfd's would. */
export const S3RVER_KEY = 'S3RVER';

export interface TestS3 {
  endpoint: string;
  directory: string;
  /** A new, empty bucket's blob store configuration. */
  bucketConfig(prefix?: string): Promise<Extract<BlobStoreConfig, { kind: 's3' }>>;
  client: S3Client;
}

let shared: Promise<TestS3> | null = null;

export function testS3(): Promise<TestS3> {
  shared ??= start();
  return shared;
}

async function start(): Promise<TestS3> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  process.env.AWS_ACCESS_KEY_ID ??= S3RVER_KEY;
  process.env.AWS_SECRET_ACCESS_KEY ??= S3RVER_KEY;
  const directory = fs.mkdtempSync(path.join(suite().tmp, 's3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    directory,
    client,
    async bucketConfig(prefix = '') {
      const bucket = `otf-${crypto.randomBytes(6).toString('hex')}`;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      return { kind: 's3', bucket, endpoint, region: 'us-east-1', pathStyle: true, prefix };
    },
  };
}
