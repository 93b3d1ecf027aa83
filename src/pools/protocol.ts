// The agent protocol under /api/agent (docs/agent-protocol.md): pool agents register, send
// heartbeats, long-poll for jobs and deregister; a runner holding a job token (a pool agent or the
// server agent) reads what the job needs, reports that it started, sends logs and artifacts, and
// reports the outcome. Everything else a job needs (configuration, state) it reads through /api/v2
// with the same token.
import type { JobOutcome, JobSpec, RunnerVariable } from '../agent/protocol.js';
import type { Subject } from '../auth/subject.js';
import { limitedBody, readBody } from '../api/body.js';
import { body, subjectOf, type ApiRouter, type Ctx, type Site } from '../api/http.js';
import { validator } from '../api/validate.js';
import type { BlobStore } from '../blobs/store.js';
import { BadRequestError, ConflictError, ForbiddenError, InvalidError, NotFoundError, UnsupportedMediaTypeError } from '../errors.js';
import { artifactKey, isArtifact } from '../runs/artifacts.js';
import type { RunLogService } from '../runs/logs.js';
import type { RunService } from '../runs/service.js';
import type { WorkspaceService } from '../workspaces/service.js';
import { AGENT_NAME, type AgentService } from './agents.js';
import type { Job, JobService } from './jobs.js';
import type { LateStates } from './late.js';
import { MAX_STATE_BYTES } from '../state/routes.js';

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

interface RegisterDocument {
  name?: string;
  version?: string;
  hostname?: string;
  os?: string;
  arch?: string;
  concurrency?: number;
  replaces?: { id: string; token: string };
}

const short = { type: 'string', maxLength: 200 };
const readRegister = validator<RegisterDocument>({
  type: 'object',
  properties: {
    name: { type: 'string', pattern: AGENT_NAME.source, 'x-message': 'must be 8 to 80 letters, digits, "-", "_" or "."' },
    version: short,
    hostname: short,
    os: short,
    arch: short,
    concurrency: { type: 'integer', minimum: 1, maximum: 64 },
    replaces: {
      type: 'object',
      properties: { id: { type: 'string' }, token: { type: 'string' } },
      required: ['id', 'token'],
    },
  },
}, { plain: true });

interface SyncDocument {
  status?: 'idle' | 'busy';
  jobs?: string[];
}

const readSync = validator<SyncDocument>({
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['idle', 'busy'] },
    jobs: { type: 'array', items: { type: 'string', maxLength: 100 }, maxItems: 1000 },
  },
}, { plain: true });

export interface AgentRouteDeps {
  agents: AgentService;
}

/** Registration, heartbeats, the jobs long-poll and deregistration. */
export function registerAgentRoutes(router: ApiRouter, deps: AgentRouteDeps): void {
  const { agents } = deps;

  router.post('/register', async (ctx) => {
    const doc = readRegister(body(ctx));
    const { agent, token, pool } = await agents.register(subjectOf(ctx), { ...doc, concurrency: doc.concurrency ?? 1 }, ctx.ip || null);
    ctx.status = 201;
    ctx.body = {
      id: agent.id,
      name: agent.name,
      token,
      pool: { id: pool.id, name: pool.name },
      organization: pool.organizationId,
      heartbeatSeconds: agents.heartbeatSeconds,
    };
  });

  router.post('/sync', async (ctx) => {
    const doc = readSync(body(ctx));
    ctx.body = await agents.sync(subjectOf(ctx), doc.jobs ?? []);
  });

  router.get('/jobs', async (ctx) => {
    const raw = ctx.query.wait;
    const wait = raw === undefined ? 30 : Number(raw);
    if (!Number.isFinite(wait) || wait < 0) throw new BadRequestError('query parameter wait must be a number of seconds', { parameter: 'wait' });
    // The long-poll ends early when the agent hangs up, so no job is claimed for a gone agent.
    const hungUp = new AbortController();
    ctx.res.once('close', () => hungUp.abort());
    ctx.body = await agents.poll(subjectOf(ctx), wait, hungUp.signal);
  });

  router.post('/deregister', async (ctx) => {
    await agents.deregister(subjectOf(ctx));
    ctx.body = null;
  });
}

export interface JobRouteDeps {
  jobs: JobService;
  runs: RunService;
  logs: RunLogService;
  workspaces: WorkspaceService;
  variables: RunnerVariableSource;
  blobs: BlobStore;
  site: Site;
  late: LateStates;
}

const MAX_LOG_CHUNK = 4 * 1024 * 1024;
const MAX_ARTIFACT = 512 * 1024 * 1024;

export function registerJobRoutes(router: ApiRouter, deps: JobRouteDeps): void {
  const { jobs, runs, logs, workspaces, variables, blobs, site, late } = deps;

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
    const { length, gap } = await logs.append(job.runId, job.phase, offset, await readBody(octets(ctx), MAX_LOG_CHUNK, 'a log chunk'));
    ctx.status = gap ? 409 : 200;
    ctx.body = { length };
  });

  router.put('/jobs/:id/artifacts/:name', async (ctx) => {
    const { job } = await ownJob(ctx);
    if (!isArtifact(ctx.params.name)) throw new NotFoundError(`no artifact named ${ctx.params.name}`);
    await blobs.put(artifactKey(job.runId, ctx.params.name), limitedBody(octets(ctx), MAX_ARTIFACT, `the ${ctx.params.name}`));
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
    await runs.finishPhase(job, {
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
