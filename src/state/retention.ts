// Data retention for state versions (src/retention/ decides when and for which workspaces):
// finalized and discarded versions created before a date are deleted, their outputs with them
// (foreign key), their state files by the blob collector once the records are gone. Never the
// workspace's current version, whatever its age, and never a pending one (an upload may be under
// way). Under the workspace's state lock, so that the version that is current when the delete runs
// is the one kept.
import type { Db } from '../db/index.js';
import * as store from './store.js';

export async function pruneStateVersions(db: Db, workspaceId: string, before: Date): Promise<number> {
  return db.transaction(async (trx): Promise<number> => {
    await store.lockWorkspace(trx, workspaceId);
    const current = await store.currentId(trx, workspaceId);
    const q = trx('state_versions').where({ workspace_id: workspaceId }).where('created_at', '<', before).whereIn('status', ['finalized', 'discarded']);
    if (current) q.whereNot('id', current);
    return await q.delete();
  });
}
