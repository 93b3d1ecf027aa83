// Rules of runs: creation, the workspace queue (one active non-speculative run per workspace,
// holding its lock), user actions (apply, discard, cancel, force-cancel) and what runners report.
// Every status change goes through fire(), which applies the transition table in machine.ts.
import { actorOf, recordChange, type Change } from '../audit/index.js';
import type { Knex } from 'knex';
import type { JobOutcome } from '../protocol/agent.js';
import { authorize, isAllowed, visibleWorkspaces, type Action } from '../auth/authorize.js';
import type { PrincipalResolver } from '../auth/service.js';
import { principalOf, type Principal, type Subject } from '../auth/subject.js';
import { isUniqueViolation, type Db } from '../db/index.js';
import { inOrderOf } from '../db/lists.js';
import { ConflictError, ForbiddenError, InvalidError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { DEFAULT_TIMEOUT_SECONDS, type PhaseTimeouts } from '../timeouts.js';
import type { Logger } from '../logger.js';
import type { Capacity, Organization, OrganizationService } from '../orgs/index.js';
import { PRIORITY, type Job, type JobService } from '../jobs/index.js';
import { runnerPoolOf, type Workspace, type WorkspaceService } from '../workspaces/index.js';
import { addComment } from './comments.js';
import type { ConfigurationVersion, ConfigurationVersionService } from './configs.js';
import { recordEvent, recordTransition } from './events.js';
import { canHappen, FINAL_STATUSES, IllegalTransition, phaseStatuses, transition, type RunEvent, type RunStatus } from './machine.js';
import * as store from './store.js';
import type { CommitOrigin, Run, RunFilter } from './store.js';

export type { CommitOrigin, Run } from './store.js';

/**
 * Plans a VCS workspace's branch head for a run created without a configuration version (the
 * ingress domain, connected by src/server.ts). Null: the workspace is not connected to a repository.
 */
export type HeadPlanner = (subject: Subject, ws: Workspace, input: RunInput) => Promise<Run | null>;

/** A run whose configuration version is made from a commit, fetched after the run exists. */
export interface FromCommit {
  origin: CommitOrigin;
  /** A pull request's plan: speculative, never applied. */
  speculative: boolean;
}

/** What became of fetching a run's commit: its archive (the caller removes the file), or why not. */
export type FetchOutcome = { file: string; size: number } | { error: string };

export interface RunInput {
  /** The new run's id, when the caller must be able to tell later whether it made the run (run triggers). */
  id?: string;
  workspaceId: string;
  configurationVersionId?: string;
  message?: string;
  isDestroy?: boolean;
  refresh?: boolean;
  refreshOnly?: boolean;
  planOnly?: boolean;
  targetAddrs?: string[];
  replaceAddrs?: string[];
  variables?: Array<{ key: string; value: string }>;
  autoApply?: boolean;
  allowEmptyApply?: boolean;
  savePlan?: boolean;
  /** What queued the run, as Terraform Cloud names it; tfe-api unless said otherwise. */
  source?: string;
  /** The engine version of a plan-only run, instead of the workspace's. */
  terraformVersion?: string;
}

/** otfd's phase timeouts, in seconds. */
export interface SiteTimeouts {
  planSeconds: number;
  applySeconds: number;
}

/** What a runner reports at the end of a phase. */
export type PhaseOutcome = JobOutcome;

export type ListFilter = Pick<RunFilter, 'statuses' | 'operations' | 'search' | 'limit' | 'offset'>;

type AfterCommit = Array<() => Promise<void>>;

/**
 * Called in the transaction that moves a run to applied (src/server.ts connects run triggers to
 * it): what it records commits or rolls back with the apply. What it returns runs after the commit.
 */
export type AppliedHook = (trx: Knex.Transaction, run: Run) => Promise<(() => Promise<void>) | void>;

/**
 * Told of every status change of a run once its transaction has committed (commit statuses use
 * it). Called without being awaited: whatever it does, and however it fails, the run moves on.
 */
export type StatusChangeHook = (run: Run, from: RunStatus, to: RunStatus) => Promise<void>;

/**
 * Called in the transaction that changes a run's status, with the run as the change leaves it
 * (src/server.ts connects notifications to it): what it writes commits or rolls back with the
 * change, so an otfd that dies between the two cannot lose it. What it returns runs after the
 * commit. It is on the path of every transition: it must be cheap, and its failure fails the change.
 */
export type TransitionHook = (trx: Knex.Transaction, run: Run, from: RunStatus, to: RunStatus) => Promise<(() => Promise<void>) | void>;

/**
 * Called in the transaction that makes a run (health assessments' included, marked `assessment`),
 * whichever way it is made (API, configuration upload, commit, run trigger), before the run's
 * first status change: what it writes commits or rolls back with the run. What it returns runs
 * after the commit.
 */
export type CreatedHook = (trx: Knex.Transaction, run: Run) => Promise<(() => Promise<void>) | void>;

/** TFC's status-timestamps key for entering a status. */
function timestampKey(status: RunStatus): string {
  return `${status.replace(/_/g, '-')}-at`;
}

export class RunService {
  private readonly appliedHooks: AppliedHook[] = [];
  private readonly statusHooks: StatusChangeHook[] = [];
  private readonly transitionHooks: TransitionHook[] = [];
  private readonly createdHooks: CreatedHook[] = [];
  private headPlanner: HeadPlanner | null = null;
  /**
   * Who is acting in a transaction of a user action (act()), for the run events its transitions
   * write; transitions otfd makes by itself (runners' reports, the queue) have no entry.
   */
  private readonly actors = new WeakMap<Knex.Transaction, Principal>();

  constructor(
    private readonly db: Db,
    private readonly orgs: OrganizationService,
    private readonly workspaces: WorkspaceService,
    private readonly configs: ConfigurationVersionService,
    private readonly jobs: JobService,
    /** Whose rights a run acts with when nobody is asking: its creator's, gathered afresh. */
    private readonly principals: PrincipalResolver,
    private readonly logger: Logger,
    /**
     * How long after a cancel request force-cancel becomes available (TFC has such a cool-off):
     * the engine gets this long to stop by itself and leave its state behind before it is killed.
     */
    private readonly forceCancelCoolOffMs: number,
    /** The site's phase timeouts (--plan-timeout, --apply-timeout), for workspaces and organizations that set none. */
    private readonly siteTimeouts: SiteTimeouts = { planSeconds: DEFAULT_TIMEOUT_SECONDS, applySeconds: DEFAULT_TIMEOUT_SECONDS },
  ) {
    configs.onAutoQueue((cv) => this.createForUpload(cv));
  }

  onApplied(hook: AppliedHook): void {
    this.appliedHooks.push(hook);
  }

  onStatusChange(hook: StatusChangeHook): void {
    this.statusHooks.push(hook);
  }

  /** In the transaction of every status change (see TransitionHook). */
  onTransition(hook: TransitionHook): void {
    this.transitionHooks.push(hook);
  }

  /** In the transaction that makes every run (see CreatedHook). */
  onCreated(hook: CreatedHook): void {
    this.createdHooks.push(hook);
  }

  /** Tells the created hooks of a run just inserted, in its transaction; answers the run, its row locked. */
  private async created(trx: Knex.Transaction, id: string, after: AfterCommit): Promise<Run> {
    const run = (await store.lockRun(trx, id))!;
    for (const hook of this.createdHooks) {
      const then = await hook(trx, run);
      if (then) after.push(then);
    }
    return run;
  }

  /** Tells the status hooks of a committed transition; a hook's failure is logged, never the run's. */
  private announce(run: Run, from: RunStatus, to: RunStatus): void {
    for (const hook of this.statusHooks) {
      const failed = (err: unknown) => this.logger.error({ err, run: run.id, from, to }, 'a run status-change hook failed');
      try {
        hook(run, from, to).catch(failed);
      } catch (err) {
        failed(err);
      }
    }
  }

  /** Who plans a VCS workspace's branch head when a run names no configuration version. */
  setHeadPlanner(planner: HeadPlanner): void {
    this.headPlanner = planner;
  }

  /** When force-cancel becomes available for the run: a cool-off after its cancel request; null before any. */
  forceCancelAvailableAt(run: Pick<Run, 'cancelRequestedAt'>): Date | null {
    return run.cancelRequestedAt ? new Date(run.cancelRequestedAt.getTime() + this.forceCancelCoolOffMs) : null;
  }

  /** How many runs of the organization are active, for its capacity (hooked into orgs by src/server.ts). */
  activeRunCounts(org: Organization): Promise<Capacity> {
    return store.activeRunCounts(this.db, org.id);
  }

  private scope(run: { organizationId: string; workspaceId: string }) {
    return { organizationId: run.organizationId, workspaceId: run.workspaceId };
  }

  private authorize(subject: Subject, action: Action, run: Run): void {
    authorize(subject, action, this.scope(run), () => notFound('run', run.id));
  }

  can(subject: Subject, action: Action, run: Run): boolean {
    return isAllowed(subject, action, this.scope(run));
  }

  // ------------------------------------------------------------ reads

  async get(subject: Subject, id: string): Promise<Run> {
    const run = await store.findRun(this.db, id);
    if (!run) throw notFound('run', id);
    this.authorize(subject, 'run:read', run);
    return run;
  }

  /** Internal lookup without authorization. */
  async byId(id: string): Promise<Run | null> {
    return store.findRun(this.db, id);
  }

  /** The runs of these ids that exist, in the order of the ids, read in one statement (for include= on lists). */
  async byIds(ids: string[]): Promise<Run[]> {
    return inOrderOf(ids, await store.findRuns(this.db, [...new Set(ids)]));
  }

  /** The latest runs of these workspaces, in one statement: only those the subject may read (pages' lists). */
  async latestRuns(subject: Subject, workspaces: Array<Pick<Workspace, 'latestRunId'>>): Promise<Run[]> {
    const ids = workspaces.flatMap((w) => (w.latestRunId ? [w.latestRunId] : []));
    if (ids.length === 0) return [];
    return (await this.byIds(ids)).filter((r) => this.can(subject, 'run:read', r));
  }

  /** The run a plan or apply belongs to, if the subject may take the action on it (read it, by default). */
  async byPhase(subject: Subject, phaseId: string, action: Action = 'run:read'): Promise<Run> {
    const run = await store.findRunByPhase(this.db, phaseId);
    const missing = () => notFound(phaseId.startsWith('plan-') ? 'plan' : 'apply', phaseId);
    if (!run) throw missing();
    authorize(subject, 'run:read', this.scope(run), missing);
    authorize(subject, action, this.scope(run), missing);
    return run;
  }

  /** Internal: the run of a plan or apply id, without authorization (signed log URLs). */
  async runOfPhase(phaseId: string): Promise<Run | null> {
    return store.findRunByPhase(this.db, phaseId);
  }

  async listForWorkspace(subject: Subject, workspaceId: string, filter: ListFilter): Promise<{ items: Run[]; total: number }> {
    const ws = await this.workspaces.get(subject, workspaceId);
    authorize(subject, 'run:read', { organizationId: ws.organizationId, workspaceId: ws.id }, () => notFound('workspace', workspaceId));
    return store.listRuns(this.db, { ...filter, workspaceIds: [ws.id], order: 'newest' });
  }

  async listForOrganization(subject: Subject, orgName: string, filter: ListFilter): Promise<{ org: Organization; items: Run[]; total: number }> {
    const org = await this.orgs.resolve(subject, orgName);
    authorize(subject, 'run:read', { organizationId: org.id }, () => notFound('organization', orgName));
    const visible = visibleWorkspaces(subject, org.id) ?? undefined;
    return { org, ...(await store.listRuns(this.db, { ...filter, organizationId: org.id, workspaceIds: visible, order: 'newest' })) };
  }

  /**
   * The organization's runs waiting for or holding a runner, oldest first, each with its position
   * in the queue: 0 while executing, else how many runs are ahead of it.
   */
  async queue(subject: Subject, orgName: string, limit: number, offset: number): Promise<{ items: Array<{ run: Run; position: number }>; total: number }> {
    const org = await this.orgs.resolve(subject, orgName);
    authorize(subject, 'run:read', { organizationId: org.id }, () => notFound('organization', orgName));
    const active: RunStatus[] = ['pending', 'plan_queued', 'planning', 'confirmed', 'apply_queued', 'applying'];
    const visible = visibleWorkspaces(subject, org.id);
    if (visible === null) {
      const { items, total } = await store.listRuns(this.db, { organizationId: org.id, statuses: active, limit, offset, order: 'oldest' });
      return { items: withPositions(items, offset), total };
    }
    // Positions count every run ahead, also those in workspaces the subject cannot see.
    const { items } = await store.listRuns(this.db, { organizationId: org.id, statuses: active, limit: MAX_ACTIVE_RUNS, offset: 0, order: 'oldest' });
    const shown = new Set(visible);
    const mine = withPositions(items, 0).filter((q) => shown.has(q.run.workspaceId));
    return { items: mine.slice(offset, offset + limit), total: mine.length };
  }

  // ------------------------------------------------------------ creation

  /**
   * Creates a run. With `commit`, its configuration version is made from a commit in the same
   * transaction, fetching: the run shows at once and waits (pending) until commitFetched(). With a
   * key in the commit's origin, a second call for the same key answers the run the first one made.
   */
  async create(subject: Subject, input: RunInput, commit?: FromCommit): Promise<Run> {
    const ws = await this.workspaces.get(subject, input.workspaceId);
    const scope = { organizationId: ws.organizationId, workspaceId: ws.id };
    authorize(subject, 'run:queue', scope, () => notFound('workspace', input.workspaceId));
    if (ws.executionMode === 'local') {
      throw new InvalidError(`workspace "${ws.name}" uses local execution: runs execute on the user's machine, not on the server`, {
        pointer: '/data/relationships/workspace',
      });
    }
    if (input.isDestroy && input.refreshOnly) {
      throw new InvalidError('a run cannot be both a destroy and refresh-only', { pointer: '/data/attributes/refresh-only' });
    }
    if (input.refreshOnly && input.refresh === false) {
      throw new InvalidError('a refresh-only run needs refresh', { pointer: '/data/attributes/refresh' });
    }
    if (commit) return this.createFromCommit(subject, ws, input, commit);
    if (!input.configurationVersionId && this.headPlanner) {
      // A VCS workspace's run without a configuration plans its branch head, as TFC's does.
      const run = await this.headPlanner(subject, ws, input);
      if (run) return run;
    }
    const cv = await this.configurationFor(ws, input.configurationVersionId);
    const speculative = (input.planOnly ?? false) || cv.speculative;
    const id = input.id ?? newId('run');
    const after: AfterCommit = [];
    await this.db.transaction(async (trx) => {
      // Held until the run exists: an archive of the configuration waits for it, or went first.
      if ((await store.lockConfigurationVersion(trx, cv.id, 'share')) !== 'uploaded') {
        throw new InvalidError(`configuration version "${cv.id}" is archived: its configuration is gone`, { pointer: '/data/relationships/configuration-version' });
      }
      await this.insert(trx, subject, ws, input, { id, configurationVersionId: cv.id, speculative });
      const made = await this.created(trx, id, after);
      // Speculative plans never queue and never lock: they start at once, beside any other run.
      if (speculative) await this.fire(trx, made, 'queue_plan', after);
    });
    if (!speculative) await this.schedule(ws.id);
    for (const f of after) await f();
    return (await store.findRun(this.db, id))!;
  }

  /**
   * A health assessment of the workspace (for the assessments domain, which has decided it is due
   * and may be run): a speculative refresh-only plan of the workspace's current configuration,
   * marked as an assessment, admitted at once. Like any speculative plan it never locks the
   * workspace; unlike one it is not listed among the workspace's runs. `record` runs in the run's
   * transaction, so the assessment's own record exists exactly when its run does. 409 (ConflictError)
   * when the workspace is locked or has an unfinished run, checked under its row lock.
   */
  async createAssessment(subject: Subject, ws: Workspace, record: (trx: Knex.Transaction, run: Run) => Promise<void>): Promise<Run> {
    const cv = await this.configurationFor(ws, ws.currentConfigurationVersionId ?? undefined);
    const id = newId('run');
    const after: AfterCommit = [];
    const input: RunInput = { workspaceId: ws.id, message: 'Health assessment', source: 'tfe-assessment', refreshOnly: true, planOnly: true };
    await this.db.transaction(async (trx) => {
      if ((await store.lockConfigurationVersion(trx, cv.id, 'share')) !== 'uploaded') {
        throw new InvalidError(`configuration version "${cv.id}" is archived: its configuration is gone`);
      }
      // Checked again here, under the workspace row's lock: the caller's check was made outside this
      // transaction, and a run (or another assessment) may have been admitted since.
      const obstacle = await store.assessmentObstacle(trx, ws.id, [...FINAL_STATUSES]);
      if (obstacle) throw new ConflictError(obstacle);
      await this.insert(trx, subject, ws, input, { id, configurationVersionId: cv.id, speculative: true, assessment: true });
      const run = await this.created(trx, id, after);
      await record(trx, run);
      await this.fire(trx, run, 'queue_plan', after);
    });
    for (const f of after) await f();
    return (await store.findRun(this.db, id))!;
  }

  /** A run and its configuration version from a commit, still to be fetched (see create). */
  private async createFromCommit(subject: Subject, ws: Workspace, input: RunInput, commit: FromCommit): Promise<Run> {
    const existing = async (): Promise<Run | null> => {
      const cv = commit.origin.key ? await store.findConfigurationVersionByIngressKey(this.db, commit.origin.key) : null;
      const runId = cv ? await store.runOfConfigurationVersion(this.db, cv.id) : null;
      return runId ? store.findRun(this.db, runId) : null;
    };
    const made = await existing();
    if (made) return made;
    const speculative = (input.planOnly ?? false) || commit.speculative;
    const id = input.id ?? newId('run');
    const cvId = newId('cv');
    const after: AfterCommit = [];
    try {
      await this.db.transaction(async (trx) => {
        await store.insertConfigurationVersion(trx, {
          id: cvId,
          workspaceId: ws.id,
          speculative: commit.speculative,
          provisional: false,
          autoQueueRuns: false,
          createdBy: principalOf(subject),
          origin: commit.origin,
        });
        await this.insert(trx, subject, ws, input, { id, configurationVersionId: cvId, speculative });
        await this.created(trx, id, after);
      });
    } catch (err) {
      // Another otfd processing the same delivery made it first (and told the created hooks).
      const raced = isUniqueViolation(err) ? await existing() : null;
      if (raced) return raced;
      throw err;
    }
    for (const f of after) await f();
    return (await store.findRun(this.db, id))!;
  }

  /**
   * The commit of a run made by create(…, commit) was fetched, or could not be: its configuration
   * is stored (inspected as an upload is) and the run proceeds as any other, or the configuration
   * version and the run are errored with the reason, which is also the plan's log.
   */
  async commitFetched(runId: string, outcome: FetchOutcome): Promise<void> {
    const run = await store.findRun(this.db, runId);
    if (!run) return;
    let reason: string | null = null;
    if ('error' in outcome) {
      reason = outcome.error;
      await this.configs.fetchFailed(run.configurationVersionId, reason);
    } else {
      const stored = await this.configs.storeFetched(run.configurationVersionId, outcome.file, outcome.size);
      if (!stored.stored) reason = stored.reason;
    }
    if (reason !== null) {
      // What the API's plan log and the run's error show: the only record of why nothing was planned.
      const end = await store.logLength(this.db, run.plan.id);
      await store.appendLog(this.db, run.plan.id, end, Buffer.from(`Error: the configuration could not be fetched: ${reason}\n`));
      await this.fail(runId, reason);
      return;
    }
    if (run.speculative) {
      await this.withRun(runId, async (trx, locked, after) => {
        if (locked.status === 'pending') await this.fire(trx, locked, 'queue_plan', after);
      });
    } else {
      await this.schedule(run.workspaceId);
    }
  }

  /**
   * Errors the runs whose commit has been fetching for longer than any fetch takes: the otfd that
   * fetched it stopped, or its delivery was given up. Each would otherwise hold its workspace's
   * queue for ever (a run waits for its commit, and the runs behind it wait for it).
   */
  async failLostFetches(olderThanMs: number): Promise<number> {
    const lost = await store.runsFetchingSince(this.db, new Date(Date.now() - olderThanMs));
    for (const id of lost) {
      await this.commitFetched(id, { error: `the commit was not fetched within ${Math.round(olderThanMs / 60_000)} minutes (the otfd fetching it may have stopped)` });
    }
    return lost.length;
  }

  /** Inserts a new pending run of the workspace with the input's options, as the subject. */
  private async insert(
    trx: Knex.Transaction,
    subject: Subject,
    ws: Workspace,
    input: RunInput,
    run: { id: string; configurationVersionId: string; speculative: boolean; assessment?: boolean },
  ): Promise<void> {
    const { id, speculative } = run;
    const scope = { organizationId: ws.organizationId, workspaceId: ws.id };
    // TFC lets a run choose its own engine version only when it can change nothing.
    if (input.terraformVersion !== undefined && !speculative) {
      throw new InvalidError('terraform-version may only be set on a plan-only run', { pointer: '/data/attributes/terraform-version' });
    }
    // Asking for auto-apply outright needs the right to apply. The workspace's own auto-apply is
    // what a run of somebody who may apply does; anybody else's run stops at planned, for somebody
    // who may apply to confirm (as in a manual-apply workspace).
    if (!speculative && input.autoApply === true) authorize(subject, 'run:apply', scope, () => notFound('workspace', input.workspaceId));
    const autoApply = (input.autoApply ?? ws.autoApply) && isAllowed(subject, 'run:apply', scope);
    await store.insertRun(trx, {
      id,
      planId: newId('plan'),
      applyId: newId('apply'),
      workspaceId: ws.id,
      organizationId: ws.organizationId,
      configurationVersionId: run.configurationVersionId,
      message: input.message ?? 'Queued manually via the API',
      source: input.source ?? 'tfe-api',
      isDestroy: input.isDestroy ?? false,
      refresh: input.refresh ?? true,
      refreshOnly: input.refreshOnly ?? false,
      planOnly: input.planOnly ?? false,
      speculative,
      assessment: run.assessment ?? false,
      savePlan: input.savePlan ?? false,
      autoApply,
      allowEmptyApply: input.allowEmptyApply ?? false,
      targetAddrs: input.targetAddrs ?? [],
      replaceAddrs: input.replaceAddrs ?? [],
      variables: input.variables ?? [],
      engine: ws.engine,
      engineVersion: input.terraformVersion ?? ws.terraformVersion,
      createdBy: principalOf(subject),
    });
    await recordEvent(trx, { runId: id, action: 'created', actor: principalOf(subject) });
    // The run's creator is its actor, also when a trigger or a commit queues it in their name.
    await recordChange(trx, { ...runChange('create', { id, organizationId: ws.organizationId, workspaceId: ws.id }), actor: actorOf(subject) });
  }

  private async configurationFor(ws: Workspace, id: string | undefined): Promise<ConfigurationVersion> {
    if (!id) {
      const latest = await this.configs.latestUploaded(ws.id);
      if (!latest) {
        throw new InvalidError(`workspace "${ws.name}" has no uploaded configuration; create a configuration version and upload one first`, {
          pointer: '/data/relationships/configuration-version',
        });
      }
      return latest;
    }
    const cv = await this.configs.byId(id);
    if (!cv || cv.workspaceId !== ws.id) {
      throw new InvalidError(`configuration version "${id}" does not belong to workspace "${ws.name}"`, {
        pointer: '/data/relationships/configuration-version',
      });
    }
    if (cv.status !== 'uploaded') {
      const why =
        cv.status === 'errored' ? `errored (${cv.errorMessage})` : cv.status === 'archived' ? 'archived: its configuration is gone' : 'still waiting for its upload';
      throw new InvalidError(`configuration version "${id}" is ${why}`, { pointer: '/data/relationships/configuration-version' });
    }
    return cv;
  }

  /**
   * auto-queue-runs: an uploaded configuration queues a run as its creator: the run is theirs, and
   * needs their rights as they are now (to queue it, and to apply it without confirmation).
   */
  private async createForUpload(cv: ConfigurationVersion): Promise<void> {
    const ws = await this.workspaces.byId(cv.workspaceId);
    if (!ws || ws.executionMode === 'local') return;
    const creator = cv.createdBy ? await this.principals.subjectOf(cv.createdBy) : null;
    if (!creator) {
      this.logger.warn({ cv: cv.id, createdBy: cv.createdBy }, 'queuing no run for an upload whose creator is unknown or gone');
      return;
    }
    await this.create(creator, { workspaceId: ws.id, configurationVersionId: cv.id, message: 'Triggered by a configuration upload' });
  }

  /**
   * Whether the run's creator may still apply it. Auto-apply was granted when the run was created;
   * a plan may wait long behind others, and a right withdrawn meanwhile must not be used.
   */
  private async creatorMayApply(run: Run): Promise<boolean> {
    // Runs made before creators were recorded keep what was decided at creation.
    if (!run.createdBy) return true;
    const creator = await this.principals.subjectOf(run.createdBy);
    const allowed = creator !== null && isAllowed(creator, 'run:apply', this.scope(run));
    if (!allowed) this.logger.info({ run: run.id, createdBy: run.createdBy }, 'not auto-applying: the run\'s creator may no longer apply');
    return allowed;
  }

  // ------------------------------------------------------------ the workspace queue

  /**
   * Admits the workspace's oldest pending run when the workspace is free: the run takes the
   * workspace lock and its plan is queued. Safe to call at any time and from any replica.
   */
  async schedule(workspaceId: string): Promise<void> {
    const after: AfterCommit = [];
    await this.db.transaction(async (trx) => {
      const nextId = await store.oldestPending(trx, workspaceId);
      if (!nextId) return;
      const run = await store.lockRun(trx, nextId);
      if (!run || run.status !== 'pending') return;
      // A run from a commit waits until the commit is fetched, and the queue with it: runs keep their order.
      if ((await store.lockConfigurationVersion(trx, run.configurationVersionId, 'share')) === 'fetching') return;
      if (!(await this.workspaces.acquireForRun(trx, workspaceId, run.id))) return;
      await this.fire(trx, run, 'queue_plan', after);
    });
    for (const f of after) await f();
  }

  // ------------------------------------------------------------ transitions

  /**
   * Moves the run through one transition of the table and performs its effects, all in the
   * caller's transaction (the run's row is locked). Work to do after the commit goes to `after`.
   */
  private async fire(trx: Knex.Transaction, run: Run, event: RunEvent, after: AfterCommit, error?: string): Promise<Run> {
    const t = transition(run.status, event);
    const phases = phaseStatuses(run.status, t.to);
    await store.updateRun(trx, run.id, { status: t.to, ...(error !== undefined ? { errorMessage: error } : {}) }, timestampKey(t.to));
    await recordTransition(trx, run.id, t.to, this.actors.get(trx) ?? null, error);
    if (phases.plan !== run.plan.status) await store.updatePhase(trx, 'plans', run.id, { status: phases.plan });
    if (phases.apply !== run.apply.status) await store.updatePhase(trx, 'applies', run.id, { status: phases.apply });
    let moved: Run = { ...run, status: t.to, plan: { ...run.plan, status: phases.plan }, apply: { ...run.apply, status: phases.apply } };
    // Before the effects: an auto-apply fires further transitions, told and announced after this one.
    for (const hook of this.transitionHooks) {
      const then = await hook(trx, moved, run.status, t.to);
      if (then) after.push(then);
    }
    if (this.statusHooks.length > 0) {
      const changed = moved;
      after.push(async () => this.announce(changed, run.status, t.to));
    }
    for (const effect of t.effects) {
      switch (effect) {
        case 'enqueue-plan':
          await this.jobs.enqueue(trx, { ...(await this.jobTarget(run, 'plan')), priority: run.speculative ? PRIORITY.speculative : PRIORITY.plan });
          break;
        case 'enqueue-apply':
          await this.jobs.enqueue(trx, { ...(await this.jobTarget(run, 'apply')), priority: PRIORITY.apply });
          break;
        case 'cancel-jobs':
          // A force-cancel or force-end kills what runs and revokes its job tokens at once.
          await this.jobs.stop(trx, run.id, event === 'force_cancel' || event === 'force_end');
          break;
        case 'auto-apply':
          if (run.autoApply) moved = await this.confirmAndQueue(trx, moved, after);
          break;
        case 'release-workspace':
          if (!run.speculative) {
            await this.workspaces.releaseFromRun(trx, run.workspaceId, run.id);
            after.push(() => this.schedule(run.workspaceId));
          }
          break;
      }
    }
    if (t.to === 'applied') {
      for (const hook of this.appliedHooks) {
        const then = await hook(trx, moved);
        if (then) after.push(then);
      }
    }
    this.logger.debug({ run: run.id, from: run.status, event, to: t.to }, 'run transition');
    return moved;
  }

  /**
   * Where the phase's job goes (its workspace's pool, or the server agent) and how long it may run:
   * the workspace's timeout, else its organization's (read only then), else the site's. Decided
   * when the job is queued and kept on it, so the runner and otfd's backstop agree.
   */
  private async jobTarget(run: Run, phase: 'plan' | 'apply') {
    const ws = await this.workspaces.byId(run.workspaceId);
    const poolId = runnerPoolOf(ws);
    const pick = (t: PhaseTimeouts | null | undefined) => (phase === 'plan' ? t?.planTimeoutSeconds : t?.applyTimeoutSeconds) ?? null;
    const timeoutSeconds =
      pick(ws) ?? pick(await this.orgs.byId(run.organizationId)) ?? (phase === 'plan' ? this.siteTimeouts.planSeconds : this.siteTimeouts.applySeconds);
    return { runId: run.id, workspaceId: run.workspaceId, organizationId: run.organizationId, poolId, phase, timeoutSeconds };
  }

  private async confirmAndQueue(trx: Knex.Transaction, run: Run, after: AfterCommit): Promise<Run> {
    const confirmed = await this.fire(trx, run, 'confirm', after);
    return this.fire(trx, confirmed, 'queue_apply', after);
  }

  /** Runs fn with the run's row locked; an illegal transition becomes a 409 naming the status. */
  private async withRun<T>(id: string, fn: (trx: Knex.Transaction, run: Run, after: AfterCommit) => Promise<T>): Promise<T> {
    const after: AfterCommit = [];
    let result: T;
    try {
      result = await this.db.transaction(async (trx) => {
        const run = await store.lockRun(trx, id);
        if (!run) throw notFound('run', id);
        return fn(trx, run, after);
      });
    } catch (err) {
      if (err instanceof IllegalTransition) throw new ConflictError(`run ${id} is ${err.status}: ${err.message}`);
      throw err;
    }
    for (const f of after) await f();
    return result;
  }

  // ------------------------------------------------------------ user actions

  /**
   * A user action: with the run's row locked, checks that the subject may read the run and take
   * `action` on it, stores the comment, and runs fn. Returns the run as the action left it.
   */
  private async act(
    subject: Subject,
    id: string,
    action: Action,
    comment: string | undefined,
    fn: (trx: Knex.Transaction, run: Run, after: AfterCommit) => Promise<unknown>,
  ): Promise<Run> {
    await this.withRun(id, async (trx, run, after) => {
      this.authorize(subject, 'run:read', run);
      this.authorize(subject, action, run);
      this.actors.set(trx, principalOf(subject));
      if (comment) await addComment(trx, { runId: id, body: comment, author: principalOf(subject) });
      await fn(trx, run, after);
    });
    return (await store.findRun(this.db, id))!;
  }

  /** actions/apply: confirms a planned run; its apply is queued at once. */
  async confirm(subject: Subject, id: string, comment?: string): Promise<Run> {
    return this.act(subject, id, 'run:apply', comment, async (trx, run, after) => (await recordChange(trx, runChange('apply', run)), this.confirmAndQueue(trx, run, after)));
  }

  async discard(subject: Subject, id: string, comment?: string): Promise<Run> {
    return this.act(subject, id, 'run:apply', comment, async (trx, run, after) => (await recordChange(trx, runChange('discard', run)), this.fire(trx, run, 'discard', after)));
  }

  /**
   * Cancels the run. A run with nothing executing stops at once; an executing phase is asked to
   * stop (SIGINT to the engine) and the run ends canceled when its runner reports back.
   */
  async cancel(subject: Subject, id: string, comment?: string): Promise<Run> {
    return this.act(subject, id, 'run:cancel', comment, async (trx, run, after) => {
      await recordChange(trx, runChange('cancel', run));
      if (run.status === 'planning' || run.status === 'applying') {
        if (run.cancelRequestedAt) return;
        await store.updateRun(trx, id, { cancelRequestedAt: new Date() });
        await this.jobs.stop(trx, id, false);
        return;
      }
      await this.fire(trx, run, 'cancel', after);
      // As in TFC, every cancel request is recorded, and starts the force-cancel cool-off.
      await store.updateRun(trx, id, { cancelRequestedAt: new Date() });
    });
  }

  /**
   * Ends a run whose engine did not stop after cancel: the run is over now, its engine killed.
   * Only once the cool-off after the cancel request has passed, as in TFC.
   */
  async forceCancel(subject: Subject, id: string, comment?: string): Promise<Run> {
    return this.act(subject, id, 'run:force-cancel', comment, async (trx, run, after) => {
      await recordChange(trx, runChange('force-cancel', run));
      const available = this.forceCancelAvailableAt(run);
      if (!available) {
        throw new ConflictError(`run ${id} has not been canceled yet: cancel it first, and force-cancel only if it does not stop`);
      }
      if (Date.now() < available.getTime() && (run.status === 'planning' || run.status === 'applying')) {
        throw new ConflictError(`run ${id} was asked to cancel and may still stop by itself: force-cancel is available from ${available.toISOString()}`);
      }
      await this.fire(trx, run, 'force_cancel', after);
    });
  }

  /**
   * actions/force-end (docs/timeouts-and-hooks.md): an owner ends the run now, whatever its status
   * short of final, with a reason that is kept on the run and in its events. Its jobs are withdrawn
   * or killed (their tokens revoked), and its workspace released. No cool-off, no cancel first:
   * this is for the run that is stuck (a lost runner not yet written off, a queue that never moves).
   */
  async forceEnd(subject: Subject, id: string, reason: string): Promise<Run> {
    return this.act(subject, id, 'run:force-end', undefined, async (trx, run, after) => {
      const who = principalOf(subject).name;
      await this.fire(trx, run, 'force_end', after, `force-ended by ${who}: ${reason}`);
      await store.updateRun(trx, id, { forceEndReason: reason });
      await recordChange(trx, { ...runChange('force-end', run), details: { workspace: run.workspaceId, reason } });
    });
  }

  /**
   * actions/force-execute (TFC): runs a pending run now. The run holding the workspace is
   * discarded, and so is every run waiting ahead of this one; then the queue admits it. Refused
   * (403, as TFC) when the run is not pending or no other run holds the workspace, and (409) when
   * the holding run is past the point where it can be discarded.
   */
  async forceExecute(subject: Subject, id: string): Promise<void> {
    const target = await store.findRun(this.db, id);
    if (!target) throw notFound('run', id);
    this.authorize(subject, 'run:read', target);
    this.authorize(subject, 'run:apply', target);
    const after: AfterCommit = [];
    try {
      await this.db.transaction(async (trx) => {
        const run = await store.lockRun(trx, id);
        if (!run || run.status !== 'pending') {
          throw new ForbiddenError(`run ${id} is ${run?.status ?? 'gone'}: only a pending run can be force-executed`);
        }
        const ws = await this.workspaces.byId(run.workspaceId);
        const holderId = ws?.lock?.holder.type === 'runs' ? ws.lock.holder.id : null;
        if (!holderId || holderId === id) {
          throw new ForbiddenError(`run ${id} is not waiting behind another run: its workspace is ${ws?.lock ? 'locked by a user' : 'not locked'}`);
        }
        await recordChange(trx, runChange('force-execute', run));
        const holder = await store.lockRun(trx, holderId);
        if (holder && !FINAL_STATUSES.has(holder.status)) {
          if (!canHappen(holder.status, 'discard')) {
            throw new ConflictError(`run ${holderId} holding the workspace is ${holder.status} and cannot be discarded; cancel it instead`);
          }
          await this.fire(trx, holder, 'discard', after);
        }
        for (const aheadId of await store.pendingBefore(trx, run)) {
          const ahead = await store.lockRun(trx, aheadId);
          if (ahead?.status === 'pending') await this.fire(trx, ahead, 'discard', after);
        }
      });
    } catch (err) {
      if (err instanceof IllegalTransition) throw new ConflictError(`run ${id} cannot be force-executed: ${err.message}`);
      throw err;
    }
    for (const f of after) await f();
    // The discards released the workspace and scheduled it; this admits the run if nothing did yet.
    await this.schedule(target.workspaceId);
  }

  // ------------------------------------------------------------ what runners report

  /** A runner started executing the job. False when the run no longer wants it. */
  async startPhase(job: Job): Promise<boolean> {
    return this.withRun(job.runId, async (trx, run, after) => {
      if (!(await this.jobs.markRunning(trx, job.id))) return false;
      await this.fire(trx, run, job.phase === 'plan' ? 'start_plan' : 'start_apply', after);
      return true;
    });
  }

  /** The runner finished the job's phase. A report for a run that has moved on is ignored. */
  async finishPhase(job: Job, outcome: PhaseOutcome): Promise<void> {
    // Decided before the run's row is locked: it reads the creator's rights with queries of its own.
    const before = job.phase === 'plan' ? await store.findRun(this.db, job.runId) : null;
    const mayAutoApply = before?.autoApply ? await this.creatorMayApply(before) : true;
    await this.withRun(job.runId, async (trx, run, after) => {
      await this.jobs.finish(trx, job.id, outcome.status);
      const expected: RunStatus = job.phase === 'plan' ? 'planning' : 'applying';
      if (run.status !== expected) {
        this.logger.info({ run: run.id, status: run.status, job: job.id }, 'ignoring the report of a job whose run has moved on');
        return;
      }
      const table = job.phase === 'plan' ? 'plans' : 'applies';
      await store.updatePhase(trx, table, run.id, { counts: outcome.counts, hasChanges: outcome.hasChanges });
      if (job.phase === 'plan' && outcome.hasChanges !== undefined) await store.updateRun(trx, run.id, { hasChanges: outcome.hasChanges });
      const current = { ...run, hasChanges: outcome.hasChanges ?? run.hasChanges, autoApply: run.autoApply && mayAutoApply };
      await this.fire(trx, current, this.eventFor(current, job, outcome), after, outcome.status === 'errored' ? (outcome.error ?? 'the phase failed') : undefined);
    });
  }

  private eventFor(run: Run, job: Job, outcome: PhaseOutcome): RunEvent {
    if (outcome.status === 'errored') return 'fail';
    if (outcome.status === 'canceled') return 'cancel_finished';
    if (job.phase === 'apply') return 'apply';
    if (run.speculative) return 'plan_and_finish';
    if (!run.hasChanges && !run.allowEmptyApply) return 'plan_and_finish';
    return run.savePlan ? 'plan_and_save' : 'plan_with_changes';
  }

  /** A state of the run's apply reached otfd late (written off, or its job token gone); the run keeps the mark. */
  async stateSavedLate(runId: string): Promise<void> {
    await store.markStateSavedLate(this.db, runId);
  }

  /** Ends a run that cannot proceed (its runner lost, its engine unavailable) as errored. */
  async fail(runId: string, message: string): Promise<void> {
    await this.withRun(runId, async (trx, run, after) => {
      if (FINAL_STATUSES.has(run.status)) return;
      await this.fire(trx, run, 'fail', after, message);
      // By otfd itself (system) when its backstop ends an overdue job or a silent agent is written
      // off; by the runner when it reports that it cannot run the job.
      await recordChange(trx, { ...runChange('error', run), details: { workspace: run.workspaceId, reason: message } });
    });
  }
}

/** More active runs than any organization has: one per workspace, plus speculative plans. */
const MAX_ACTIVE_RUNS = 100_000;

/** Each run with its position in the queue: 0 while executing, else how many runs wait ahead of it. */
function withPositions(runs: Run[], ahead: number): Array<{ run: Run; position: number }> {
  let waiting = ahead;
  return runs.map((run) => {
    const executing = run.status === 'planning' || run.status === 'applying';
    return { run, position: executing ? 0 : ++waiting };
  });
}

/** The audit trail's record of a user's action on a run (src/audit). */
function runChange(verb: string, run: { id: string; organizationId: string; workspaceId: string }): Change {
  return { action: `run.${verb}`, resource: { type: 'runs', id: run.id }, organizationId: run.organizationId, details: { workspace: run.workspaceId } };
}
