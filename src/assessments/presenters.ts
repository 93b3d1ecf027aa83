// How assessment results look in the API: Terraform Cloud's assessment-results (drifted,
// succeeded, error-msg, created-at and links to the JSON plan and the log), plus documented
// extensions: status, the drifted addresses and the counts of drifted and undrifted resources.
import { timestamp, type ResourceType, type View } from '../api/jsonapi.js';
import type { AssessmentResult } from './store.js';

export const assessmentResultType: ResourceType = {
  type: 'assessment-results',
  attributes: ['drifted', 'succeeded', 'error-msg', 'created-at', 'status', 'finished-at', 'resources-drifted', 'resources-undrifted', 'drifted-resources', 'failed-checks'],
  relationships: { workspace: 'workspaces', run: 'runs' },
  selfLink: (v) => `/api/v2/assessment-results/${v.id}`,
};

export function presentAssessmentResult(r: AssessmentResult): View {
  const over = r.status !== 'running';
  return {
    id: r.id,
    // Unknown (null) while the assessment runs.
    drifted: over ? r.status === 'drifted' : null,
    succeeded: over ? r.status !== 'errored' : null,
    'error-msg': r.errorMsg,
    'created-at': timestamp(r.createdAt),
    status: r.status,
    'finished-at': timestamp(r.finishedAt),
    'resources-drifted': r.resourcesDrifted,
    'resources-undrifted': r.resourcesUndrifted,
    'drifted-resources': r.driftedAddresses,
    'failed-checks': r.failedChecks,
    workspace: { id: r.workspaceId },
    run: r.runId && { id: r.runId },
  };
}

/** The result's links beside self: its JSON plan and its log (a signed URL), while its run exists. */
export function resultLinks(r: AssessmentResult, planId: string | null, logUrl: (planId: string) => string): Record<string, string> {
  const links: Record<string, string> = { self: `/api/v2/assessment-results/${r.id}` };
  if (planId) {
    links['json-output'] = `/api/v2/plans/${planId}/json-output`;
    links['json-output-redacted'] = `/api/v2/plans/${planId}/json-output-redacted`;
    links['log-output'] = logUrl(planId);
  }
  return links;
}
