// Rules of the state domain: who may create and read state versions, which version may follow the
// current one, uploads through signed URLs, outputs, and rollbacks.
import { ANONYMOUS_ACTOR, audited, creatorOf, recordChange, type Change, type Details } from '../audit/index.js';
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Knex } from 'knex';
import { authorize, isAllowed, type Action, type Scope } from '../auth/authorize.js';
import { principalOf, type Principal, type Subject } from '../auth/subject.js';
import type { BlobOwner } from '../blobs/collector.js';
import type { BlobStore } from '../blobs/store.js';
import { existingIds, isUniqueViolation, type Db } from '../db/index.js';
import { ConflictError, InvalidError, NotFoundError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { workspaceScope, type Workspace, type WorkspaceService } from '../workspaces/index.js';
import { replaceResources } from './resources.js';
import { JsonScan } from './scan.js';
import { md5Hex, parseJsonObject, parseState, StateReader, withSerial, type CtyType, type ParsedState } from './statefile.js';
import * as store from './store.js';
import type { StateOutputRecord, StateVersion } from './store.js';

export type { StateOutputRecord, StateVersion, StateVersionStatus } from './store.js';

const BLOB_PREFIX = 'state-versions/';

export function stateKey(id: string): string {
  return `${BLOB_PREFIX}${id}/state`;
}

export function jsonStateKey(id: string): string {
  return `${BLOB_PREFIX}${id}/json-state`;
}

/** Where one upload of a version's state file is written before it is checked; unique per upload. */
function stagingKey(id: string): string {
  return `${BLOB_PREFIX}${id}/uploads/${crypto.randomUUID()}`;
}

/** State versions own the blobs under state-versions/<version id>/. */
export function stateBlobOwner(db: Db): BlobOwner {
  return { prefix: BLOB_PREFIX, recordOf: (key) => key.split('/')[1], existing: (ids) => existingIds(db, 'state_versions', ids) };
}

export interface CreateInput {
  serial: number;
  /** hex MD5 of the raw state file */
  md5: string;
  lineage: string | null;
  force: boolean;
  runId: string | null;
  /** The raw state file, when it comes with the request instead of through the upload URL. */
  state: Buffer | null;
  jsonState: Buffer | null;
  /** Output types from json-state-outputs. */
  outputTypes: Record<string, CtyType> | null;
}

export interface Page {
  limit: number;
  offset: number;
}

function describeHolder(holder: Principal): string {
  const kind = { users: 'User', teams: 'Team', runs: 'Run' }[holder.type];
  return `${kind} ${holder.type === 'runs' ? holder.id : holder.name}`;
}

function sameHolder(a: Principal, b: Principal): boolean {
  return a.type === b.type && a.id === b.id;
}

/** Terraform Cloud's rule: the workspace must be locked by the user creating a state version. */
function requireLockedBy(ws: Workspace, principal: Principal): void {
  const holder = ws.lock?.holder;
  if (holder && sameHolder(holder, principal)) return;
  const now = holder ? `it is locked by ${describeHolder(holder)}` : 'it is not locked';
  throw new ConflictError(`workspace "${ws.name}" must be locked by you to create a state version, but ${now}`);
}

/**
 * Whether a state with this serial, md5 and lineage may follow the current version. An equal serial
 * is accepted for the same content only (terraform may persist an unchanged state again).
 */
function checkSuccession(current: StateVersion | null, next: { serial: number; md5: string; lineage: string | null }): void {
  if (!current) return;
  if (next.lineage !== null && current.lineage !== null && next.lineage !== current.lineage) {
    throw new ConflictError(
      `lineage "${next.lineage}" differs from the lineage "${current.lineage}" of the current state version ${current.id}; ` +
        'set "force": true to replace the state with one of another lineage',
    );
  }
  if (next.serial < current.serial) {
    throw new ConflictError(
      `serial ${next.serial} is lower than the serial ${current.serial} of the current state version ${current.id}; ` +
        `a new state needs serial ${current.serial + 1} or higher`,
    );
  }
  if (next.serial === current.serial && next.md5 !== current.md5) {
    throw new ConflictError(
      `serial ${next.serial} is the serial of the current state version ${current.id}, but the content differs ` +
        `(md5 ${next.md5}, current ${current.md5}); a changed state needs serial ${current.serial + 1}`,
    );
  }
}

function checkMd5(actual: string, expected: string, pointer?: string): void {
  if (actual !== expected) {
    throw new InvalidError(`the state's MD5 is ${actual}, but the state version was created with md5 ${expected}`, { pointer });
  }
}

function requireUploadable(version: StateVersion): void {
  if (version.status === 'finalized') {
    throw new ConflictError(`state version ${version.id} is already finalized; its state cannot be replaced`);
  }
  if (version.status === 'discarded') {
    throw new ConflictError(`state version ${version.id} was discarded because a newer state version became current; create a new one`);
  }
}

export class StateService {
  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly workspaces: WorkspaceService,
  ) {}

  private authorize(subject: Subject, action: Action, ws: Workspace, missing: () => NotFoundError, stateVersion?: Scope['stateVersion']): void {
    // The workspace's sharing rules apply: runs of consumer workspaces may read its current state.
    authorize(subject, action, { ...workspaceScope(ws), stateVersion }, missing);
  }

  /**
   * Whether a version is the workspace's current one or from its history, for the sharing rules.
   * Only a job token's reads depend on it; for the others it is not looked up.
   */
  private async versionKind(subject: Subject, ws: Workspace, versionId: string | null): Promise<Scope['stateVersion']> {
    if (subject.kind !== 'job' || subject.workspaceId === ws.id) return undefined;
    return versionId !== null && (await store.currentId(this.db, ws.id)) === versionId ? 'current' : 'history';
  }

  private async load(id: string): Promise<StateVersion> {
    const version = await store.findById(this.db, id);
    if (!version) throw notFound('state version', id);
    return version;
  }

  /** The version and its workspace, if the subject may act on it; 404 when it may not see it. */
  private async visible(subject: Subject, id: string, action: Action): Promise<{ version: StateVersion; ws: Workspace }> {
    const version = await this.load(id);
    const ws = await this.workspaces.byId(version.workspaceId);
    if (!ws) throw notFound('state version', id);
    this.authorize(subject, action, ws, () => notFound('state version', id), await this.versionKind(subject, ws, version.id));
    return { version, ws };
  }

  /** The workspace, if the subject may act on its state. */
  private async workspace(subject: Subject, workspaceId: string, action: Action, stateVersion?: Scope['stateVersion']): Promise<Workspace> {
    const ws = await this.workspaces.get(subject, workspaceId);
    this.authorize(subject, action, ws, () => notFound('workspace', workspaceId), stateVersion);
    return ws;
  }

  // ------------------------------------------------------------ creating

  /**
   * Creates a state version. With the state file in the request it becomes current at once;
   * otherwise it waits, pending, for the file at its upload URL.
   */
  async create(subject: Subject, workspaceId: string, input: CreateInput): Promise<StateVersion> {
    const ws = await this.workspace(subject, workspaceId, 'state:create');
    const principal = principalOf(subject);
    requireLockedBy(ws, principal);
    let runId = input.runId;
    if (subject.kind === 'job') {
      if (runId !== null && runId !== subject.runId) {
        throw new InvalidError(`relationship "run" must be the run of this job (${subject.runId}), got "${runId}"`, {
          pointer: '/data/relationships/run',
        });
      }
      runId = subject.runId;
    }
    let parsed: ParsedState | null = null;
    if (input.state) {
      checkMd5(md5Hex(input.state), input.md5, '/data/attributes/md5');
      parsed = parseState(input.state, '/data/attributes/state');
    }
    // The version's serial is the one the request names, as in Terraform Cloud, which does not hold
    // the file to it (go-tfe's tests send serial 1 with a file of serial 2). Its lineage is the
    // file's, though, whatever the request says (go-tfe sends another): the terraform CLI and the
    // runners push the lineage of the file they downloaded, and a recorded lineage that differs
    // from it would refuse every later state of the workspace (409) until someone forces one.
    // Without a file yet, the request's lineage stands (and is checked) until the upload brings
    // the file's, which is checked again then.
    const lineage = parsed?.lineage ?? input.lineage ?? null;
    if (input.jsonState) parseJsonObject(input.jsonState, 'the JSON state', '/data/attributes/json-state');
    const id = newId('sv');
    await this.db.transaction(async (trx) => {
      await store.lockWorkspace(trx, ws.id);
      if (!input.force) {
        checkSuccession(await store.current(trx, ws.id), { serial: input.serial, md5: input.md5, lineage });
      }
      await store.insert(trx, {
        id,
        workspaceId: ws.id,
        serial: input.serial,
        lineage,
        md5: input.md5,
        force: input.force,
        runId,
        createdBy: principal,
        declaredOutputTypes: input.outputTypes,
      });
      await recordChange(trx, { action: 'state-version.create', resource: { type: 'state-versions', id }, organizationId: ws.organizationId, details: { workspace: ws.id, serial: input.serial, run: runId, force: input.force } });
      if (input.state && parsed) {
        await this.blobs.put(stateKey(id), input.state, trx);
        await this.finalizeLocked(trx, id, ws.id, input.state.length, parsed, input.outputTypes);
      }
    });
    if (input.jsonState) await this.storeJsonState(id, input.jsonState);
    return this.load(id);
  }

  /**
   * Makes the version current, with its state file (of `size` bytes) stored under stateKey(id) in
   * the same transaction, which holds the workspace's state lock and the version's row.
   */
  private async finalizeLocked(
    trx: Knex.Transaction,
    id: string,
    workspaceId: string,
    size: number,
    parsed: ParsedState,
    declaredTypes: Record<string, CtyType> | null,
    into: 'current' | 'history' = 'current',
  ): Promise<void> {
    const f = {
      lineage: parsed.lineage,
      stateFormatVersion: parsed.formatVersion,
      terraformVersion: parsed.terraformVersion,
      size,
      resources: parsed.resources,
      managedInstances: parsed.managedInstances,
    };
    if (into === 'current') await store.finalize(trx, id, workspaceId, f);
    else await store.finalizeIntoHistory(trx, id, f);
    // The workspace's resources are those of its current state (src/state/resources.ts).
    if (into === 'current') await replaceResources(trx, workspaceId, id, parsed.instances);
    await store.insertOutputs(
      trx,
      parsed.outputs.map((o) => ({
        id: newId('wsout'),
        stateVersionId: id,
        name: o.name,
        sensitive: o.sensitive,
        type: o.type ?? declaredTypes?.[o.name] ?? null,
        value: o.value,
      })),
    );
  }

  /** Fails before any byte is read when the version can never take a state file again. */
  async checkUploadable(id: string): Promise<void> {
    const version = await this.load(id);
    // A finalized version still accepts its own content again (a retry): that needs the bytes.
    if (version.status !== 'finalized') requireUploadable(version);
  }

  /**
   * The state file uploaded to a pending version's signed URL: verified against the md5, serial and
   * lineage it was created with, then stored, and the version becomes current before this returns.
   * The file is streamed into the blob store (under a key of this upload's own, so that concurrent
   * uploads keep apart) and read as it goes by; it is never held whole.
   */
  async uploadState(id: string, body: AsyncIterable<Buffer>): Promise<StateVersion> {
    const version = await this.load(id);
    // A retried upload whose first attempt got through (its answer lost) changes nothing: say so,
    // or the CLI would fail and leave the workspace locked.
    if (version.status === 'finalized') {
      const hash = crypto.createHash('md5');
      for await (const chunk of body) hash.update(chunk);
      if (hash.digest('hex') === version.md5) return version;
    }
    requireUploadable(version);
    const hash = crypto.createHash('md5');
    const reader = new StateReader();
    async function* read(): AsyncGenerator<Buffer> {
      for await (const chunk of body) {
        hash.update(chunk);
        reader.write(chunk);
        yield chunk;
      }
    }
    const staged = stagingKey(id);
    const ws = await this.workspaces.byId(version.workspaceId);
    await this.db.transaction(async (trx) => {
      // In the transaction: if anything below fails, the stored file goes with it.
      const size = await this.blobs.put(staged, read(), trx);
      checkMd5(hash.digest('hex'), version.md5);
      const parsed = reader.end();
      await store.lockWorkspace(trx, version.workspaceId);
      const status = await store.lockVersion(trx, id);
      if (status === null) throw notFound('state version', id);
      // Finalized meanwhile by a concurrent upload of these very bytes (the md5 matched): done.
      if (status === 'finalized') {
        await this.blobs.delete(staged, trx);
        return;
      }
      requireUploadable({ ...version, status });
      if (!version.force) {
        // The serial the version was created with, and the file's lineage (see create).
        checkSuccession(await store.current(trx, version.workspaceId), { serial: version.serial, md5: version.md5, lineage: parsed.lineage });
      }
      await this.blobs.rename(staged, stateKey(id), trx);
      await this.finalizeLocked(trx, id, version.workspaceId, size, parsed, version.declaredOutputTypes);
      if (ws) await recordChange(trx, await this.uploadChange(trx, version, ws, { serial: version.serial, size }));
    });
    return this.load(id);
  }

  /**
   * The JSON state (terraform show -json) uploaded to a version's signed URL, streamed to the blob
   * store: otfd only keeps and serves it, so it is checked to be a JSON object on the way and never
   * held whole.
   */
  async uploadJsonState(id: string, body: AsyncIterable<Buffer>): Promise<void> {
    const version = await this.load(id);
    if (version.status === 'discarded') {
      throw new ConflictError(`state version ${id} was discarded because a newer state version became current`);
    }
    const scan = new JsonScan('the JSON state');
    async function* checked(): AsyncGenerator<Buffer> {
      for await (const chunk of body) {
        scan.write(chunk);
        yield chunk;
      }
      scan.end();
    }
    const ws = await this.workspaces.byId(version.workspaceId);
    // Unlike the state file, what is sent to this URL need match nothing the creator declared:
    // whoever holds the URL (any writer of the workspace's state) may send it, and otfd cannot tell who did.
    const change: Change | undefined = ws
      ? { action: 'state-version.upload-json', resource: { type: 'state-versions', id }, organizationId: ws.organizationId, details: { workspace: ws.id }, actor: ANONYMOUS_ACTOR }
      : undefined;
    await this.storeJsonState(id, checked(), change);
  }

  /** Stores a version's JSON state; `change` is the audit trail's record of it, when it is a change of its own. */
  private async storeJsonState(id: string, data: Buffer | AsyncIterable<Buffer>, change?: Change): Promise<void> {
    let size: number;
    try {
      size = await this.blobs.put(jsonStateKey(id), data);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`another upload of the JSON state of state version ${id} is in progress`);
      throw err;
    }
    if (!change) return void (await store.setJsonStateSize(this.db, id, size));
    await audited(this.db, (trx) => store.setJsonStateSize(trx, id, size), { ...change, details: { ...change.details, size } });
  }

  /**
   * The audit trail's record of a state file uploaded to a version's signed URL, with the actor
   * who created the version: the file is accepted only if it is what they declared (its md5,
   * serial and lineage), so it is theirs whoever carried it.
   */
  private async uploadChange(db: Db, version: StateVersion, ws: Workspace, details: Details): Promise<Change> {
    const resource = { type: 'state-versions', id: version.id };
    return {
      action: 'state-version.upload',
      resource,
      organizationId: ws.organizationId,
      details: { workspace: ws.id, ...details },
      actor: await creatorOf(db, resource, 'state-version.create', version.createdBy),
    };
  }

  // ------------------------------------------------------------ late states

  /**
   * A state of a run's apply that reached otfd after its job was over (the run written off, its
   * job token revoked, or otfd unreachable until now), from a runner's outbox. The caller has
   * checked that the runner may speak for the job. It is always kept, as a finalized version in the
   * workspace's history; it becomes current only when it follows the current version: same lineage
   * and a higher serial (or there is no state yet). So nothing newer is ever overwritten: a run that
   * applied meanwhile from the older state wrote a serial at least as high, and wins.
   *
   * The workspace lock is not consulted. Whoever holds it (the next run, a user) works from the
   * current state; a late state that follows it describes infrastructure that really exists, and
   * the holder's own upload then fails the serial check loudly instead of silently erasing those
   * resources from the record. A late state that does not follow never touches what the holder sees.
   *
   * The same bytes delivered again (an answer lost on the way) change nothing and answer the same.
   */
  async saveLate(input: { workspaceId: string; runId: string; state: Buffer }): Promise<{ version: StateVersion; current: boolean; duplicate: boolean }> {
    const parsed = parseState(input.state);
    const md5 = md5Hex(input.state);
    const principal: Principal = { type: 'runs', id: input.runId, name: input.runId };
    const id = newId('sv');
    const ws = await this.workspaces.byId(input.workspaceId);
    const outcome = await this.db.transaction(async (trx) => {
      await store.lockWorkspace(trx, input.workspaceId);
      const existing = await store.findByRunAndMd5(trx, input.workspaceId, input.runId, md5);
      if (existing) return { id: existing.id, current: (await store.currentId(trx, input.workspaceId)) === existing.id, duplicate: true };
      const current = await store.current(trx, input.workspaceId);
      const follows = !current || (current.lineage === parsed.lineage && parsed.serial > current.serial);
      await store.insert(trx, {
        id,
        workspaceId: input.workspaceId,
        serial: parsed.serial,
        lineage: parsed.lineage,
        md5,
        force: false,
        runId: input.runId,
        createdBy: principal,
        declaredOutputTypes: null,
      });
      await this.blobs.put(stateKey(id), input.state, trx);
      await this.finalizeLocked(trx, id, input.workspaceId, input.state.length, parsed, null, follows ? 'current' : 'history');
      // By the request's caller: the pool's agent (or its token) that delivered it from the outbox.
      if (ws) {
        await recordChange(trx, {
          action: 'state-version.create',
          resource: { type: 'state-versions', id },
          organizationId: ws.organizationId,
          details: { workspace: ws.id, serial: parsed.serial, run: input.runId, late: true, current: follows },
        });
      }
      return { id, current: follows, duplicate: false };
    });
    return { version: await this.load(outcome.id), current: outcome.current, duplicate: outcome.duplicate };
  }

  // ------------------------------------------------------------ reading

  /**
   * A version, and whether the subject may write its workspace's state: only then is it handed
   * the signed upload URLs (a JSON state is taken at its URL until the version is discarded).
   */
  async get(subject: Subject, id: string): Promise<{ version: StateVersion; writable: boolean }> {
    const { version, ws } = await this.visible(subject, id, 'state:read');
    return { version, writable: this.writable(subject, ws) };
  }

  private writable(subject: Subject, ws: Workspace): boolean {
    return isAllowed(subject, 'state:create', workspaceScope(ws));
  }

  /** Internal lookup without authorization, for versions another domain names, in the order given (ids of no version are left out). */
  async byIds(ids: string[]): Promise<StateVersion[]> {
    return store.findByIds(this.db, ids);
  }

  /** Internal: the outputs of these versions (for include=outputs on workspaces, which checks access). */
  async outputsOfVersions(ids: string[]): Promise<StateOutputRecord[]> {
    return store.outputsOfVersions(this.db, ids);
  }

  /** The workspace's current state version; 404 when it has none. */
  async current(subject: Subject, workspaceId: string): Promise<{ version: StateVersion; writable: boolean }> {
    const ws = await this.workspace(subject, workspaceId, 'state:read');
    const version = await store.current(this.db, ws.id);
    if (!version) throw new NotFoundError(`workspace ${ws.id} has no state yet`);
    return { version, writable: this.writable(subject, ws) };
  }

  async list(subject: Subject, workspaceId: string, page: Page): Promise<{ items: StateVersion[]; total: number; writable: boolean }> {
    const ws = await this.workspace(subject, workspaceId, 'state:read', 'history');
    return { ...(await store.list(this.db, ws.id, page.limit, page.offset)), writable: this.writable(subject, ws) };
  }

  async listByName(subject: Subject, orgName: string, workspaceName: string, page: Page): Promise<{ items: StateVersion[]; total: number; writable: boolean }> {
    const ws = await this.workspaces.getByName(subject, orgName, workspaceName);
    this.authorize(subject, 'state:read', ws, () => notFound('workspace', `${orgName}/${workspaceName}`), 'history');
    return { ...(await store.list(this.db, ws.id, page.limit, page.offset)), writable: this.writable(subject, ws) };
  }

  /** The raw state file of a version. */
  async download(subject: Subject, id: string): Promise<{ stream: Readable; size: number }> {
    const { version } = await this.visible(subject, id, 'state:read');
    const stream = version.status === 'finalized' ? await this.blobs.stream(stateKey(id)) : null;
    if (!stream || version.size === null) throw new NotFoundError(`state version ${id} has no state file: it is ${version.status}`);
    return { stream, size: version.size };
  }

  /** The JSON state of a version, when one was uploaded. */
  async downloadJson(subject: Subject, id: string): Promise<{ stream: Readable; size: number }> {
    const { version } = await this.visible(subject, id, 'state:read');
    const stream = version.jsonStateSize === null ? null : await this.blobs.stream(jsonStateKey(id));
    if (!stream || version.jsonStateSize === null) throw new NotFoundError(`state version ${id} has no JSON state`);
    return { stream, size: version.jsonStateSize };
  }

  async outputs(subject: Subject, id: string): Promise<StateOutputRecord[]> {
    const { version } = await this.visible(subject, id, 'state:read-outputs');
    return store.outputsOf(this.db, version.id);
  }

  /** The outputs of the workspace's current state; none when it has no state. */
  async currentOutputs(subject: Subject, workspaceId: string): Promise<StateOutputRecord[]> {
    const ws = await this.workspace(subject, workspaceId, 'state:read-outputs');
    const id = await store.currentId(this.db, ws.id);
    return id ? store.outputsOf(this.db, id) : [];
  }

  async output(subject: Subject, id: string): Promise<StateOutputRecord> {
    const found = await store.findOutput(this.db, id);
    const ws = found ? await this.workspaces.byId(found.workspaceId) : null;
    if (!found || !ws) throw notFound('state version output', id);
    this.authorize(subject, 'state:read-outputs', ws, () => notFound('state version output', id), await this.versionKind(subject, ws, found.output.stateVersionId));
    return found.output;
  }

  // ------------------------------------------------------------ rollback

  /**
   * A new current version with the content of an earlier finalized one, under a serial above any
   * in the history so that terraform accepts it. The workspace must not be locked by somebody else.
   */
  async rollback(subject: Subject, id: string): Promise<StateVersion> {
    const { version: target, ws } = await this.visible(subject, id, 'state:rollback');
    if (target.status !== 'finalized') {
      throw new ConflictError(`cannot roll back to state version ${id}: it is ${target.status}, and only a finalized version can be restored`);
    }
    const principal = principalOf(subject);
    if (ws.lock && !sameHolder(ws.lock.holder, principal)) {
      throw new ConflictError(`workspace "${ws.name}" is locked by ${describeHolder(ws.lock.holder)}; its state cannot be rolled back until it is unlocked`);
    }
    const original = await this.blobs.read(stateKey(id));
    if (!original) throw new Error(`state file of finalized state version ${id} is missing from the blob store`);
    const jsonState = await this.blobs.read(jsonStateKey(id));
    const newVersionId = newId('sv');
    await this.db.transaction(async (trx) => {
      await store.lockWorkspace(trx, ws.id);
      // Above every serial in the history (a forced push may have lowered the current one).
      const serial = ((await store.maxSerial(trx, ws.id)) ?? target.serial) + 1;
      const bytes = withSerial(original, serial);
      const parsed = parseState(bytes);
      await store.insert(trx, {
        id: newVersionId,
        workspaceId: ws.id,
        serial,
        lineage: parsed.lineage,
        md5: md5Hex(bytes),
        force: true,
        runId: null,
        createdBy: principal,
        declaredOutputTypes: target.declaredOutputTypes,
      });
      await recordChange(trx, { action: 'state-version.rollback', resource: { type: 'state-versions', id: newVersionId }, organizationId: ws.organizationId, details: { workspace: ws.id, 'rolled-back-to': id, serial } });
      await this.blobs.put(stateKey(newVersionId), bytes, trx);
      await this.finalizeLocked(trx, newVersionId, ws.id, bytes.length, parsed, target.declaredOutputTypes);
    });
    if (jsonState) await this.storeJsonState(newVersionId, jsonState);
    return this.load(newVersionId);
  }

  /**
   * Terraform Cloud's route for the same: PATCH /workspaces/:id/state-versions naming the version
   * to restore. The version must be one of this workspace's.
   */
  async rollbackWorkspace(subject: Subject, workspaceId: string, versionId: string): Promise<StateVersion> {
    const ws = await this.workspace(subject, workspaceId, 'state:rollback', 'history');
    const target = await store.findById(this.db, versionId);
    if (!target || target.workspaceId !== ws.id) {
      throw new InvalidError(`state version "${versionId}" does not exist in workspace ${ws.id}`, { pointer: '/data/relationships/rollback-state-version/data/id' });
    }
    return this.rollback(subject, versionId);
  }

  // ------------------------------------------------------------ for other domains

  /** Whether the workspace's current state holds managed resources (safe-delete refuses then). */
  async hasResources(workspaceId: string): Promise<boolean> {
    return store.currentHasResources(this.db, workspaceId);
  }

  /**
   * Whether the lock holder's latest state version is still waiting for its upload (one younger
   * than `windowSeconds`, which the CLI's retries of unlock easily outlast): unlocking now would let
   * others read the state before it. An abandoned upload stops blocking after the window.
   */
  async pendingUpload(workspaceId: string, holder: Principal, windowSeconds = 10): Promise<boolean> {
    return store.pendingBy(this.db, workspaceId, holder, new Date(Date.now() - windowSeconds * 1000));
  }

  /** The id of the workspace's current state version, or null when it has no state. */
  async currentVersionId(workspaceId: string): Promise<string | null> {
    return store.currentId(this.db, workspaceId);
  }

  /** The ids of the finalized state versions a run wrote, oldest first (an apply's state-versions). */
  async idsOfRun(workspaceId: string, runId: string): Promise<string[]> {
    return store.finalizedIdsOfRun(this.db, workspaceId, runId);
  }
}
