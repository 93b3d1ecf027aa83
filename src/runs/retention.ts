// Data retention for runs and configuration versions: what a workspace's retention policy deletes
// (src/retention/ decides when and for which workspaces). Never anything a workspace still needs:
// a run that is not final, the workspace's latest run and current run (what its page and the
// API's current-run/latest-run show), the workspace's newest configuration version, and any
// configuration version a remaining run was made from. A deleted run takes its plan and apply,
// jobs, events and comments with it (foreign keys) and its logs here; its artifacts in the blob
// store go to the collector once the run's record is gone.
import { recordChange, type Change } from '../audit/index.js';
import type { Db } from '../db/index.js';
import { CURRENT_RUN_ID, LATEST_RUN_ID } from '../workspaces/index.js';
import { FINAL_STATUSES } from './machine.js';

/** Rows deleted in one transaction, so that a large backlog never holds locks for long. */
const BATCH = 500;

export interface RunPruning {
  runs: number;
  configurationVersions: number;
}

/**
 * The audit trail's record of one batch deleted by the workspace's retention policy: by otfd
 * (system), one event per transaction, saying how many went (their ids would not fit a detail).
 */
function prunedChange(what: string, ws: { id: string; organizationId: string }, before: Date, ids: string[]): Change {
  return {
    action: `workspace.prune-${what}`,
    resource: { type: 'workspaces', id: ws.id },
    organizationId: ws.organizationId,
    details: { count: ids.length, before: before.toISOString() },
  };
}

/** Deletes the workspace's final runs and unused configuration versions created before `before`. */
export async function pruneRuns(db: Db, ws: { id: string; organizationId: string }, before: Date): Promise<RunPruning> {
  const workspaceId = ws.id;
  const out: RunPruning = { runs: 0, configurationVersions: 0 };
  for (;;) {
    const n = await db.transaction(async (trx): Promise<number> => {
      // The workspace's latest and current runs, as the workspaces domain reads them, are kept.
      const runs = await trx('workspaces as w')
        .where('w.id', workspaceId)
        .first<{ latest: string | null; current: string | null } | undefined>(trx.raw(`${LATEST_RUN_ID} AS latest`), trx.raw(`${CURRENT_RUN_ID} AS current`));
      const keep = [runs?.latest, runs?.current].filter((id): id is string => typeof id === 'string');
      // Final runs never change status again; the row lock keeps two replicas from racing.
      const ids: string[] = await trx('runs')
        .where({ workspace_id: workspaceId })
        .where('created_at', '<', before)
        .whereIn('status', [...FINAL_STATUSES])
        .whereNotIn('id', keep)
        .orderBy('created_at')
        .limit(BATCH)
        .forUpdate()
        .skipLocked()
        .pluck('id');
      if (ids.length === 0) return 0;
      // Logs are keyed by phase id, with no foreign key to cascade through.
      const phases = trx.select('id').from('plans').whereIn('run_id', ids).union((q) => q.select('id').from('applies').whereIn('run_id', ids));
      await trx('run_logs').whereIn('phase_id', phases).delete();
      const deleted = await trx('runs').whereIn('id', ids).delete();
      await recordChange(trx, prunedChange('runs', ws, before, ids));
      return deleted;
    });
    out.runs += n;
    if (n < BATCH) break;
  }
  for (;;) {
    const n = await db.transaction(async (trx): Promise<{ deleted: number; looked: number }> => {
      const newest = await trx('configuration_versions').where({ workspace_id: workspaceId }).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).first<{ id: string } | undefined>('id');
      // Locked first: a run being created from one of them waits (its foreign key check needs
      // the row), and the check below, a statement of its own, then sees it. Deleting a version
      // would cascade to its runs, so a version any run still uses is never deleted.
      const candidates: string[] = await trx('configuration_versions')
        .where({ workspace_id: workspaceId })
        .where('created_at', '<', before)
        .whereNot('id', newest?.id ?? '')
        .orderBy('created_at')
        .limit(BATCH)
        .forUpdate()
        .pluck('id');
      if (candidates.length === 0) return { deleted: 0, looked: 0 };
      const used = new Set<string>(await trx('runs').whereIn('configuration_version_id', candidates).distinct().pluck('configuration_version_id'));
      const unused = candidates.filter((id) => !used.has(id));
      const deleted = unused.length > 0 ? await trx('configuration_versions').whereIn('id', unused).delete() : 0;
      if (deleted > 0) await recordChange(trx, prunedChange('configuration-versions', ws, before, unused));
      return { deleted, looked: candidates.length };
    });
    out.configurationVersions += n.deleted;
    // Versions still in use stay candidates: stop once a batch deletes nothing or was the last.
    if (n.looked < BATCH || n.deleted === 0) break;
  }
  return out;
}
