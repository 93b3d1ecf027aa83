// Which blob store otfd keeps its blobs in: --blob-store postgres (the default) or s3.
import type { Logger } from 'pino';
import type { BlobStoreConfig } from '../config.js';
import type { Db } from '../db/index.js';
import { S3BlobStore } from './s3.js';
import { PostgresBlobStore, type BlobStore } from './store.js';

/**
 * The configured store, checked: an S3 bucket that cannot be reached with the credentials at
 * hand (the AWS SDK's default chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE,
 * instance roles...) fails the start with a ConfigError that says why.
 */
export async function createBlobStore(
  config: BlobStoreConfig | undefined,
  db: Db,
  logger: Logger,
): Promise<{ store: BlobStore; close: () => Promise<void> }> {
  if (!config || config.kind === 'postgres') return { store: new PostgresBlobStore(db), close: async () => undefined };
  const store = new S3BlobStore(config, (err, key) => logger.error({ err, key }, 'deleting a blob from the object store failed; the collector will try again'));
  try {
    await store.check();
  } catch (err) {
    store.destroy();
    throw err;
  }
  logger.info({ bucket: config.bucket, endpoint: config.endpoint ?? 'AWS', prefix: config.prefix }, 'blobs are kept in S3');
  return { store, close: async () => store.destroy() };
}
