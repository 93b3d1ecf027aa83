// Rules of health assessments (drift detection). An assessment is a hidden run made by the runs
// domain (RunService.createAssessment): a speculative refresh-only plan with -detailed-exitcode on
// the workspace's own runner, never locking the workspace and not listed among its runs. Its record
// here (assessment_results) is made in the run's transaction and finished when the run ends: the
// JSON plan says what drifted. A finished result is counted in /metrics and told to the result
// hooks (notifications enqueue in the transaction that finishes it: assessment:drifted, assessment:failed).
import { recordChange } from '../audit/index.js';
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { authorize } from '../auth/authorize.js';
import { SITE_ADMIN, type Subject } from '../auth/subject.js';
import { nextFiring } from '../cron.js';
import type { Db } from '../db/index.js';
import { ConflictError, InvalidError, notFound, NotFoundError } from '../errors.js';
import { newId } from '../ids.js';
import type { Logger } from '../logger.js';
import type { AssessmentNotice } from '../notifications/triggers.js';
import { FINAL_STATUSES, type Run, type RunService } from '../runs/index.js';
import type { Workspace, WorkspaceService } from '../workspaces/index.js';
import { clean, driftOf } from './drift.js';
import type { AssessmentMetrics } from './metrics.js';
import * as store from './store.js';
import type { AssessmentResult } from './store.js';

export type { AssessmentResult, AssessmentStatus } from './store.js';

/**
 * Told of every finished assessment that drifted, failed or had failing checks; called without being
 * awaited. A hook may be async (notifications' is): its rejection is logged, never left unhandled.
 */
export type ResultHook = (notice: AssessmentNotice) => void | Promise<void>;

/**
 * Called in the transaction that finishes a result, for each notice of it (the notifications
 * domain's, connected in src/server.ts): what it writes commits or rolls back with the result, so
 * an otfd that dies in between loses nothing (the result stays running, and the orphan sweep
 * finishes it again). What it returns runs after the commit; its failure fails the finishing.
 */
export type ResultTransactionHook = (trx: Knex.Transaction, notice: AssessmentNotice) => Promise<(() => Promise<void>) | void>;

/** What a result records when it finishes. */
type Outcome = Parameters<typeof store.finishResult>[2];

export interface SchedulerOptions {
  /** --assessments-schedule: when assessments are due, unless the organization has its own. */
  schedule: string;
  /** How often due workspaces are looked for. */
  tickMs: number;
}

/** At most this many assessments are started by one tick; the rest wait for the next. */
const PER_TICK = 50;
/** Workspaces with assessments on read by one tick, least recently assessed first. */
const CANDIDATES_PER_TICK = 1000;

const FINAL = [...FINAL_STATUSES];

