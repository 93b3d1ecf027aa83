// The assessments' metrics in otfd's registry: assessments finished by this otfd, by result, and
// the workspaces whose latest assessment drifted (read from the database at scrape time, so every
// replica reports the same).
import client from 'prom-client';
import type { Db } from '../db/index.js';
import type { Registry } from '../metrics.js';
import { driftedWorkspaceCount, type AssessmentStatus } from './store.js';

export interface AssessmentMetrics {
  finished(status: AssessmentStatus): void;
}

const RESULT_LABEL: Record<Exclude<AssessmentStatus, 'running'>, string> = { drifted: 'drifted', no_drift: 'no_drift', errored: 'errored' };

export function assessmentMetrics(registry: Registry, db: Db): AssessmentMetrics {
  const total = new client.Counter({
    name: 'otf_assessments_total',
    help: 'Health assessments finished by this otfd, by result (drifted, no_drift, errored).',
    labelNames: ['result'],
    registers: [registry],
  });
  // Present from the start, at zero, so dashboards and rate() see every series.
  for (const label of Object.values(RESULT_LABEL)) total.inc({ result: label }, 0);
  new client.Gauge({
    name: 'otf_assessments_drifted_workspaces',
    help: 'Workspaces whose latest health assessment found drift.',
    registers: [registry],
    async collect() {
      this.set(await driftedWorkspaceCount(db));
    },
  });
  return {
    finished: (status) => {
      if (status !== 'running') total.inc({ result: RESULT_LABEL[status] });
    },
  };
}
