// The resources of a workspace's current state (TFC's Workspace Resources API): one row per
// instance of a managed resource, written when a state version becomes current, in the same
// transaction (StateService.finalizeLocked). A page of them is then one indexed query, however
// large the state: reading the state file on every request would parse up to hundreds of
// megabytes to show 100 lines. Only the current state's rows are kept; each instance keeps when it
// first appeared and which version last changed it (its JSON in the state file differed).
import type { Knex } from 'knex';
import { authorize } from '../auth/authorize.js';
import type { Subject } from '../auth/subject.js';
import type { BlobStore } from '../blobs/store.js';
import type { Db } from '../db/index.js';
import { notFound } from '../errors.js';
import { newId } from '../ids.js';
import { workspaceScope, type WorkspaceService } from '../workspaces/index.js';
import { StateReader, type ResourceInstance } from './statefile.js';
import * as store from './store.js';

export interface WorkspaceResource {
  id: string;
  address: string;
  name: string;
  module: string;
  provider: string;
  providerType: string;
  nameIndex: string | null;
  modifiedByStateVersionId: string;
  createdAt: Date;
  updatedAt: Date;
}

interface ResourceRow {
  id: string;
  address: string;
  name: string;
  module: string;
  provider: string;
  provider_type: string;
  name_index: string | null;
  modified_by_state_version_id: string;
  created_at: Date;
  updated_at: Date;
}

function toResource(r: ResourceRow): WorkspaceResource {
  return {
    id: r.id,
    address: r.address,
    name: r.name,
    module: r.module,
    provider: r.provider,
    providerType: r.provider_type,
    nameIndex: r.name_index,
    modifiedByStateVersionId: r.modified_by_state_version_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Rows per INSERT: 13 parameters each, well below PostgreSQL's 65535. */
const BATCH = 1000;

/**
 * Makes the instances of version `versionId` the workspace's resources, in the caller's transaction
 * (which holds the workspace's state lock). An address already listed keeps its id and creation
 * time, and its modification time and version unless its JSON changed; addresses gone are removed.
 */
export async function replaceResources(trx: Knex.Transaction, workspaceId: string, versionId: string, instances: ResourceInstance[]): Promise<void> {
  // One row per address: a state naming an address twice keeps its last instance, as terraform would read it.
  const byAddress = new Map<string, { instance: ResourceInstance; position: number }>();
  instances.forEach((instance, position) => byAddress.set(instance.address, { instance, position }));
  const now = new Date();
  const rows = [...byAddress.values()].map(({ instance: i, position }) => ({
    workspace_id: workspaceId,
    address: i.address,
    id: newId('wsr'),
    position,
    name: i.name,
    module: i.module,
    provider: i.provider,
    provider_type: i.type,
    name_index: i.nameIndex,
    content_md5: i.md5,
    state_version_id: versionId,
    modified_by_state_version_id: versionId,
    created_at: now,
    updated_at: now,
  }));
  const unchanged = (column: string) => trx.raw(`CASE WHEN workspace_resources.content_md5 = excluded.content_md5 THEN workspace_resources.${column} ELSE excluded.${column} END`);
  for (let i = 0; i < rows.length; i += BATCH) {
    await trx('workspace_resources')
      .insert(rows.slice(i, i + BATCH))
      .onConflict(['workspace_id', 'address'])
      .merge({
        position: trx.raw('excluded.position'),
        name: trx.raw('excluded.name'),
        module: trx.raw('excluded.module'),
        provider: trx.raw('excluded.provider'),
        provider_type: trx.raw('excluded.provider_type'),
        name_index: trx.raw('excluded.name_index'),
        state_version_id: trx.raw('excluded.state_version_id'),
        updated_at: unchanged('updated_at'),
        modified_by_state_version_id: unchanged('modified_by_state_version_id'),
        content_md5: trx.raw('excluded.content_md5'),
      });
  }
  await trx('workspace_resources').where({ workspace_id: workspaceId }).whereNot({ state_version_id: versionId }).delete();
  await trx('workspace_resource_sources')
    .insert({ workspace_id: workspaceId, state_version_id: versionId, resource_count: rows.length })
    .onConflict('workspace_id')
    .merge();
}

async function sourceOf(db: Db, workspaceId: string): Promise<{ state_version_id: string; resource_count: number } | undefined> {
  return db('workspace_resource_sources').where({ workspace_id: workspaceId }).first<{ state_version_id: string; resource_count: number } | undefined>();
}

export class WorkspaceResourceService {
  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly workspaces: WorkspaceService,
    /** Where the state file of a version is kept in the blob store. */
    private readonly stateKey: (versionId: string) => string,
  ) {}

  /** A page of the resources of the workspace's current state, in the order of the state file. */
  async list(subject: Subject, workspaceId: string, limit: number, offset: number): Promise<{ items: WorkspaceResource[]; total: number }> {
    const ws = await this.workspaces.get(subject, workspaceId);
    // Whoever may read the current state may read what it holds.
    authorize(subject, 'state:read', { ...workspaceScope(ws), stateVersion: 'current' }, () => notFound('workspace', workspaceId));
    const source = await this.computed(ws.id);
    if (!source) return { items: [], total: 0 };
    const rows = await this.db('workspace_resources')
      .where({ workspace_id: ws.id })
      .orderBy('position')
      .orderBy('address')
      .limit(limit)
      .offset(offset)
      .select<ResourceRow[]>('id', 'address', 'name', 'module', 'provider', 'provider_type', 'name_index', 'modified_by_state_version_id', 'created_at', 'updated_at');
    return { items: rows.map(toResource), total: source.resource_count };
  }

  /**
   * The workspace's resources as computed from its current state; a state that became current
   * before otfd computed resources is read once, streamed from the blob store, on first request.
   */
  private async computed(workspaceId: string): Promise<{ resource_count: number } | undefined> {
    const current = await store.currentId(this.db, workspaceId);
    if (current === null) return undefined;
    const source = await sourceOf(this.db, workspaceId);
    if (source?.state_version_id === current) return source;
    const stream = await this.blobs.stream(this.stateKey(current));
    if (!stream) throw new Error(`state file of the current state version ${current} is missing from the blob store`);
    const reader = new StateReader();
    for await (const chunk of stream) reader.write(chunk as Buffer);
    const { instances } = reader.end();
    await this.db.transaction(async (trx) => {
      await store.lockWorkspace(trx, workspaceId);
      // A newer version became current meanwhile: it wrote its own resources.
      if ((await store.currentId(trx, workspaceId)) === current) await replaceResources(trx, workspaceId, current, instances);
    });
    return sourceOf(this.db, workspaceId);
  }
}
