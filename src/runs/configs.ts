// Configuration versions: the uploaded tarball of a workspace's configuration. An upload is
// inspected before anything is stored; an unsafe or oversized one leaves the version errored with
// the reason and stores nothing.
import { audited, creatorOf, recordChange } from '../audit/index.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { authorize, type Action } from '../auth/authorize.js';
import { principalOf, type Subject } from '../auth/subject.js';
import type { UrlSigner } from '../api/signing.js';
import type { Site } from '../api/http.js';
import type { BlobOwner } from '../blobs/collector.js';
import type { BlobStore } from '../blobs/store.js';
import { existingIds, type Db } from '../db/index.js';
import { inOrderOf } from '../db/lists.js';
import { ConflictError, InvalidError, notFound, NotFoundError, PayloadTooLargeError } from '../errors.js';
import { newId } from '../ids.js';
import type { Logger } from '../logger.js';
import type { Workspace, WorkspaceService } from '../workspaces/index.js';
import { inspectArchive, UnsafeArchiveError } from './archive.js';
import { FINAL_STATUSES } from './machine.js';
import * as store from './store.js';
import type { ConfigurationVersion } from './store.js';

export type { ConfigurationVersion } from './store.js';

export const UPLOAD_PURPOSE = 'configuration-versions';
const UPLOAD_TTL_SECONDS = 60 * 60;

const BLOB_PREFIX = 'configuration-versions/';
const BLOB_SUFFIX = '.tar.gz';

export function configBlobKey(id: string): string {
  return `${BLOB_PREFIX}${id}${BLOB_SUFFIX}`;
}

/** Configuration versions own their tarballs, configuration-versions/<version id>.tar.gz. */
export function configBlobOwner(db: Db): BlobOwner {
  return {
    prefix: BLOB_PREFIX,
    recordOf: (key) => key.slice(BLOB_PREFIX.length, key.endsWith(BLOB_SUFFIX) ? -BLOB_SUFFIX.length : undefined),
    existing: (ids) => existingIds(db, 'configuration_versions', ids),
  };
}

/** Writes the (already size-limited) upload to a file; returns its size. */
async function save(body: AsyncIterable<Buffer>, file: string): Promise<number> {
  let size = 0;
  await pipeline(
    body,
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        size += chunk.length;
        yield chunk;
      }
    },
    fs.createWriteStream(file, { mode: 0o600 }),
  );
  return size;
}

