// The runs domain's metrics (registered in otfd's one registry by src/server.ts): waiting runs by
// what they wait for and where they will run, computed from the database at scrape time so that
// every replica reports the same; and run outcomes, counted by the otfd that saw the run end.
import client from 'prom-client';
import type { Registry } from '../metrics.js';
import { FINAL_STATUSES, type RunStatus } from './machine.js';
import type { Run, StatusChangeHook } from './service.js';
import type { WaitingService } from './waiting.js';

/** Waiting runs explained per scrape, at most: an installation with more waits for other reasons too. */
const MAX_EXPLAINED = 1000;

/** Registers otf_runs_queued and otf_run_outcomes_total; returns the hook that counts outcomes. */
export function registerRunMetrics(registry: Registry, waiting: WaitingService, poolOf: (run: Run) => Promise<string | null>): StatusChangeHook {
  new client.Gauge({
    name: 'otf_runs_queued',
    help: 'Runs waiting (pending, plan_queued, confirmed, apply_queued) by what they wait for (the reason of their status-explanation) and the pool they run on ("server": the server agent)',
    labelNames: ['reason', 'pool'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const counts = new Map<string, { reason: string; pool: string; n: number }>();
      // Pending runs of one workspace run where it runs: its pool is looked up once per scrape.
      const pools = new Map<string, Promise<string | null>>();
      const pendingPool = (run: Run) => pools.get(run.workspaceId) ?? pools.set(run.workspaceId, poolOf(run)).get(run.workspaceId)!;
      for (const { run, waiting: w } of await waiting.explainWaiting(MAX_EXPLAINED)) {
        // A queued run's job names its pool; a pending run will run where its workspace runs now.
        const pool = w.runner === 'pool' ? (w.pool?.id ?? 'unknown') : w.runner === 'server-agent' ? 'server' : ((await pendingPool(run)) ?? 'server');
        const key = `${w.reason}\u0000${pool}`;
        const c = counts.get(key) ?? { reason: w.reason, pool, n: 0 };
        c.n++;
        counts.set(key, c);
      }
      for (const c of counts.values()) this.set({ reason: c.reason, pool: c.pool }, c.n);
    },
  });
  const outcomes = new client.Counter({
    name: 'otf_run_outcomes_total',
    help: 'Runs that reached a final status, by status (counted by the otfd that made the transition)',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  // Health assessments are hidden runs: their outcomes are otf_assessments_total's.
  return async (run: Run, _from: RunStatus, to: RunStatus) => {
    if (FINAL_STATUSES.has(to) && !run.assessment) outcomes.inc({ status: to });
  };
}
