// The pools domain's metrics (registered in otfd's one registry by src/server.ts): agents per pool
// and status, and the server agents of every otfd, computed from the database at scrape time.
import client from 'prom-client';
import type { Registry } from '../metrics.js';
import type { PoolService } from './service.js';

export function registerPoolMetrics(registry: Registry, pools: PoolService): void {
  new client.Gauge({
    name: 'otf_agents',
    help: 'Agents by pool id ("server": the server agents of the otfds), pool name and status (idle, busy, unknown, errored, exited)',
    labelNames: ['pool', 'pool_name', 'status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of await pools.agentCounts()) this.set({ pool: c.poolId ?? 'server', pool_name: c.poolName ?? 'server', status: c.status }, c.n);
    },
  });
}
