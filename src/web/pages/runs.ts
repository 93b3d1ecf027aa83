// A workspace's runs and a run's page, as Terraform Cloud shows them: the runs list with a form to
// start one, and a run page with its status, why it waits, its plan and apply logs (streaming
// live), the actions the visitor may take, and comments. Every read and action goes through the
// runs domain's services with the visitor's Subject; a page only decides which forms to offer.
import { Readable } from 'node:stream';
import { isAllowed } from '../../auth/authorize.js';
import type { Subject } from '../../auth/subject.js';
import { BadRequestError, NotFoundError, notFound } from '../../errors.js';
import { canHappen, MAX_COMMENT_LENGTH, type Run, type RunStatus } from '../../runs/index.js';
import type { Workspace } from '../../workspaces/index.js';
import { actionButton, pager, runStatusBadge, timeTag } from '../components.js';
import { pageNumber } from '../forms.js';
import { paths } from '../paths.js';
import type { WebDeps } from '../deps.js';
import { stillReadable, type SseMessage, type WebEvent } from '../events.js';
import { html, type Html } from '../html.js';
import { csrfField, field, redirect, subjectOf, type WebCtx, type WebRouter } from '../http.js';
import { page } from '../layout.js';
import { readRunStatusEvent, orgTopic, runTopic } from '../run-events.js';
import { LogRenderer, wholeUtf8Length } from './run-log.js';
import { workspaceCrumbs, workspaceNav } from './workspaces.js';