export class AssessmentService {
  private readonly hooks: ResultHook[] = [];
  private readonly transactionHooks: ResultTransactionHook[] = [];
  /** This otfd's name in the scheduler's lease. */
  private readonly owner = `otfd-${process.pid}-${crypto.randomBytes(6).toString('hex')}`;
  /** Workspaces whose assessment could not be made, and when: tried again at the next due time after that. */
  private readonly refused = new Map<string, Date>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly workspaces: WorkspaceService,
    private readonly runs: RunService,
    private readonly planJson: (runId: string) => Promise<Buffer | null>,
    private readonly metrics: AssessmentMetrics,
    private readonly scheduler: SchedulerOptions,
    private readonly logger: Logger,
  ) {}

  /** Hooks told of drifted and failed assessments (the notifications domain, connected in src/server.ts). */
  onResult(hook: ResultHook): void {
    this.hooks.push(hook);
  }

  /** Hooks called in the transaction that finishes a drifted or failed result (see ResultTransactionHook). */
  onResultInTransaction(hook: ResultTransactionHook): void {
    this.transactionHooks.push(hook);
  }

  // ------------------------------------------------------------ reads

  /** The workspace, if the subject may read its assessments (its runs); 404 for one it cannot see. */
  private async readable(subject: Subject, workspaceId: string): Promise<Workspace> {
    const ws = await this.workspaces.get(subject, workspaceId);
    authorize(subject, 'run:read', { organizationId: ws.organizationId, workspaceId: ws.id }, () => notFound('workspace', workspaceId));
    return ws;
  }

  /** The workspace's latest finished assessment (TFC's current-assessment-result). */
  async current(subject: Subject, workspaceId: string): Promise<{ ws: Workspace; result: AssessmentResult }> {
    const ws = await this.readable(subject, workspaceId);
    const result = await store.currentResult(this.db, ws.id);
    if (!result) throw new NotFoundError(`workspace "${workspaceId}" has no finished health assessment yet`);
    return { ws, result };
  }

  async get(subject: Subject, id: string): Promise<AssessmentResult> {
    const result = await store.findResult(this.db, id);
    if (!result) throw notFound('assessment result', id);
    try {
      await this.readable(subject, result.workspaceId);
    } catch (err) {
      if (err instanceof NotFoundError) throw notFound('assessment result', id);
      throw err;
    }
    return result;
  }

  async list(subject: Subject, workspaceId: string, limit: number, offset: number): Promise<{ items: AssessmentResult[]; total: number }> {
    const ws = await this.readable(subject, workspaceId);
    return store.listResults(this.db, ws.id, limit, offset);
  }

  /** Results by id, in one statement, no authorization (include= on workspaces, which checks it). */
  async byIds(ids: string[]): Promise<AssessmentResult[]> {
    return store.findResults(this.db, ids);
  }

  /** The plan id of the result's run, for its links (JSON plan, log); null when the run is gone. */
  async planIdOf(result: AssessmentResult): Promise<string | null> {
    return result.runId ? ((await this.runs.byId(result.runId))?.plan.id ?? null) : null;
  }

  // ------------------------------------------------------------ making assessments

  /**
   * Why the workspace cannot be assessed now, or null. A workspace is assessed only when it has a
   * runner (not local execution), a current state, and no run holds it: not locked, no run of any
   * kind unfinished (an assessment beside an apply would read a state about to change).
   */
  private async obstacle(ws: Workspace): Promise<{ status: 409 | 422; why: string } | null> {
    if (ws.executionMode === 'local') return { status: 422, why: `workspace "${ws.name}" uses local execution: there is no runner to assess it on` };
    if (!ws.currentStateVersionId) return { status: 422, why: `workspace "${ws.name}" has no state yet: there is nothing to assess` };
    if (ws.lock) return { status: 409, why: `workspace "${ws.name}" is locked by ${ws.lock.holder.name}` };
    const active = await store.unfinishedRun(this.db, ws.id, FINAL);
    if (active) return { status: 409, why: `workspace "${ws.name}" has a run in progress (${active})` };
    return null;
  }

  private async start(subject: Subject, ws: Workspace): Promise<AssessmentResult> {
    const resultId = newId('asmtres');
    await this.runs.createAssessment(subject, ws, async (trx, run) => {
      await store.insertResult(trx, { id: resultId, workspaceId: ws.id, organizationId: ws.organizationId, runId: run.id });
      await recordChange(trx, { action: 'assessment.create', resource: { type: 'assessment-results', id: resultId }, organizationId: ws.organizationId, details: { workspace: ws.id, run: run.id } });
    });
    this.logger.info({ workspace: ws.id, result: resultId }, 'health assessment started');
    return (await store.findResult(this.db, resultId))!;
  }

  /** actions/assess (an extension): assess the workspace now, whatever its schedule; workspace admins only. */
  async assessNow(subject: Subject, workspaceId: string): Promise<AssessmentResult> {
    const ws = await this.workspaces.get(subject, workspaceId);
    authorize(subject, 'workspace:update', { organizationId: ws.organizationId, workspaceId: ws.id }, () => notFound('workspace', workspaceId));
    const obstacle = await this.obstacle(ws);
    if (obstacle) throw obstacle.status === 409 ? new ConflictError(obstacle.why) : new InvalidError(obstacle.why);
    return this.start(subject, ws);
  }

  // ------------------------------------------------------------ results

  /** Told of every run's status change (src/server.ts): an assessment's run that ended finishes its result. */
  async runChanged(run: Run): Promise<void> {
    if (!run.assessment || !FINAL_STATUSES.has(run.status)) return;
    const result = await store.resultOfRun(this.db, run.id);
    if (result && result.status === 'running') await this.finish(result.id, run);
  }

  /**
   * Records the result of the assessment's run. Never leaves it running when the run's plan cannot
   * be read or stored: the result is errored with the reason instead (else the orphan sweep would
   * try it again on every tick).
   */
  private async finish(resultId: string, run: Run | null): Promise<void> {
    const after: Array<() => Promise<void>> = [];
    let notify = true;
    const record = (outcome: Outcome) =>
      this.db.transaction(async (trx) => {
        const finished = await store.finishResult(trx, resultId, outcome);
        if (!finished) return null;
        for (const n of notify ? noticesOf(finished) : []) {
          for (const hook of this.transactionHooks) {
            const then = await hook(trx, n);
            if (then) after.push(then);
          }
        }
        return finished;
      });
    const failed = (why: string, quietly = false) => {
      if (quietly) notify = false;
      return record({ status: 'errored', errorMsg: clean(why), resourcesDrifted: 0, resourcesUndrifted: 0, driftedAddresses: [], failedChecks: [] });
    };
    let finished: AssessmentResult | null;
    try {
      finished = await this.outcome(run, record, failed);
    } catch (err) {
      this.logger.error({ err, result: resultId }, 'cannot record the outcome of a health assessment; recording it errored');
      // Whatever the failed attempt left to do after a commit was rolled back with it.
      after.length = 0;
      notify = true;
      finished = await failed(`the outcome of this assessment could not be recorded: ${err instanceof Error ? err.message : String(err)}`);
    }
    for (const f of after) await f();
    if (finished) this.announce(finished, notify);
  }

  private async outcome(
    run: Run | null,
    record: (outcome: Outcome) => Promise<AssessmentResult | null>,
    failed: (why: string, quietly?: boolean) => Promise<AssessmentResult | null>,
  ): Promise<AssessmentResult | null> {
    if (!run) return failed('the run of this assessment is gone');
    // An assessment locks nothing, so a run (or a state upload) may start while it refreshes: what
    // it compared is then neither the old nor the new infrastructure, and a drift it saw may be
    // that run's own doing. Such a result says so and alerts nobody; the next assessment looks again.
    const change = await store.changeSince(this.db, run.workspaceId, run.createdAt);
    if (change) return failed(`inconclusive: ${change} changed the workspace while this assessment ran; the next assessment looks again`, true);
    if (run.status === 'errored') return failed(run.errorMessage ?? 'the assessment failed');
    if (run.status !== 'planned_and_finished') return failed(`the assessment ended ${run.status.replace(/_/g, ' ')}`);
    const json = await this.planJson(run.id);
    const plan = json ? parsePlan(json) : undefined;
    if (plan === undefined) return failed('the plan of this assessment has no readable JSON output');
    const drift = driftOf(plan);
    return record({
      status: drift.addresses.length > 0 ? 'drifted' : 'no_drift',
      errorMsg: null,
      resourcesDrifted: drift.resourcesDrifted,
      resourcesUndrifted: drift.resourcesUndrifted,
      driftedAddresses: drift.addresses,
      failedChecks: drift.failedChecks,
    });
  }

  private announce(r: AssessmentResult, notify: boolean): void {
    this.metrics.finished(r.status);
    this.logger.info({ workspace: r.workspaceId, result: r.id, status: r.status, drifted: r.driftedAddresses }, 'health assessment finished');
    if (!notify) return;
    for (const n of noticesOf(r)) {
      for (const hook of this.hooks) {
        // An unhandled rejection would end otfd: a hook's failure (thrown or rejected) is only logged.
        Promise.resolve()
          .then(() => hook(n))
          .catch((err: unknown) => this.logger.error({ err, result: r.id }, 'an assessment result hook failed'));
      }
    }
  }

  // ------------------------------------------------------------ the scheduler

  /** Starts looking for due workspaces every tick; only the otfd holding the lease makes assessments. */
  startScheduler(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stopScheduler(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.ticking;
    await store.releaseLease(this.db, this.owner).catch(() => undefined);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.ticking = this.tick()
        .catch((err) => this.logger.error({ err }, 'scheduling health assessments failed; trying again'))
        .finally(() => {
          this.ticking = null;
          this.schedule(this.scheduler.tickMs);
        });
    }, ms);
  }

  /** One look for due workspaces, made by the lease holder only. */
  private async tick(): Promise<void> {
    // The lease outlives a few missed ticks, so a busy otfd keeps it; a stopped one loses it soon.
    const leaseSeconds = Math.max(10, Math.ceil((this.scheduler.tickMs * 3) / 1000));
    if (!(await store.holdLease(this.db, this.owner, leaseSeconds))) return;
    // Results whose otfd stopped between the run's end and finishing them.
    // One that cannot be finished (not even as errored) is logged and left: it must not stop the tick.
    for (const orphan of await store.orphanedResults(this.db, FINAL)) {
      try {
        await this.finish(orphan.id, orphan.runId ? await this.runs.byId(orphan.runId) : null);
      } catch (err) {
        this.logger.error({ err, result: orphan.id }, 'cannot finish an orphaned health assessment result; going on with the others');
      }
    }
    const now = new Date();
    const due = (await store.candidates(this.db, FINAL, CANDIDATES_PER_TICK)).filter((c) => this.isDue(c, now)).slice(0, PER_TICK);
    if (due.length === 0 || this.stopped) return;
    for (const ws of await this.workspaces.byIds(due.map((c) => c.workspaceId))) {
      if (this.stopped) return;
      // Refused workspaces are remembered, so they are not first again at the next tick (isDue).
      if (await this.obstacle(ws)) {
        this.refused.set(ws.id, new Date());
        continue;
      }
      try {
        await this.start(SITE_ADMIN, ws);
        this.refused.delete(ws.id);
      } catch (err) {
        // A run or another assessment took the workspace since the check above: skipped this tick.
        if (err instanceof ConflictError) {
          this.logger.debug({ workspace: ws.id, why: err.message }, 'health assessment skipped: the workspace is busy');
          continue;
        }
        this.refused.set(ws.id, new Date());
        this.logger.warn({ err, workspace: ws.id }, 'cannot start the health assessment of a workspace; trying again at its next due time');
      }
    }
  }

  /** Never assessed: due now. Else due at the schedule's first firing after the last assessment (or refusal). */
  private isDue(c: store.Candidate, now: Date): boolean {
    const refusedAt = this.refused.get(c.workspaceId) ?? null;
    const anchor = [c.lastAt, refusedAt].filter((d): d is Date => d !== null).sort((a, b) => b.getTime() - a.getTime())[0] ?? null;
    if (!anchor) return true;
    let next: Date | null;
    try {
      next = nextFiring(c.schedule ?? this.scheduler.schedule, anchor);
    } catch {
      next = nextFiring(this.scheduler.schedule, anchor);
    }
    return next !== null && next.getTime() <= now.getTime();
  }
}

