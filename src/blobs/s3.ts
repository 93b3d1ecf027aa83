// Blobs in any S3-compatible object store (AWS S3, MinIO, Ceph, R2, s3rver in the tests).
//
// Uploads and downloads stream: a blob of unknown length goes up in 5 MiB parts (lib-storage's
// Upload), a download is the object's body as it arrives. Nothing holds a large blob whole.
//
// S3 takes no part in PostgreSQL's transactions, so the `trx` the interface passes cannot make a
// write and a record commit or roll back together. What each method does with it instead, chosen
// so that no committed record ever lacks its blob:
// - put(key, data, trx): the object is written at once, before the record commits. If the
//   transaction rolls back, the object is deleted once it has. Callers put in a transaction only
//   under keys no committed record uses yet (fresh version ids, per-upload staging keys), so that
//   delete never takes anything a record needs. Should otfd die in between, the object stays an
//   orphan; the collector deletes it once its record is gone.
// - rename(from, to, trx): a copy to `to` at once (so `to` exists before the record naming it
//   commits), then `from` is deleted once the transaction commits (kept if it rolls back).
// - delete(key, trx): done only after the transaction commits; a rollback keeps the object, whose
//   record is still there. Should otfd die in between, the collector deletes it later.
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Db } from '../db/index.js';
import { ConfigError } from '../flags.js';
import type { BlobStore } from './store.js';

export interface S3Options {
  bucket: string;
  /** e.g. http://localhost:9000 for MinIO; null for AWS's own endpoints. */
  endpoint: string | null;
  region: string;
  /** Address buckets as endpoint/bucket rather than bucket.endpoint (MinIO, s3rver). */
  pathStyle: boolean;
  /** Prepended to every key, e.g. "otf/", so that one bucket can hold more than otf. */
  prefix: string;
}

/** DeleteObjects takes at most this many keys at once. */
const DELETE_BATCH = 1000;
/** Parts of a streamed upload; S3's minimum part size. */
const PART_SIZE = 5 * 1024 * 1024;

function isNotFound(err: unknown): boolean {
  if (err instanceof S3ServiceException) {
    return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata.httpStatusCode === 404;
  }
  return false;
}

/** Runs fn once the transaction has committed (at once without one). */
function afterCommit(trx: Db | undefined, fn: () => Promise<void>): Promise<void> {
  if (!trx || !trx.isTransaction) return fn();
  (trx as unknown as { executionPromise: Promise<unknown> }).executionPromise.then(
    () => fn(),
    () => undefined,
  );
  return Promise.resolve();
}

/** Runs fn if the transaction rolls back. */
function onRollback(trx: Db | undefined, fn: () => Promise<void>): void {
  if (!trx || !trx.isTransaction) return;
  (trx as unknown as { executionPromise: Promise<unknown> }).executionPromise.then(
    () => undefined,
    () => fn(),
  );
}

