// Blobs (configuration tarballs, plan files, JSON plans, state files) behind one small interface.
// This implementation keeps them in PostgreSQL in 1 MiB chunks, so a large blob is streamed in and
// out and never held in memory whole; an object-store implementation would change no caller.
import { Readable } from 'node:stream';
import type { Db } from '../db/index.js';

export interface BlobStore {
  /**
   * Stores the bytes under key, replacing any earlier blob; returns the size. Given a transaction,
   * the blob is written in it and goes away with it if it rolls back.
   */
  put(key: string, data: Buffer | AsyncIterable<Buffer>, trx?: Db): Promise<number>;
  /** The blob's bytes as a stream, or null when there is none. */
  stream(key: string): Promise<Readable | null>;
  /** The whole blob, for small ones (JSON plans, state files read to extract outputs). */
  read(key: string): Promise<Buffer | null>;
  size(key: string): Promise<number | null>;
  /** Moves the blob at `from` to `to`, replacing any blob there; in the transaction when given. */
  rename(from: string, to: string, trx?: Db): Promise<void>;
  delete(key: string, trx?: Db): Promise<void>;
  /** Up to limit keys that start with prefix, come after `after` and were written olderThanSeconds ago or more, in order. */
  listOlder(prefix: string, olderThanSeconds: number, after: string, limit: number): Promise<string[]>;
  /** Deletes these blobs; returns how many there were. */
  deleteMany(keys: string[]): Promise<number>;
}

export const CHUNK_SIZE = 1024 * 1024;

async function* chunked(data: Buffer | AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(data)) {
    for (let i = 0; i < data.length; i += CHUNK_SIZE) yield data.subarray(i, i + CHUNK_SIZE);
    return;
  }
  let pending: Buffer[] = [];
  let pendingSize = 0;
  for await (const piece of data) {
    pending.push(piece);
    pendingSize += piece.length;
    while (pendingSize >= CHUNK_SIZE) {
      const all = Buffer.concat(pending);
      yield all.subarray(0, CHUNK_SIZE);
      pending = [all.subarray(CHUNK_SIZE)];
      pendingSize = pending[0].length;
    }
  }
  if (pendingSize > 0) yield Buffer.concat(pending);
}

export class PostgresBlobStore implements BlobStore {
  constructor(private readonly db: Db) {}

  async put(key: string, data: Buffer | AsyncIterable<Buffer>, within: Db = this.db): Promise<number> {
    return within.transaction(async (trx) => {
      await trx('blobs').where({ key }).delete();
      await trx('blobs').insert({ key, size: 0 });
      let size = 0;
      let seq = 0;
      for await (const chunk of chunked(data)) {
        await trx('blob_chunks').insert({ key, seq: seq++, data: chunk });
        size += chunk.length;
      }
      await trx('blobs').where({ key }).update({ size });
      return size;
    });
  }

  async stream(key: string): Promise<Readable | null> {
    const blob = await this.db('blobs').where({ key }).first<{ size: number } | undefined>('size');
    if (!blob) return null;
    const db = this.db;
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let seq = 0; ; seq++) {
        const row = await db('blob_chunks').where({ key, seq }).first<{ data: Buffer } | undefined>('data');
        if (!row) return;
        yield row.data;
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  async read(key: string): Promise<Buffer | null> {
    const blob = await this.db('blobs').where({ key }).first<{ size: number } | undefined>('size');
    if (!blob) return null;
    const rows = await this.db('blob_chunks').where({ key }).orderBy('seq').select<{ data: Buffer }[]>('data');
    return Buffer.concat(rows.map((r) => r.data));
  }

  async size(key: string): Promise<number | null> {
    const blob = await this.db('blobs').where({ key }).first<{ size: number } | undefined>('size');
    return blob ? blob.size : null;
  }

  async rename(from: string, to: string, within: Db = this.db): Promise<void> {
    await within.transaction(async (trx) => {
      const blob = await trx('blobs').where({ key: from }).first<{ size: number } | undefined>('size');
      if (!blob) throw new Error(`there is no blob ${from} to rename`);
      await trx('blobs').where({ key: to }).delete();
      await trx('blobs').insert({ key: to, size: blob.size });
      // Only the key changes: PostgreSQL keeps the chunks' data where it is.
      await trx('blob_chunks').where({ key: from }).update({ key: to });
      await trx('blobs').where({ key: from }).delete();
    });
  }

  async delete(key: string, within: Db = this.db): Promise<void> {
    await within('blobs').where({ key }).delete();
  }

  async listOlder(prefix: string, olderThanSeconds: number, after: string, limit: number): Promise<string[]> {
    return this.db('blobs')
      .where('key', '>', after)
      .andWhereRaw('starts_with(key, ?)', [prefix])
      .andWhereRaw('created_at <= now() - make_interval(secs => ?)', [olderThanSeconds])
      .orderBy('key')
      .limit(limit)
      .pluck('key');
  }

  async deleteMany(keys: string[]): Promise<number> {
    return this.db('blobs').whereIn('key', keys).delete();
  }
}