/** What a finished result tells notifications: drifted, failed, failed checks (none, one or two of them). */
function noticesOf(r: AssessmentResult): AssessmentNotice[] {
  const at = r.finishedAt ?? new Date();
  const notices: AssessmentNotice[] = [];
  const notice = (trigger: AssessmentNotice['trigger'], message: string) => notices.push({ trigger, workspaceId: r.workspaceId, assessmentResultId: r.id, message, at });
  if (r.status === 'drifted') notice('assessment:drifted', driftMessage(r));
  if (r.status === 'errored') notice('assessment:failed', `assessment failed: ${r.errorMsg ?? 'unknown error'}`);
  if (r.failedChecks.length > 0) notice('assessment:check_failure', `${r.failedChecks.length} check(s) failed: ${r.failedChecks.slice(0, 10).join(', ')}`);
  return notices;
}

/** "2 drifted: terraform_data.a, output.watched" */
function driftMessage(r: AssessmentResult): string {
  const shown = r.driftedAddresses.slice(0, 10).join(', ');
  const more = r.driftedAddresses.length > 10 ? ` and ${r.driftedAddresses.length - 10} more` : '';
  return `${r.driftedAddresses.length} drifted: ${shown}${more}`;
}

/** The parsed JSON plan (any shape: driftOf checks it), undefined when it is not JSON. */
function parsePlan(json: Buffer): unknown {
  try {
    return JSON.parse(json.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
