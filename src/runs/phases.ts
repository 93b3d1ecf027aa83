// Runs' side of the jobs domain (src/jobs/outcomes.ts): what a job's runner needs to know of its
// run, and what it reports back, turned into run transitions, logs and artifacts. otfd hands this
// to jobs when it wires the two (src/server.ts), so that jobs never import runs.
import type { PhaseOutcomes } from '../jobs/index.js';
import type { WorkspaceService } from '../workspaces/index.js';
import { artifactKey, isArtifact } from './artifacts.js';
import type { RunLogService } from './logs.js';
import type { RunService } from './service.js';

export function phaseOutcomes(deps: { runs: RunService; logs: RunLogService; workspaces: WorkspaceService }): PhaseOutcomes {
  const { runs, logs, workspaces } = deps;
  return {
    describe: async (job) => {
      const run = (await runs.byId(job.runId))!;
      const ws = (await workspaces.byId(run.workspaceId))!;
      return {
        run: {
          id: run.id,
          planId: run.plan.id,
          applyId: run.apply.id,
          configurationVersionId: run.configurationVersionId,
          isDestroy: run.isDestroy,
          refresh: run.refresh,
          refreshOnly: run.refreshOnly,
          assessment: run.assessment,
          targetAddrs: run.targetAddrs,
          replaceAddrs: run.replaceAddrs,
          variables: run.variables,
          engine: run.engine,
          engineVersion: run.engineVersion,
          message: run.message,
        },
        workspace: { id: ws.id, name: ws.name, organization: ws.organizationName, workingDirectory: ws.workingDirectory },
      };
    },
    started: (job) => runs.startPhase(job),
    finished: (job, outcome) => runs.finishPhase(job, outcome),
    failed: (runId, message) => runs.fail(runId, message),
    stateSavedLate: (runId) => runs.stateSavedLate(runId),
    appendLog: (job, offset, chunk) => logs.append(job.runId, job.phase, offset, chunk),
    artifactKey: (job, name) => (isArtifact(name) ? artifactKey(job.runId, name) : null),
  };
}
