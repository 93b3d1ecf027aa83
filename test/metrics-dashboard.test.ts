// The Grafana dashboard of docs/ imports as it is: valid JSON, and every metric it queries is one
// otfd serves at /metrics.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './helpers/fixtures.js';
import { startServer, type TestServer } from './helpers/server.js';

interface Panel {
  id: number;
  title: string;
  targets?: Array<{ expr: string }>;
}

/** Metric names in a PromQL expression; a histogram's series name its histogram. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\botf_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, ''));
}

describe('docs/grafana-dashboard.json', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    server = await startServer({ config: { concurrency: 1 } });
  });
  after(() => server.stop());

  it('parses, and queries only metrics that /metrics serves', async () => {
    const dashboard = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'docs', 'grafana-dashboard.json'), 'utf8')) as {
      title: string;
      panels: Panel[];
      templating: { list: Array<{ definition: string }> };
    };
    assert.ok(dashboard.title);
    assert.ok(dashboard.panels.length > 0);
    assert.equal(new Set(dashboard.panels.map((p) => p.id)).size, dashboard.panels.length, 'panel ids are unique');
    const exprs = [...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...dashboard.templating.list.map((v) => v.definition)];
    for (const p of dashboard.panels) assert.ok((p.targets ?? []).length > 0, `panel "${p.title}" queries something`);
    const queried = new Set(exprs.flatMap(metricNames));
    for (const name of ['otf_jobs_queued', 'otf_runs_queued', 'otf_agents', 'otf_job_duration_seconds', 'otf_run_outcomes_total']) assert.ok(queried.has(name), `the dashboard shows ${name}`);

    const res = await server.api.get('/metrics', { token: null });
    assert.equal(res.status, 200);
    const served = new Set([...res.text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    for (const name of queried) assert.ok(served.has(name), `${name} is served at /metrics`);
  });
});
