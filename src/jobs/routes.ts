// The job side of the agent protocol under /api/agent (docs/agent-protocol.md): a runner holding a
// job token (a pool agent or the server agent) reads what the job needs, reports that it started,
// sends logs and artifacts, and reports the outcome; a runner's outbox delivers late states.
// Everything else a job needs (configuration, state) it reads through /api/v2 with the same token.
import { limitedBody, readBody } from '../api/body.js';
import { body, subjectOf, type ApiRouter, type Ctx, type Site } from '../api/http.js';
import { validator } from '../api/schema.js';
import type { Subject } from '../auth/subject.js';
import type { BlobStore } from '../blobs/store.js';
import { BadRequestError, ConflictError, ForbiddenError, InvalidError, NotFoundError, UnsupportedMediaTypeError } from '../errors.js';
import { FinishBody, type JobSpec, type RunnerSshKey, type RunnerVariable } from '../protocol/agent.js';
import { MAX_STATE_BYTES } from '../state/index.js';
import type { LateStates } from './late.js';
import type { PhaseOutcomes } from './outcomes.js';
import type { Job, JobService } from './service.js';

/**
 * Where a job's variables come from (wired in src/server.ts): every variable of the run's
 * workspace, already merged into one per key, and the run's own variables that still stand.
 */
export interface RunnerVariableSource {
  forRun<R extends { key: string }>(workspaceId: string, runVariables: R[]): Promise<{ variables: RunnerVariable[]; runVariables: R[] }>;
}

/** Where a job's SSH key comes from (the SSH keys domain, connected in src/server.ts). */
export interface RunnerSshKeySource {
  forRun(workspaceId: string): Promise<RunnerSshKey | null>;
}

export interface JobRouteDeps {
  jobs: JobService;
  outcomes: PhaseOutcomes;
  variables: RunnerVariableSource;
  sshKeys: RunnerSshKeySource;
  blobs: BlobStore;
  site: Site;
  late: LateStates;
}

const MAX_LOG_CHUNK = 4 * 1024 * 1024;
const MAX_ARTIFACT = 512 * 1024 * 1024;

const readFinish = validator(FinishBody, { plain: true });

export function registerJobRoutes(router: ApiRouter, deps: JobRouteDeps): void {
  const { jobs, outcomes, variables, sshKeys, blobs, site, late } = deps;

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
    const { run, workspace } = await outcomes.describe(job);
    const merged = await variables.forRun(workspace.id, run.variables);
    const spec: JobSpec = {
      job: { id: job.id, phase: job.phase, ...(job.timeoutSeconds ? { timeoutSeconds: job.timeoutSeconds } : {}) },
      run: { ...run, variables: merged.runVariables },
      workspace,
      variables: merged.variables,
      sshKey: await sshKeys.forRun(workspace.id),
      hostname: new URL(site.baseUrl).host,
      baseUrl: site.baseUrl,
    };
    ctx.body = spec;
  });

  router.post('/jobs/:id/start', async (ctx) => {
    const { job } = await ownJob(ctx);
    if (!(await outcomes.started(job))) throw new ConflictError(`job ${job.id} is no longer wanted (its run has moved on)`);
    ctx.body = { started: true };
  });

  /** A chunk of the phase's log at a byte offset; resending a chunk is harmless. */
  router.put('/jobs/:id/logs', async (ctx) => {
    const { job } = await ownJob(ctx);
    const offset = Number(ctx.query.offset);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new BadRequestError('query parameter offset must be a whole number', { parameter: 'offset' });
    const { length, gap } = await outcomes.appendLog(job, offset, await readBody(octets(ctx), MAX_LOG_CHUNK, 'a log chunk'));
    ctx.status = gap ? 409 : 200;
    ctx.body = { length };
  });

  router.put('/jobs/:id/artifacts/:name', async (ctx) => {
    const { job } = await ownJob(ctx);
    const key = outcomes.artifactKey(job, ctx.params.name);
    if (!key) throw new NotFoundError(`no artifact named ${ctx.params.name}`);
    await blobs.put(key, limitedBody(octets(ctx), MAX_ARTIFACT, `the ${ctx.params.name}`));
    ctx.body = null;
  });

  router.get('/jobs/:id/artifacts/:name', async (ctx) => {
    const { job } = await ownJob(ctx);
    const key = outcomes.artifactKey(job, ctx.params.name);
    if (!key) throw new NotFoundError(`no artifact named ${ctx.params.name}`);
    const stream = await blobs.stream(key);
    if (!stream) throw new NotFoundError(`run ${job.runId} has no ${ctx.params.name}`);
    ctx.type = 'application/octet-stream';
    ctx.body = stream;
  });

  /**
   * A state of an apply job from a runner's outbox, after the job was over: with the pool's agent
   * token or an agent's access token, for a job of that pool. The body is the raw state file.
   */
  router.post('/jobs/:id/late-state', async (ctx) => {
    const subject = subjectOf(ctx);
    if (subject.kind !== 'agent-token' && subject.kind !== 'agent') {
      throw new ForbiddenError("a late state is delivered with the pool's agent token or an agent's access token");
    }
    const md5 = ctx.query.md5;
    if (typeof md5 !== 'string' || !/^[0-9a-f]{32}$/.test(md5)) {
      throw new InvalidError('query parameter md5 must be the hex MD5 of the state file', { parameter: 'md5' });
    }
    const state = await readBody(octets(ctx), MAX_STATE_BYTES, 'a state file');
    ctx.body = await late.accept(ctx.params.id, subject.poolId, state, md5);
  });

  router.post('/jobs/:id/finish', async (ctx) => {
    const { job } = await ownJob(ctx);
    const doc = readFinish(body(ctx));
    await outcomes.finished(job, {
      status: doc.status,
      hasChanges: doc.hasChanges,
      counts: doc.counts ?? { additions: 0, changes: 0, destructions: 0, imports: 0 },
      error: doc.error,
    });
    ctx.body = { finished: true };
  });
}

/**
 * The raw bodies of the agent protocol (log chunks, artifacts, late states) come as octets: a JSON
 * body is parsed before routing, and would reach the route as an empty one.
 */
function octets(ctx: Ctx): Ctx {
  if (!ctx.is('application/octet-stream')) {
    throw new UnsupportedMediaTypeError(`this body must be application/octet-stream, got "${ctx.get('Content-Type') || 'no content type'}"`);
  }
  return ctx;
}