const RUNS_PER_PAGE = 20;
/** Log bytes read at a time, for the page, for each live update and for the plain-text log. */
const LOG_READ_BYTES = 512 * 1024;
/** How much of the end of each log the run page shows: more would not render in time; the whole log is a link away. */
const LOG_TAIL_BYTES = 256 * 1024;
/** How far back a stream looks for the start of the line it goes on in, to carry that line's colours on. */
const LINE_LOOKBACK_BYTES = 4 * 1024;
/** ANSI control sequences (colours), left out of the plain-text log. */
// eslint-disable-next-line no-control-regex -- ESC is what starts them
const ANSI_SEQUENCE = /\x1b\[[0-?]*[ -/]*[@-~]/g;
const EXECUTING: ReadonlySet<RunStatus> = new Set<RunStatus>(['planning', 'applying']);
type PhaseName = 'plan' | 'apply';
const PHASES: readonly PhaseName[] = ['plan', 'apply'];

/**
 * The form that starts a run from the workspace's latest configuration (TFC's "Start new run"):
 * the runs list shows it, and so does the workspace's overview. Empty for a visitor who may not
 * queue runs, and for a workspace whose runs execute on the user's machine.
 */
export function startRunForm(ctx: WebCtx, org: string, ws: Pick<Workspace, 'id' | 'name' | 'organizationId' | 'executionMode'>): Html {
  const subject = ctx.state.session?.subject;
  if (!subject || ws.executionMode === 'local') return html``;
  if (!isAllowed(subject, 'run:queue', { organizationId: ws.organizationId, workspaceId: ws.id })) return html``;
  return html`<form method="post" action="${paths.runs(org, ws.name)}" class="start-run">
${csrfField(ctx)}
<fieldset>
<legend>Start a new run</legend>
<label for="run-operation">Run type</label>
<select id="run-operation" name="operation">
<option value="plan-and-apply" selected>Plan and apply</option>
<option value="plan-only">Plan only</option>
</select>
<label for="run-message">Reason for starting the run (optional)</label>
<input id="run-message" name="message" type="text" maxlength="1000" placeholder="Triggered from the web UI">
</fieldset>
<button type="submit">Start run</button>
</form>`;
}

function counts(phase: { additions: number; changes: number; destructions: number }): string {
  return `+${phase.additions} ~${phase.changes} -${phase.destructions}`;
}

/** A size in words: 300 KiB, 2.5 MiB. */
function size(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Where the first whole line of a chunk read from inside a log begins (or its first whole character, in a very long line). */
function firstLineStart(data: Buffer): number {
  const nl = data.indexOf(0x0a);
  if (nl >= 0) return nl + 1;
  let i = 0;
  while (i < data.length && (data[i] & 0xc0) === 0x80) i++;
  return i;
}

function nonNegativeInt(raw: string | undefined): number {
  return raw !== undefined && /^\d{1,15}$/.test(raw) ? Number(raw) : 0;
}

export function registerRunPages(router: WebRouter, deps: WebDeps): void {
  const runs = deps.runs.service;

  /** The workspace of the URL, as the visitor may see it. */
  const workspaceOf = (ctx: WebCtx): Promise<Workspace> => deps.workspaces.service.getByName(subjectOf(ctx), ctx.params.org, ctx.params.ws);

  /** The run of the URL, which must belong to the URL's workspace (else it is not found). */
  async function runOf(ctx: WebCtx): Promise<{ ws: Workspace; run: Run }> {
    const ws = await workspaceOf(ctx);
    const run = await runs.get(subjectOf(ctx), ctx.params.run);
    if (run.workspaceId !== ws.id) throw notFound('run', ctx.params.run);
    return { ws, run };
  }

  // ------------------------------------------------------------ the runs list

  router.get('/app/:org/workspaces/:ws/runs', async (ctx) => {
    const subject = subjectOf(ctx);
    const ws = await workspaceOf(ctx);
    const pageNo = pageNumber(ctx);
    const { items, total } = await runs.listForWorkspace(subject, ws.id, { limit: RUNS_PER_PAGE, offset: (pageNo - 1) * RUNS_PER_PAGE });
    const org = ctx.params.org;
    page(ctx, {
      title: `Runs · ${ws.name}`,
      organization: org,
      crumbs: workspaceCrumbs(org, ws.name, { label: 'Runs' }),
      body: html`<h1>Runs of ${ws.name}</h1>
${workspaceNav(org, ws.name, 'runs')}
${startRunForm(ctx, org, ws)}
${
  items.length === 0
    ? html`<p>This workspace has no runs yet.</p>`
    : html`<table>
<thead><tr><th scope="col">Run</th><th scope="col">Status</th><th scope="col">Message</th><th scope="col">Created by</th><th scope="col">Created</th></tr></thead>
<tbody>
${items.map(
  (r) => html`<tr>
<td><a href="${paths.run(org, ws.name, r.id)}">${r.id}</a>${r.speculative ? html` <small>(plan only)</small>` : ''}</td>
<td>${runStatusBadge(r.status)}</td>
<td>${r.message}</td>
<td>${r.createdBy?.name ?? 'unknown'}</td>
<td>${timeTag(r.createdAt)}</td>
</tr>`,
)}
</tbody>
</table>`
}
${pager(paths.runs(org, ws.name), {}, pageNo, Math.max(1, Math.ceil(total / RUNS_PER_PAGE)))}`,
    });
  });

  router.post('/app/:org/workspaces/:ws/runs', async (ctx) => {
    const subject = subjectOf(ctx);
    const ws = await workspaceOf(ctx);
    const operation = field(ctx, 'operation') || 'plan-and-apply';
    if (operation !== 'plan-and-apply' && operation !== 'plan-only') {
      throw new BadRequestError(`operation must be plan-and-apply or plan-only, got "${operation}"`);
    }
    const message = field(ctx, 'message').trim();
    if (message.length > 1000) throw new BadRequestError('the message may be at most 1000 characters');
    const run = await runs.create(subject, {
      workspaceId: ws.id,
      message: message || 'Triggered via UI',
      planOnly: operation === 'plan-only',
      source: 'tfe-ui',
    });
    redirect(ctx, paths.run(ctx.params.org, ws.name, run.id));
  });

  // ------------------------------------------------------------ the run page

  /**
   * Why a run waits and its position in the organization's queue, as the runs domain explains it
   * (the API's status-explanation); null when it does not wait.
   */
  async function waiting(run: Run): Promise<Html | null> {
    const [why, position] = await Promise.all([deps.runs.waiting.explain(run), deps.runs.waiting.position(run)]);
    if (!why) return null;
    const facts: Html[] = [];
    const holder = why.lockHolder;
    if (holder?.type === 'runs') {
      // A run of this workspace, which the explanation read already (no status: it is gone).
      facts.push(
        holder.status
          ? html`<li>Lock held by run <a href="${paths.run(run.organizationName, run.workspaceName, holder.id)}">${holder.id}</a> (${runStatusBadge(holder.status)})</li>`
          : html`<li>Lock held by run ${holder.id}</li>`,
      );
    } else if (holder) {
      facts.push(html`<li>Lock held by ${holder.name}</li>`);
    }
    if (why.runsAhead.length > 0) facts.push(html`<li>${why.runsAhead.length} run${why.runsAhead.length === 1 ? '' : 's'} ahead of it in the workspace's queue</li>`);
    if (why.runner === 'pool' && why.pool) {
      const agents = why.agents;
      const pool = why.pool.name ? html`<a href="${paths.pool(run.organizationName, why.pool.id)}">${why.pool.name}</a>` : html`${why.pool.id}`;
      facts.push(html`<li>Agent pool ${pool}${agents ? html`: ${agents.idle} idle, ${agents.busy} busy, ${agents.unknown} unknown` : ''}${why.slots !== null ? html` (${why.slotsTaken} of ${why.slots} slots taken)` : ''}</li>`);
    } else if (why.runner === 'server-agent') {
      facts.push(html`<li>The server agent${why.slots !== null ? html`: ${why.slotsTaken} of ${why.slots} slots taken` : ''}</li>`);
    }
    if (why.jobsAhead) facts.push(html`<li>${why.jobsAhead} job${why.jobsAhead === 1 ? '' : 's'} ahead of it for the same runners</li>`);
    return html`${position ? html`<p>Position in the organization's queue: <strong>${position}</strong>.</p>` : ''}<p class="waiting-for" data-reason="${why.reason}">${why.detail}</p>${facts.length > 0 ? html`<ul>${facts}</ul>` : ''}`;
  }

  /** The run's status, what it is, who made it, its counts and why it waits: replaced live. */
  async function summary(run: Run): Promise<Html> {
    const why = await waiting(run);
    return html`<p>${runStatusBadge(run.status)}${run.speculative ? html` <small>plan only</small>` : ''}${run.isDestroy ? html` <small>destroy</small>` : ''}</p>
<dl>
<dt>Message</dt><dd>${run.message || '(none)'}</dd>
<dt>Source</dt><dd>${run.source}</dd>
<dt>Created by</dt><dd>${run.createdBy?.name ?? 'unknown'}</dd>
<dt>Created</dt><dd>${timeTag(run.createdAt)}</dd>
<dt>Updated</dt><dd>${timeTag(run.updatedAt)}</dd>
<dt>Plan</dt><dd>${run.plan.status} · <span class="counts">${counts(run.plan)}</span></dd>
${run.speculative ? '' : html`<dt>Apply</dt><dd>${run.apply.status} · <span class="counts">${counts(run.apply)}</span></dd>`}
</dl>
${run.errorMessage ? html`<p role="alert">Error: ${run.errorMessage}</p>` : ''}
${why ? html`<section aria-label="Why the run waits">${why}</section>` : ''}`;
  }

  /** The buttons the visitor may use on the run as it is now: replaced live. */
  function actions(ctx: WebCtx, subject: Subject, run: Run): Html {
    const base = paths.run(run.organizationName, run.workspaceName, run.id);
    const canApply = runs.can(subject, 'run:apply', run);
    const executing = EXECUTING.has(run.status);
    const forceAt = runs.forceCancelAvailableAt(run);
    const buttons: Html[] = [];
    if (canApply && canHappen(run.status, 'confirm')) {
      buttons.push(actionButton(ctx.state.csrf, `${base}/actions/apply`, 'Apply', { confirm: 'Apply this plan? Terraform will change real infrastructure.' }));
    }
    if (canApply && canHappen(run.status, 'discard')) buttons.push(actionButton(ctx.state.csrf, `${base}/actions/discard`, 'Discard', { secondary: true }));
    if (runs.can(subject, 'run:cancel', run) && ((executing && !run.cancelRequestedAt) || canHappen(run.status, 'cancel'))) {
      buttons.push(actionButton(ctx.state.csrf, `${base}/actions/cancel`, 'Cancel run', { secondary: true, confirm: 'Cancel this run?' }));
    }
    if (runs.can(subject, 'run:force-cancel', run) && executing && forceAt && forceAt.getTime() <= Date.now()) {
      buttons.push(actionButton(ctx.state.csrf, `${base}/actions/force-cancel`, 'Force cancel', { secondary: true, confirm: 'Force-cancel this run? Its engine is killed and may leave state behind.' }));
    }
    if (executing && run.cancelRequestedAt && !(forceAt && forceAt.getTime() <= Date.now())) {
      buttons.push(html`<p>Cancel requested${forceAt ? html`; force cancel is available from ${timeTag(forceAt)}` : ''}.</p>`);
    }
    return buttons.length > 0 ? html`${buttons}` : html`<p>No actions available.</p>`;
  }

  /**
   * The end of a phase's log as HTML (at most about LOG_TAIL_BYTES, from the start of a line), the
   * byte offset it ends at (where live updates go on) and how many bytes before it are left out.
   */
  async function logTail(phaseId: string): Promise<{ markup: Html; offset: number; skipped: number }> {
    const renderer = new LogRenderer();
    const parts: Html[] = [];
    let offset = Math.max(0, (await deps.runs.logs.length(phaseId)) - LOG_TAIL_BYTES);
    let skipped = offset;
    for (;;) {
      const read = await deps.runs.logs.content(phaseId, offset, LOG_READ_BYTES);
      let data = read;
      if (skipped > 0 && offset === skipped) {
        // Cut inside the log: begin with a whole line.
        const from = firstLineStart(data);
        data = data.subarray(from);
        offset += from;
        skipped = offset;
      }
      const whole = wholeUtf8Length(data);
      if (whole > 0) parts.push(renderer.render(data.subarray(0, whole).toString('utf8')));
      offset += whole;
      if (whole === 0 || read.length < LOG_READ_BYTES) break;
    }
    return { markup: html`${parts}`, offset, skipped };
  }

  /** A phase's log on the run page: its end, live, with a link to all of it as plain text. */
  function logSection(org: string, ws: string, run: Run, phase: PhaseName, log: { markup: Html; offset: number; skipped: number }): Html {
    const label = phase === 'plan' ? 'Plan' : 'Apply';
    const whole = html`<a href="${paths.run(org, ws, run.id)}/logs/${phase}">the whole ${phase} log as plain text</a>`;
    return html`<section aria-labelledby="${phase}-log-heading">
<h2 id="${phase}-log-heading">${label} log</h2>
${log.skipped > 0 ? html`<p class="log-note">This log is long (${size(log.offset)}): shown is its end; the first ${size(log.skipped)} are left out. Read ${whole}.</p>` : html`<p class="log-note">Also as plain text: ${whole}.</p>`}
<pre class="log" id="${phase}-log" sse-swap="log-${phase}" hx-swap="beforeend" tabindex="0">${log.markup}</pre>
</section>`;
  }

  router.get('/app/:org/workspaces/:ws/runs/:run', async (ctx) => {
    const subject = subjectOf(ctx);
    const { ws, run } = await runOf(ctx);
    const org = ctx.params.org;
    const base = paths.run(org, ws.name, run.id);
    const [plan, apply, comments, top] = await Promise.all([
      logTail(run.plan.id),
      run.speculative ? Promise.resolve(null) : logTail(run.apply.id),
      deps.runs.comments.list(subject, run.id, 100, 0),
      summary(run),
    ]);
    // What the page shows: the stream goes on from there (and leaves alone what has not changed).
    const streamUrl = `${base}/events?${new URLSearchParams({ plan: String(plan.offset), apply: String(apply?.offset ?? 0), status: run.status }).toString()}`;
    const canComment = runs.can(subject, 'run:comment', run);
    page(ctx, {
      title: `Run ${run.id} · ${ws.name}`,
      organization: org,
      crumbs: workspaceCrumbs(org, ws.name, { label: 'Runs', href: paths.runs(org, ws.name) }, { label: run.id }),
      body: html`<h1>Run ${run.id}</h1>
${workspaceNav(org, ws.name, 'runs')}
<div hx-ext="sse" sse-connect="${streamUrl}" sse-close="signed-out">
<section aria-labelledby="run-status-heading">
<h2 id="run-status-heading">Status</h2>
<div id="run-summary" sse-swap="run-summary" aria-live="polite">${top}</div>
<div id="run-actions" sse-swap="run-actions">${actions(ctx, subject, run)}</div>
</section>
${logSection(org, ws.name, run, 'plan', plan)}
${apply ? logSection(org, ws.name, run, 'apply', apply) : ''}
</div>
<section aria-labelledby="comments-heading">
<h2 id="comments-heading">Comments</h2>
${
  comments.items.length === 0
    ? html`<p>No comments yet.</p>`
    : html`<ul class="comments">${comments.items.map((c) => html`<li><p><strong>${c.author?.name ?? 'unknown'}</strong> · ${timeTag(c.createdAt)}</p><p class="comment-body">${c.body}</p></li>`)}</ul>`
}
${
  canComment
    ? html`<form method="post" action="${base}/comments">
${csrfField(ctx)}
<label for="comment-body">Add a comment</label>
<textarea id="comment-body" name="body" rows="3" maxlength="${MAX_COMMENT_LENGTH}" required></textarea>
<button type="submit">Comment</button>
</form>`
    : ''
}
</section>`,
    });
  });

  // ------------------------------------------------------------ the run page's live updates

  router.get('/app/:org/workspaces/:ws/runs/:run/events', async (ctx) => {
    // The visitor's rights: gathered again now and then while the stream is open (recheck below).
    let subject = subjectOf(ctx);
    const { ws, run } = await runOf(ctx);
    // Where each log goes on: the browser's last event names it after a reconnect, else the page's offsets.
    const resumed = /^plan:(\d{1,15});apply:(\d{1,15})$/.exec(ctx.get('Last-Event-ID'));
    const start: Record<PhaseName, number> = resumed
      ? { plan: Number(resumed[1]), apply: Number(resumed[2]) }
      : { plan: nonNegativeInt(ctx.query.plan as string | undefined), apply: nonNegativeInt(ctx.query.apply as string | undefined) };
    const logs: Record<PhaseName, { offset: number; renderer: LogRenderer }> = {
      plan: { offset: start.plan, renderer: new LogRenderer() },
      apply: { offset: start.apply, renderer: new LogRenderer() },
    };
    // The page shows the log up to the offset already. The renderer reads only the start of the
    // line the offset is in, so a colour set earlier on that line carries on (not the whole log).
    for (const phase of PHASES) {
      const log = logs[phase];
      const back = Math.min(log.offset, LINE_LOOKBACK_BYTES);
      if (back === 0) continue;
      const before = (await deps.runs.logs.content(run[phase].id, log.offset - back, back)).subarray(0, back);
      const nl = before.lastIndexOf(0x0a);
      const from = nl >= 0 ? nl + 1 : back === log.offset ? 0 : before.length;
      if (from < before.length) log.renderer.render(before.subarray(from).toString('utf8'));
    }
    const position = () => `plan:${logs.plan.offset};apply:${logs.apply.offset}`;

    /** The log output past what the page shows, as messages that append it (a run's phases never change: no need to read the run again). */
    async function newOutput(phase: PhaseName): Promise<SseMessage[]> {
      if (phase === 'apply' && run.speculative) return [];
      const log = logs[phase];
      const out: SseMessage[] = [];
      for (;;) {
        const data = await deps.runs.logs.content(run[phase].id, log.offset, LOG_READ_BYTES);
        const whole = wholeUtf8Length(data);
        if (whole === 0) break;
        const markup = log.renderer.render(data.subarray(0, whole).toString('utf8'));
        log.offset += whole;
        out.push({ event: `log-${phase}`, html: markup, id: position() });
        if (data.length < LOG_READ_BYTES) break;
      }
      return out;
    }

    /** New log output, and the run's summary and buttons unless the page shows its status already. */
    const statusMessages = async (shown: string | null): Promise<SseMessage[]> => {
      const current = await runs.get(subject, run.id);
      const output = [...(await newOutput('plan')), ...(await newOutput('apply'))];
      // Replacing the buttons of a page that already has them would take the keyboard focus off them.
      if (current.status === shown) return output;
      return [...output, { event: 'run-summary', html: await summary(current) }, { event: 'run-actions', html: actions(ctx, subject, current) }];
    };
    // After a reconnect the page may show a newer status than it was rendered with: it gets the status again.
    const renderedStatus = !resumed && typeof ctx.query.status === 'string' ? ctx.query.status : null;

    deps.events.openStream(ctx, deps.sessions, {
      topics: [runTopic(run.id), orgTopic(run.organizationId)],
      // Output written between the page and this stream, and the status as it is now.
      initial: () => statusMessages(renderedStatus),
      onEvent: async (event: WebEvent, send) => {
        if (event.topic === runTopic(run.id)) {
          if (event.name === 'log' && (event.data.phase === 'plan' || event.data.phase === 'apply')) {
            for (const msg of await newOutput(event.data.phase)) send(msg);
          } else if (event.name === 'status') {
            for (const msg of await statusMessages(null)) send(msg);
          }
          return;
        }
        // Another run of the workspace moved: a run waiting behind it may have moved up.
        const other = readRunStatusEvent(event);
        if (other && other.workspaceId === ws.id && other.runId !== run.id) {
          const current = await runs.get(subject, run.id);
          if (current.status === 'pending' || current.status === 'plan_queued' || current.status === 'apply_queued') {
            send({ event: 'run-summary', html: await summary(current) });
          }
        }
      },
      // Can the visitor still read this run (a team membership gone, say)? From then on the stream renders with these rights.
      recheck: async (now) => {
        if (!(await stillReadable(() => runs.get(now, run.id)))) return false;
        subject = now;
        return true;
      },
    });
  });

  // ------------------------------------------------------------ a whole log, as plain text

  // The run page shows only the end of a long log; this is all of it, without colours, streamed as read.
  router.get('/app/:org/workspaces/:ws/runs/:run/logs/:phase', async (ctx) => {
    const phase = ctx.params.phase;
    if (phase !== 'plan' && phase !== 'apply') throw notFound('log', phase);
    const { run } = await runOf(ctx);
    if (phase === 'apply' && run.speculative) throw new NotFoundError(`run ${run.id} is plan only: it has no apply log`);
    const phaseId = run[phase].id;
    const logs = deps.runs.logs;
    async function* plain(): AsyncGenerator<Buffer> {
      let offset = 0;
      let rest = Buffer.alloc(0);
      for (;;) {
        const data = await logs.content(phaseId, offset, LOG_READ_BYTES);
        offset += data.length;
        const last = data.length < LOG_READ_BYTES;
        const text = Buffer.concat([rest, data]);
        // A colour sequence never spans lines: up to the last newline is safe to clean; the rest waits for the next read.
        const nl = text.lastIndexOf(0x0a);
        const cut = last || nl < 0 ? text.length : nl + 1;
        rest = text.subarray(cut);
        // latin1 keeps every byte as it is (UTF-8 included); the sequences are ASCII.
        if (cut > 0) yield Buffer.from(text.subarray(0, cut).toString('latin1').replace(ANSI_SEQUENCE, ''), 'latin1');
        if (last) return;
      }
    }
    ctx.type = 'text/plain; charset=utf-8';
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = Readable.from(plain());
  });

  // ------------------------------------------------------------ actions and comments

  const ACTIONS = {
    apply: (s: Subject, id: string) => runs.confirm(s, id),
    discard: (s: Subject, id: string) => runs.discard(s, id),
    cancel: (s: Subject, id: string) => runs.cancel(s, id),
    'force-cancel': (s: Subject, id: string) => runs.forceCancel(s, id),
  };
  for (const [name, act] of Object.entries(ACTIONS)) {
    router.post(`/app/:org/workspaces/:ws/runs/:run/actions/${name}`, async (ctx) => {
      const { ws, run } = await runOf(ctx);
      await act(subjectOf(ctx), run.id);
      redirect(ctx, paths.run(ctx.params.org, ws.name, run.id));
    });
  }

  router.post('/app/:org/workspaces/:ws/runs/:run/comments', async (ctx) => {
    const { ws, run } = await runOf(ctx);
    const body = field(ctx, 'body');
    if (body.trim() === '') throw new BadRequestError('a comment needs some text');
    if (body.length > MAX_COMMENT_LENGTH) throw new BadRequestError(`a comment may be at most ${MAX_COMMENT_LENGTH} characters`);
    await deps.runs.comments.create(subjectOf(ctx), run.id, body);
    redirect(ctx, `${paths.run(ctx.params.org, ws.name, run.id)}#comments-heading`);
  });

  // ------------------------------------------------------------ the CLI's link

  // terraform prints /app/<org>/<workspace>/runs/<run> after a remote plan or apply.
  router.get('/app/:org/:ws/runs/:run', (ctx) => {
    ctx.status = 302;
    ctx.redirect(paths.run(ctx.params.org, ctx.params.ws, ctx.params.run));
  });
}
