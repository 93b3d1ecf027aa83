// The agent side of the agent protocol under /api/agent (docs/agent-protocol.md): pool agents
// register, send heartbeats, long-poll for jobs and deregister. The job side (what a runner does
// with a job token) is src/jobs/routes.ts.
import { body, subjectOf, type ApiRouter } from '../api/http.js';
import { validator } from '../api/schema.js';
import { BadRequestError } from '../errors.js';
import { RegisterBody, SyncBody, type RegisterAnswer } from '../protocol/agent.js';
import type { AgentService } from './agents.js';

const readRegister = validator(RegisterBody, { plain: true });
const readSync = validator(SyncBody, { plain: true });

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
    const answer: RegisterAnswer = {
      id: agent.id,
      name: agent.name,
      token,
      pool: { id: pool.id, name: pool.name },
      organization: pool.organizationId,
      heartbeatSeconds: agents.heartbeatSeconds,
    };
    ctx.body = answer;
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
