// One Prometheus registry per otfd, served at /metrics. The API layer counts requests in it; a
// domain that has something to tell operators (queue depth, deliveries, assessment results)
// registers its own metrics in it when otfd wires it up. Gauges that describe what the database
// holds are computed at scrape time (prom-client's `collect`), so every replica reports the same.
import client from 'prom-client';

export type Registry = client.Registry;

export function createRegistry(): Registry {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  return registry;
}
