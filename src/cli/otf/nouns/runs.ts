// otf runs: list, show, explain, apply, discard, cancel, force-end, watch.
import { relatedId, type Resource } from '../client.js';
import { UsageError, type Context, type Noun } from '../command.js';
import { attribute, formatValue, idField, type Field, type View } from '../output.js';
import { resolveWorkspace, seg } from '../resolve.js';
import { FINAL_STATUSES, RunWatcher } from '../watch.js';

const related = (name: string): Field => ({ name, value: (r) => relatedId(r, name) });

/** The run's status-explanation (docs/waiting-runs.md), when it waits. */
function explanation(r: Resource): Record<string, unknown> | null {
  const e = r.attributes['status-explanation'];
  return e && typeof e === 'object' && !Array.isArray(e) ? (e as Record<string, unknown>) : null;
}

/** "key: value" lines saying in full what a run waits for. */
function explainLines(r: Resource): string[] {
  const status = String(r.attributes.status);
  const e = explanation(r);
  if (!e) return [`run ${r.id} is ${status}: it waits for nothing (it is executing, waits for a confirmation, or is over)`];
  const lines = [`run: ${r.id}`, `status: ${status}`, `position-in-queue: ${formatValue(r.attributes['position-in-queue'])}`, `reason: ${formatValue(e.reason)}`, `detail: ${formatValue(e.detail)}`];
  const holder = e['lock-holder'] as { type?: string; id?: string; name?: string; status?: string | null } | null;
  if (holder) lines.push(`lock-holder: ${holder.type === 'runs' ? `run ${holder.id}${holder.status ? ` (${holder.status})` : ''}` : `${holder.name} (${holder.id})`}`);
  const ahead = e['runs-ahead'];
  if (Array.isArray(ahead) && ahead.length > 0) lines.push(`runs-ahead: ${formatValue(ahead)}`);
  if (e.runner) lines.push(`runner: ${formatValue(e.runner)}`);
  const pool = e.pool as { id?: string; name?: string | null } | null;
  if (pool) lines.push(`pool: ${pool.name ? `${pool.name} (${pool.id})` : formatValue(pool.id)}`);
  const agents = e.agents as Record<string, number> | null;
  if (agents) lines.push(`agents: ${Object.entries(agents).map(([k, v]) => `${v} ${k}`).join(', ')}`);
  if (e.slots !== null && e.slots !== undefined) lines.push(`slots: ${formatValue(e['slots-taken'])} of ${formatValue(e.slots)} taken`);
  if (e['jobs-ahead']) lines.push(`jobs-ahead: ${formatValue(e['jobs-ahead'])}`);
  return lines;
}

export const runView: View = {
  columns: [idField, attribute('status'), attribute('created-at'), attribute('plan-only', 'speculative'), attribute('is-destroy', 'destroy'), attribute('message')],
  fields: [
    idField,
    attribute('status'),
    related('workspace'),
    attribute('message'),
    attribute('created-at'),
    attribute('has-changes'),
    attribute('is-destroy'),
    attribute('plan-only'),
    attribute('auto-apply'),
    attribute('terraform-version'),
    attribute('error-message'),
    attribute('position-in-queue'),
    { name: 'waiting-for', value: (r) => explanation(r)?.detail },
    related('plan'),
    related('apply'),
  ],
};

/** GET /runs/:id; a run id only (run-...), so that a typo is not sent as a path. */
function runPath(id: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new UsageError(`"${id}" is not a run id (run-...)`);
  return `/runs/${seg(id)}`;
}

/** POST /runs/:id/actions/<action>, then the run as it is now. */
async function act(ctx: Context, action: string, said: string): Promise<void> {
  const { api, out, args, flags } = ctx;
  const path = runPath(args[0]);
  const comment = flags.get('comment');
  await api().request('POST', `${path}/actions/${action}`, comment === undefined ? {} : { comment });
  const run = ctx.json ? await api().get(path) : null;
  out.done(`run ${args[0]} ${said}`, run);
}

const comment = { name: 'comment', value: '<text>', help: 'a comment recorded with the action' };