export class ConfigurationVersionService {
  private uploadedHooks: Array<(cv: ConfigurationVersion) => Promise<void>> = [];

  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly workspaces: WorkspaceService,
    private readonly signer: UrlSigner,
    private readonly site: Site,
    /** --max-config-size: the largest upload, packed or unpacked */
    readonly maxSize: number,
    private readonly logger: Logger,
  ) {}

  /** Called after a configuration version with auto-queue-runs is uploaded. */
  onAutoQueue(hook: (cv: ConfigurationVersion) => Promise<void>): void {
    this.uploadedHooks.push(hook);
  }

  private authorize(subject: Subject, action: Action, ws: Workspace, id: string): void {
    authorize(subject, action, { organizationId: ws.organizationId, workspaceId: ws.id }, () => notFound('configuration version', id));
  }

  uploadUrl(cv: ConfigurationVersion): string | null {
    if (cv.status !== 'pending') return null;
    return `${this.site.baseUrl}/_signed/${UPLOAD_PURPOSE}/${cv.id}/${this.signer.sign(UPLOAD_PURPOSE, cv.id, UPLOAD_TTL_SECONDS)}`;
  }

  async create(
    subject: Subject,
    workspaceId: string,
    opts: { autoQueueRuns: boolean; speculative: boolean; provisional: boolean },
  ): Promise<ConfigurationVersion> {
    const ws = await this.workspaces.get(subject, workspaceId);
    authorize(subject, 'run:queue', { organizationId: ws.organizationId, workspaceId: ws.id }, () => notFound('workspace', workspaceId));
    const id = newId('cv');
    const change = { action: 'configuration-version.create', resource: { type: 'configuration-versions', id }, organizationId: ws.organizationId, details: { workspace: ws.id, speculative: opts.speculative } };
    return audited(this.db, (trx) => store.insertConfigurationVersion(trx, { id, workspaceId: ws.id, ...opts, createdBy: principalOf(subject) }), change);
  }

  async get(subject: Subject, id: string): Promise<{ cv: ConfigurationVersion; ws: Workspace }> {
    const cv = await store.findConfigurationVersion(this.db, id);
    const ws = cv ? await this.workspaces.byId(cv.workspaceId) : null;
    if (!cv || !ws) throw notFound('configuration version', id);
    this.authorize(subject, 'run:read', ws, id);
    return { cv, ws };
  }

  /** Internal lookup without authorization, for domains that already hold an id. */
  async byId(id: string): Promise<ConfigurationVersion | null> {
    return store.findConfigurationVersion(this.db, id);
  }

  /** The configuration versions of these ids that exist, in the order of the ids, read in one statement. */
  async byIds(ids: string[]): Promise<ConfigurationVersion[]> {
    return inOrderOf(ids, await store.findConfigurationVersions(this.db, [...new Set(ids)]));
  }

  async list(subject: Subject, workspaceId: string, limit: number, offset: number): Promise<{ items: ConfigurationVersion[]; total: number }> {
    const ws = await this.workspaces.get(subject, workspaceId);
    this.authorize(subject, 'run:read', ws, workspaceId);
    return store.listConfigurationVersions(this.db, ws.id, limit, offset);
  }

  /** The newest uploaded configuration of the workspace, for runs created without one. */
  async latestUploaded(workspaceId: string): Promise<ConfigurationVersion | null> {
    return store.latestUploadedConfigurationVersion(this.db, workspaceId);
  }

  /** The tarball of an uploaded configuration, for the runner. */
  async download(subject: Subject, id: string): Promise<Readable> {
    const { cv } = await this.get(subject, id);
    // TFC answers 404 for a configuration that has nothing to download (pending, errored, archived).
    if (cv.status !== 'uploaded') throw new NotFoundError(`configuration version ${id} has no configuration to download: it is ${cv.status}`);
    const stream = await this.blobs.stream(configBlobKey(id));
    if (!stream) throw new NotFoundError(`configuration version ${id} has no stored configuration`);
    return stream;
  }

  /**
   * actions/archive: drops the tarball of an uploaded configuration version, as TFC does, unless
   * the workspace still uses it: it is the workspace's current one, or the newest uploaded one (a
   * run that names no configuration takes that one: archiving it would silently hand new runs an
   * older configuration, which may destroy what the newer one added), or a run of it is
   * unfinished. The version's row stays locked while this is decided, and run creation takes a
   * share lock on it (RunService.create), so that no run can start from a tarball being dropped.
   */
  async archive(subject: Subject, id: string): Promise<ConfigurationVersion> {
    const { cv, ws } = await this.get(subject, id);
    this.authorize(subject, 'run:queue', ws, id);
    const refuse = (why: string) => new InvalidError(`transition not allowed: configuration could not be archived because ${why}`);
    return this.db.transaction(async (trx) => {
      const status = await store.lockConfigurationVersion(trx, cv.id, 'update');
      if (status !== 'uploaded') throw refuse(`it is ${status ?? 'gone'}, not uploaded`);
      if (ws.currentConfigurationVersionId === cv.id || (await store.latestUploadedConfigurationVersion(trx, ws.id))?.id === cv.id) throw refuse('it is current');
      if ((await store.unfinishedRunsOf(trx, cv.id, [...FINAL_STATUSES])) > 0) throw refuse('it has runs in progress');
      const archived = await store.archiveConfigurationVersion(trx, cv.id);
      if (!archived) throw refuse('it changed meanwhile');
      await this.blobs.delete(configBlobKey(cv.id), trx);
      await recordChange(trx, { action: 'configuration-version.archive', resource: { type: 'configuration-versions', id: cv.id }, organizationId: ws.organizationId, details: { workspace: ws.id } });
      return archived;
    });
  }

  /**
   * Stores the archive of a commit fetched for a configuration version made from it (status
   * fetching), inspected as an upload is. Answers the reason when it cannot be stored (too large,
   * unsafe); the version is then errored with it. The caller keeps and removes the file.
   */
  async storeFetched(id: string, file: string, size: number): Promise<{ stored: true } | { stored: false; reason: string }> {
    const refuse = async (reason: string) => {
      await this.fetchFailed(id, reason);
      return { stored: false as const, reason };
    };
    if (size > this.maxSize) return refuse(`the configuration is larger than the limit of ${this.maxSize} bytes (${size} bytes packed)`);
    try {
      await inspectArchive(file, this.maxSize);
    } catch (err) {
      if (!(err instanceof UnsafeArchiveError)) throw err;
      return refuse(`rejected configuration: ${err.message}`);
    }
    await this.blobs.put(configBlobKey(id), fs.createReadStream(file));
    if (!(await store.settleConfigurationVersion(this.db, id, { status: 'uploaded', size }, 'fetching'))) {
      // Settled meanwhile by another otfd processing the same delivery: its outcome stands.
      this.logger.info({ cv: id }, 'configuration version was no longer fetching when its commit was stored');
    }
    return { stored: true };
  }

  /** The commit of a configuration version could not be fetched: it is errored with the reason. */
  async fetchFailed(id: string, reason: string): Promise<void> {
    await store.settleConfigurationVersion(this.db, id, { status: 'errored', error: reason }, 'fetching');
  }

  /**
   * Receives the tarball PUT to a signed upload URL (a body already limited to maxSize), inspects
   * it, then stores it. On an unsafe or oversized archive the version becomes errored with the
   * reason and nothing is kept.
   */
  async upload(id: string, signature: string, body: AsyncIterable<Buffer>): Promise<ConfigurationVersion> {
    if (!this.signer.verify(UPLOAD_PURPOSE, id, signature)) throw new NotFoundError('upload URL is invalid or has expired');
    const cv = await store.findConfigurationVersion(this.db, id);
    if (!cv) throw notFound('configuration version', id);
    if (cv.status === 'uploaded') {
      // TFC accepts a second upload to the same URL (go-tfe's tests do it). An uploaded
      // configuration never changes under its runs, so the first one stays and this one is read
      // (within the size limit) and dropped.
      for await (const chunk of body) void chunk;
      this.logger.info({ cv: id }, 'ignored a second upload to an uploaded configuration version');
      return cv;
    }
    if (cv.status !== 'pending') throw new ConflictError(`configuration version ${id} is ${cv.status} and takes no upload`);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'otf-upload-'));
    const file = path.join(dir, 'config.tar.gz');
    let uploaded: ConfigurationVersion | null;
    try {
      let size: number;
      try {
        size = await save(body, file);
      } catch (err) {
        if (!(err instanceof PayloadTooLargeError)) throw err;
        const reason = `the configuration is larger than the limit of ${this.maxSize} bytes`;
        await this.settleUpload(cv, { status: 'errored', error: reason });
        throw new PayloadTooLargeError(reason);
      }
      try {
        await inspectArchive(file, this.maxSize);
      } catch (err) {
        if (!(err instanceof UnsafeArchiveError)) throw err;
        const reason = `rejected configuration: ${err.message}`;
        await this.settleUpload(cv, { status: 'errored', error: reason });
        throw new InvalidError(reason);
      }
      await this.blobs.put(configBlobKey(id), fs.createReadStream(file));
      uploaded = await this.settleUpload(cv, { status: 'uploaded', size });
      if (!uploaded) throw new ConflictError(`configuration version ${id} was uploaded concurrently`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    if (uploaded.autoQueueRuns && !uploaded.provisional) {
      for (const hook of this.uploadedHooks) {
        await hook(uploaded).catch((err) => this.logger.error({ err, cv: id }, 'failed to queue a run for an uploaded configuration'));
      }
    }
    return uploaded;
  }

  /**
   * Settles a pending version with what was uploaded to its signed URL, recorded in the audit trail
   * with the actor who created the version: the upload URL is handed out only in the answer to
   * that creation, so the upload is theirs (terraform uploads what its user's token created).
   */
  private async settleUpload(cv: ConfigurationVersion, outcome: { status: 'uploaded'; size: number } | { status: 'errored'; error: string }): Promise<ConfigurationVersion | null> {
    const ws = await this.workspaces.byId(cv.workspaceId);
    return this.db.transaction(async (trx) => {
      const settled = await store.settleConfigurationVersion(trx, cv.id, outcome);
      if (settled && ws) {
        const resource = { type: 'configuration-versions', id: cv.id };
        await recordChange(trx, {
          action: 'configuration-version.upload',
          resource,
          organizationId: ws.organizationId,
          details: { workspace: ws.id, status: outcome.status, size: outcome.status === 'uploaded' ? outcome.size : undefined },
          actor: await creatorOf(trx, resource, 'configuration-version.create', cv.createdBy),
        });
      }
      return settled;
    });
  }
}
