// The job endpoints of the agent protocol (/api/agent/jobs/...): a runner holding a job token reads
// what the job needs, reports that it started, sends logs and artifacts, and reports the outcome.
// Everything else a job needs (configuration, state) it reads through /api/v2 with the same token.
import type { JobOutcome, JobSpec, RunnerVariable } from '../agent/protocol.js';
import type { Subject } from '../auth/subject.js';
import { readBody } from '../api/body.js';
import { body, subjectOf, type ApiRouter, type Ctx, type Site } from '../api/http.js';
import { validator } from '../api/validate.js';
import type { BlobStore } from '../blobs/store.js';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../errors.js';
import { artifactKey, isArtifact } from '../runs/artifacts.js';
import type { RunLogService } from '../runs/logs.js';
import type { RunService } from '../runs/service.js';
import type { WorkspaceService } from '../workspaces/service.js';
import type { Job, JobService } from './jobs.js';

export interface RunnerVariableSource {
  forRun(workspaceId: string): Promise<RunnerVariable[]>;
}

type FinishDocument = Omit<JobOutcome, 'counts'> & { counts?: JobOutcome['counts'] };

const count = { type: 'integer', minimum: 0 };
const readFinish = validator<FinishDocument>({
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['finished', 'errored', 'canceled'] },
    hasChanges: { type: 'boolean' },
    counts: {
      type: 'object',
      properties: { additions: count, changes: count, destructions: count, imports: count },
      required: ['additions', 'changes', 'destructions', 'imports'],
    },
    error: { type: 'string', maxLength: 100_000 },
  },
  required: ['status'],
});

export interface JobRouteDeps {
  jobs: JobService;
  runs: RunService;
  logs: RunLogService;
  workspaces: WorkspaceService;
  variables: RunnerVariableSource;
  blobs: BlobStore;
  site: Site;
}

const MAX_LOG_CHUNK = 4 * 1024 * 1024;
const MAX_ARTIFACT = 512 * 1024 * 1024;

export function registerJobRoutes(router: ApiRouter, deps: JobRouteDeps): void {
  const { jobs, runs, logs, workspaces, variables, blobs, site } = deps;

  /** The job of the URL, which must be the job whose token made the request. */
  async function ownJob(ctx: Ctx): Promise<{ job: Job; subject: Subject }> {
    const subject = subjectOf(ctx);
    if (subject.kind !== 'job' || subject.jobId !== ctx.params.id) throw new ForbiddenError('only the job token of this job may use this endpoint');
    const job = await jobs.get(ctx.params.id);
    if (!job) throw new NotFoundError(`job ${ctx.params.id} not found`);
    return { job, subject };
  }

  router.get('/jobs/:id', async (ctx) => {
    const { job } = await ownJob(ctx);
    const run = (await runs.byId(job.runId))!;
    const ws = (await workspaces.byId(run.workspaceId))!;
    const spec: JobSpec = {
      job: { id: job.id, phase: job.phase },
      run: {
        id: run.id,
        planId: run.plan.id,
        applyId: run.apply.id,
        configurationVersionId: run.configurationVersionId,
        isDestroy: run.isDestroy,
        refresh: run.refresh,
        refreshOnly: run.refreshOnly,
        targetAddrs: run.targetAddrs,
        replaceAddrs: run.replaceAddrs,
        variables: run.variables,
        engine: run.engine,
        engineVersion: run.engineVersion,
        message: run.message,
      },
      workspace: { id: ws.id, name: ws.name, organization: ws.organizationName, workingDirectory: ws.workingDirectory },
      variables: await variables.forRun(ws.id),
      hostname: new URL(site.baseUrl).host,
      baseUrl: site.baseUrl,
    };
    ctx.body = spec;
  });

  router.post('/jobs/:id/start', async (ctx) => {
    const { job } = await ownJob(ctx);
    if (!(await runs.startPhase(job))) throw new ConflictError(`job ${job.id} is no longer wanted (its run has moved on)`);
    ctx.body = { started: true };
  });

  /** A chunk of the phase's log at a byte offset; resending a chunk is harmless. */
  router.put('/jobs/:id/logs', async (ctx) => {
    const { job } = await ownJob(ctx);
    const offset = Number(ctx.query.offset);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new BadRequestError('query parameter offset must be a whole number', { parameter: 'offset' });
    const run = (await runs.byId(job.runId))!;
    const phaseId = job.phase === 'plan' ? run.plan.id : run.apply.id;
    const { length, gap } = await logs.append(phaseId, offset, await readBody(ctx, MAX_LOG_CHUNK, 'a log chunk'));
    ctx.status = gap ? 409 : 200;
    ctx.body = { length };
  });

  router.put('/jobs/:id/artifacts/:name', async (ctx) => {
    const { job } = await ownJob(ctx);
    if (!isArtifact(ctx.params.name)) throw new NotFoundError(`no artifact named ${ctx.params.name}`);
    await blobs.put(artifactKey(job.runId, ctx.params.name), await readBody(ctx, MAX_ARTIFACT, `the ${ctx.params.name}`));
    ctx.body = null;
  });

  router.get('/jobs/:id/artifacts/:name', async (ctx) => {
    const { job } = await ownJob(ctx);
    if (!isArtifact(ctx.params.name)) throw new NotFoundError(`no artifact named ${ctx.params.name}`);
    const stream = await blobs.stream(artifactKey(job.runId, ctx.params.name));
    if (!stream) throw new NotFoundError(`run ${job.runId} has no ${ctx.params.name}`);
    ctx.type = 'application/octet-stream';
    ctx.body = stream;
  });

  router.post('/jobs/:id/finish', async (ctx) => {
    const { job } = await ownJob(ctx);
    const doc = readFinish(body(ctx));
    await runs.finishPhase(job, {
      status: doc.status,
      hasChanges: doc.hasChanges,
      counts: doc.counts ?? { additions: 0, changes: 0, destructions: 0, imports: 0 },
      error: doc.error,
    });
    ctx.body = { finished: true };
  });
}