export const runs: Noun = {
  name: 'runs',
  summary: 'runs of a workspace: plans and applies',
  commands: [
    {
      verb: 'list',
      summary: 'List the runs of a workspace, newest first',
      args: [{ name: '<org>/<ws>' }],
      flags: [{ name: 'limit', value: '<n>', help: 'at most this many runs (default 20; 0: all)' }],
      async run({ api, out, args, flags }) {
        const raw = flags.get('limit') ?? '20';
        if (!/^\d+$/.test(raw)) throw new UsageError(`--limit: "${raw}" is not a whole number`);
        const limit = Number(raw) === 0 ? Infinity : Number(raw);
        const ws = await resolveWorkspace(api(), args[0]);
        out.list(await api().list(`/workspaces/${seg(ws.id)}/runs`, limit), runView);
      },
    },
    {
      verb: 'show',
      summary: 'Show a run',
      args: [{ name: '<run-id>' }],
      async run({ api, out, args }) {
        out.one(await api().get(runPath(args[0])), runView);
      },
    },
    {
      verb: 'explain',
      summary: 'Say in full what a waiting run waits for',
      args: [{ name: '<run-id>' }],
      details:
        "The run's status-explanation: the reason (workspace-locked, queued-behind-runs, no-agents, agents-busy, server-agent-busy, ...), a sentence, the lock holder, the runs ahead, the pool and its agents, the runner slots taken. With --json, the explanation as the API gives it.",
      async run({ api, out, args, json }) {
        const run = await api().get(runPath(args[0]));
        if (json) return out.printJson({ id: run.id, status: run.attributes.status, 'position-in-queue': run.attributes['position-in-queue'], 'status-explanation': explanation(run) });
        for (const line of explainLines(run)) out.line(line);
      },
    },
    {
      verb: 'apply',
      summary: 'Confirm a planned run, so that it applies',
      args: [{ name: '<run-id>' }],
      flags: [comment],
      run: (ctx) => act(ctx, 'apply', 'confirmed: its apply is queued'),
    },
    {
      verb: 'discard',
      summary: 'Discard a planned run without applying it',
      args: [{ name: '<run-id>' }],
      flags: [comment],
      run: (ctx) => act(ctx, 'discard', 'discarded'),
    },
    {
      verb: 'cancel',
      summary: 'Cancel a run (an executing plan or apply is interrupted)',
      args: [{ name: '<run-id>' }],
      flags: [comment, { name: 'force', help: 'force-cancel: kill the engine of a run whose cancel was asked for already' }],
      run: (ctx) => (ctx.flags.on('force') ? act(ctx, 'force-cancel', 'force-canceled') : act(ctx, 'cancel', 'cancel requested')),
    },
    {
      verb: 'force-end',
      summary: 'End a run now, whatever it is doing, with a reason (organization owners and site administrators)',
      args: [{ name: '<run-id>' }],
      flags: [{ name: 'reason', value: '<text>', help: 'why the run is ended: kept on the run and in its events (required)' }],
      details:
        'Works in any status that is not final: queued jobs are withdrawn, a running engine is killed, the job tokens are revoked and the workspace is released. The run ends force_canceled. See docs/timeouts-and-hooks.md.',
      async run({ api, out, args, flags }) {
        const path = runPath(args[0]);
        const reason = flags.get('reason');
        if (reason === undefined || reason.trim() === '') throw new UsageError('--reason is required: say why the run is ended');
        const run = await api().one('POST', `${path}/actions/force-end`, { reason });
        out.done(`run ${args[0]} force-ended (${String(run.attributes.status)}): ${String(run.attributes['force-end-reason'])}`, run);
      },
    },
    {
      verb: 'watch',
      summary: "Print a run's plan and apply logs as they are written, until it ends",
      args: [{ name: '<run-id>' }],
      details:
        'The last line is the final status. Exit code 0 for applied, planned_and_finished and planned_and_saved; 1 for errored, canceled, force_canceled and discarded. With --json the logs go to stderr and the final run to stdout.',
      async run({ api, out, args, json, stderr }) {
        const path = runPath(args[0]);
        await api().get(path);
        // Remembers whether the log ended a line, so that the summary starts on a line of its own.
        let atLineStart = true;
        const target = json ? stderr : out;
        const log = {
          write(chunk: string | Buffer) {
            if (chunk.length > 0) atLineStart = (typeof chunk === 'string' ? chunk.at(-1) : String.fromCharCode(chunk[chunk.length - 1])) === '\n';
            return target.write(chunk);
          },
        };
        const run: Resource = await new RunWatcher(api(), args[0], { log }).watch();
        const status = String(run.attributes.status);
        if (!atLineStart) log.write('\n');
        if (json) {
          out.printJson(run);
        } else {
          out.line();
          const error = run.attributes['error-message'];
          if (typeof error === 'string' && error) out.line(`error: ${error.replace(/[\r\n]+/g, ' ')}`);
          out.line(`status: ${status}`);
        }
        return FINAL_STATUSES.get(status) ? 0 : 1;
      },
    },
  ],
};