export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;

  constructor(
    private readonly opts: S3Options,
    /** For deletes that happen after a commit, whose failures reach no caller. */
    private readonly onBackgroundError: (err: unknown, key: string) => void = () => undefined,
  ) {
    // The SDK warns on every start under Node < 22 about SDK releases of 2027 onwards; otfd pins
    // its SDK (package-lock.json), so the warning says nothing about this otfd and would only
    // add lines to its output (and to the one line of a start error).
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new S3Client({
      region: opts.region,
      endpoint: opts.endpoint ?? undefined,
      forcePathStyle: opts.pathStyle,
      // Checksums only where S3 requires them: S3-compatible stores do not all know the newer ones.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private k(key: string): string {
    return this.opts.prefix + key;
  }

  /** Fails with a ConfigError saying why when the bucket cannot be reached with these credentials. */
  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.opts.bucket }));
    } catch (err) {
      const where = this.opts.endpoint ? ` at ${this.opts.endpoint}` : ` in region ${this.opts.region}`;
      const e = err as Error & { $metadata?: { httpStatusCode?: number } };
      const status = e.$metadata?.httpStatusCode;
      const why =
        status === 404 ? 'it does not exist'
        : status === 403 ? 'access is denied (check the AWS credentials)'
        : e.name === 'CredentialsProviderError' ? 'no AWS credentials were found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)'
        : `${e.name}${e.message && e.message !== e.name ? `: ${e.message}` : ''}${status ? ` (HTTP ${status})` : ''}`;
      throw new ConfigError(`--s3-bucket: cannot use bucket "${this.opts.bucket}"${where}: ${why}`);
    }
  }

  async put(key: string, data: Buffer | AsyncIterable<Buffer>, trx?: Db): Promise<number> {
    onRollback(trx, () => this.deleteNow(key));
    if (Buffer.isBuffer(data)) {
      await this.client.send(new PutObjectCommand({ Bucket: this.opts.bucket, Key: this.k(key), Body: data, ContentLength: data.length }));
      return data.length;
    }
    // The length is not known in advance: lib-storage sends it in parts, one part in memory at a
    // time per queued slot; the bytes are counted on the way.
    let size = 0;
    const body: AsyncIterable<Buffer> = data;
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const chunk of body) {
        size += chunk.length;
        yield chunk;
      }
    }
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.opts.bucket, Key: this.k(key), Body: Readable.from(counted(), { objectMode: false }) },
      partSize: PART_SIZE,
      queueSize: 1,
      leavePartsOnError: false,
    });
    await upload.done();
    return size;
  }

  async stream(key: string): Promise<Readable | null> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.k(key) }));
      // In Node the SDK's body is an http.IncomingMessage: a Readable.
      return res.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async read(key: string): Promise<Buffer | null> {
    const body = await this.stream(key);
    if (!body) return null;
    const parts: Buffer[] = [];
    for await (const chunk of body) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  }

  async size(key: string): Promise<number | null> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.k(key) }));
      return res.ContentLength ?? 0;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async rename(from: string, to: string, trx?: Db): Promise<void> {
    try {
      await this.client.send(
        new CopyObjectCommand({ Bucket: this.opts.bucket, Key: this.k(to), CopySource: `${this.opts.bucket}/${encodeURIComponent(this.k(from)).replace(/%2F/g, '/')}` }),
      );
    } catch (err) {
      if (isNotFound(err)) throw new Error(`there is no blob ${from} to rename`, { cause: err });
      throw err;
    }
    await afterCommit(trx, () => this.deleteNow(from));
  }

  async delete(key: string, trx?: Db): Promise<void> {
    await afterCommit(trx, () => this.deleteNow(key));
  }

  private async deleteNow(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: this.k(key) }));
    } catch (err) {
      this.onBackgroundError(err, key);
    }
  }

  async listOlder(prefix: string, olderThanSeconds: number, after: string, limit: number): Promise<string[]> {
    const cutoff = Date.now() - olderThanSeconds * 1000;
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.opts.bucket,
          Prefix: this.k(prefix),
          // StartAfter is only read on the first page; later pages follow the token.
          StartAfter: token ? undefined : this.k(after),
          ContinuationToken: token,
          MaxKeys: 1000,
        }),
      );
      for (const o of res.Contents ?? []) {
        if (!o.Key || !o.LastModified || o.LastModified.getTime() > cutoff) continue;
        keys.push(o.Key.slice(this.opts.prefix.length));
        if (keys.length >= limit) return keys;
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  async deleteMany(keys: string[]): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const res = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.opts.bucket, Delete: { Objects: batch.map((key) => ({ Key: this.k(key) })), Quiet: false } }),
      );
      const failed = res.Errors ?? [];
      if (failed.length > 0) throw new Error(`deleting ${failed.length} blobs failed: ${failed[0].Code ?? ''} ${failed[0].Message ?? ''}`.trim());
      deleted += res.Deleted?.length ?? batch.length;
    }
    return deleted;
  }

  destroy(): void {
    this.client.destroy();
  }
}
