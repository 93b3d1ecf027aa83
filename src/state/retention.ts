// Data retention for state versions (src/retention/ decides when and for which workspaces):
// finalized and discarded versions created before a date are deleted, their outputs with them
// (foreign key), their state files by the blob collector once the records are gone. Never the
// workspace's current version, whatever its age, and never a pending one (an upload may be under
// way). Under the workspace's state lock, so that the version that is current when the delete runs
// is the one kept.
import { recordChange } from '../audit/index.js';
import type { Db } from '../db/index.js';
import * as store from './store.js';

export async function pruneStateVersions(db: Db, ws: { id: string; organizationId: string }, before: Date): Promise<number> {
  return db.transaction(async (trx): Promise<number> => {
    await store.lockWorkspace(trx, ws.id);
    const current = await store.currentId(trx, ws.id);
    const q = trx('state_versions').where({ workspace_id: ws.id }).where('created_at', '<', before).whereIn('status', ['finalized', 'discarded']);
    if (current) q.whereNot('id', current);
    const deleted = await q.delete();
    // By otfd (system): one event for the whole deletion, in its transaction.
    if (deleted > 0) {
      await recordChange(trx, {
        action: 'workspace.prune-state-versions',
        resource: { type: 'workspaces', id: ws.id },
        organizationId: ws.organizationId,
        details: { count: deleted, before: before.toISOString() },
      });
    }
    return deleted;
  });
}
