// The jobs domain's metrics (registered in otfd's one registry by src/server.ts): the queue depth
// per pool and phase, the signal to scale agents on (docs/autoscaling.md), computed from the
// database at scrape time; and how long jobs run, observed by the otfd that saw each one end.
import client from 'prom-client';
import type { Registry } from '../metrics.js';
import type { JobService } from './service.js';

export function registerJobMetrics(registry: Registry, jobs: JobService): void {
  new client.Gauge({
    name: 'otf_jobs_queued',
    help: 'Jobs (plans and applies) waiting for a runner, by pool id ("server": the server agent), pool name and phase',
    labelNames: ['pool', 'pool_name', 'phase'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of await jobs.queuedCounts()) this.set({ pool: c.poolId ?? 'server', pool_name: c.poolName ?? 'server', phase: c.phase }, c.n);
    },
  });
  const durations = new client.Histogram({
    name: 'otf_job_duration_seconds',
    help: 'How long jobs ran, from start to end, by phase and how they ended',
    labelNames: ['phase', 'status'] as const,
    // From a few seconds to the 2 h default timeout.
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200],
    registers: [registry],
  });
  jobs.onEnded((phase, seconds, status) => durations.observe({ phase, status }, seconds));
}
