// Rules of run triggers. A trigger links a source workspace ("sourceable") to a target workspace
// of the same organization; a successful apply in the source queues one run in each target, as
// the source run's creator (a run acts with its creator's rights: one who may not queue runs in
// the target gets none queued there).
import { audited, recordChange } from '../audit/index.js';
import type { Knex } from 'knex';
import { authorize, isAllowed } from '../auth/authorize.js';
import type { PrincipalResolver } from '../auth/service.js';
import type { Subject } from '../auth/subject.js';
import { isUniqueViolation, type Db } from '../db/index.js';
import { AppError, InvalidError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Logger } from '../logger.js';
import type { Run, RunService } from '../runs/index.js';
import { workspaceScope, type Workspace, type WorkspaceService } from '../workspaces/index.js';
import * as store from './store.js';
import type { RunTrigger } from './store.js';

export type { RunTrigger } from './store.js';

/** Terraform Cloud connects a workspace to at most this many source workspaces. */
export const MAX_SOURCES = 20;

/** How often otfd looks for deliveries left over (by a crash, or a database outage at the time). */
const SWEEP_INTERVAL_MS = 30_000;

export type Direction = 'inbound' | 'outbound';

export class RunTriggerService {
  private sweeper: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly workspaces: WorkspaceService,
    private readonly runs: RunService,
    /** Whose rights a triggered run acts with: the source run's creator's, gathered afresh. */
    private readonly principals: PrincipalResolver,
    private readonly logger: Logger,
  ) {}

  // ------------------------------------------------------------ the API

  async list(
    subject: Subject,
    workspaceId: string,
    direction: Direction,
    limit: number,
    offset: number,
  ): Promise<{ items: RunTrigger[]; total: number }> {
    const ws = await this.workspaces.get(subject, workspaceId);
    authorize(subject, 'run-trigger:read', workspaceScope(ws), () => notFound('workspace', workspaceId));
    return store.list(this.db, ws.id, direction, limit, offset);
  }

  async get(subject: Subject, id: string): Promise<RunTrigger> {
    return (await this.locate(subject, id)).trigger;
  }

  /** The trigger and its target workspace, for whoever may see the target's run triggers. */
  private async locate(subject: Subject, id: string): Promise<{ trigger: RunTrigger; target: Workspace }> {
    const trigger = await store.findById(this.db, id);
    if (!trigger) throw notFound('run trigger', id);
    const target = await this.workspaces.byId(trigger.workspaceId);
    if (!target) throw notFound('run trigger', id);
    authorize(subject, 'run-trigger:read', workspaceScope(target), () => notFound('run trigger', id));
    return { trigger, target };
  }

  /**
   * Connects the source workspace to the target: needs admin access to the target and the right to
   * read the source's runs. A source of another organization, or one the subject cannot see, is
   * not found, as Terraform Cloud answers.
   */
  async create(subject: Subject, workspaceId: string, sourceableId: string): Promise<RunTrigger> {
    const target = await this.workspaces.get(subject, workspaceId);
    authorize(subject, 'run-trigger:manage', workspaceScope(target), () => notFound('workspace', workspaceId));
    const source = await this.workspaces.byId(sourceableId);
    const sourceMissing = () => notFound('workspace', sourceableId);
    if (!source || source.organizationId !== target.organizationId) throw sourceMissing();
    authorize(subject, 'run:read', workspaceScope(source), sourceMissing);
    const pointer = { pointer: '/data/relationships/sourceable/data/id' };
    if (source.id === target.id) throw new InvalidError(`workspace "${target.name}" cannot be a source of its own run triggers`, pointer);
    const id = newId('rt');
    try {
      await this.db.transaction(async (trx) => {
        await store.lockTarget(trx, target.id);
        const existing = await store.sources(trx, target.id);
        if (existing.includes(source.id)) throw duplicate(source, target);
        if (existing.length >= MAX_SOURCES) {
          throw new InvalidError(`workspace "${target.name}" already has ${MAX_SOURCES} source workspaces, the most a workspace may have; delete one of its run triggers first`, pointer);
        }
        await store.insert(trx, { id, workspaceId: target.id, sourceableId: source.id });
        await recordChange(trx, { action: 'run-trigger.create', resource: { type: 'run-triggers', id }, organizationId: target.organizationId, details: { workspace: target.id, sourceable: source.id } });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicate(source, target);
      throw err;
    }
    return (await store.findById(this.db, id))!;
  }

  async delete(subject: Subject, id: string): Promise<void> {
    const { target } = await this.locate(subject, id);
    authorize(subject, 'run-trigger:manage', workspaceScope(target), () => notFound('run trigger', id));
    await audited(this.db, (trx) => store.remove(trx, id), { action: 'run-trigger.delete', resource: { type: 'run-triggers', id }, organizationId: target.organizationId, details: { workspace: target.id } });
  }

  // ------------------------------------------------------------ applies queue runs

  /**
   * In the transaction of a run's successful apply (runs.onApplied, connected in src/server.ts):
   * records what the run owes each target of its workspace, to be delivered once committed.
   */
  readonly runApplied = async (trx: Knex.Transaction, run: Run): Promise<(() => Promise<void>) | void> => {
    const ids = await store.recordDeliveries(trx, run.id, run.workspaceId, () => newId('run'));
    if (ids.length === 0) return;
    return async () => {
      for (const id of ids) await this.deliverQuietly(id);
    };
  };

  /** Delivers what is left over now, then every SWEEP_INTERVAL_MS until stop(). */
  start(): void {
    const sweep = () => {
      this.sweeping ??= this.sweep().finally(() => (this.sweeping = null));
    };
    sweep();
    this.sweeper = setInterval(sweep, SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    await this.sweeping;
  }

  private async sweep(): Promise<void> {
    try {
      for (const id of await store.pendingDeliveries(this.db, 1000)) await this.deliverQuietly(id);
    } catch (err) {
      this.logger.warn({ err }, 'could not look for run trigger deliveries; trying again later');
    }
  }

  /** Delivers; a failure is logged and the delivery stays, for the next sweep. */
  private async deliverQuietly(id: string): Promise<void> {
    try {
      await this.deliver(id);
    } catch (err) {
      this.logger.warn({ err, delivery: id }, 'could not queue the run of a run trigger; trying again later');
    }
  }

  /**
   * Queues the run a delivery owes, once: the delivery stays locked until the run is made, and the
   * run's id was chosen when the delivery was recorded, so a delivery tried again after a crash
   * finds its run instead of making a second one.
   */
  async deliver(id: string): Promise<void> {
    await this.db.transaction(async (trx) => {
      const delivery = await store.claimDelivery(trx, id);
      if (!delivery) return;
      if (!(await this.runs.byId(delivery.runId))) await this.queueRun(delivery);
      await store.removeDelivery(trx, delivery.id);
    });
  }

  private async queueRun(delivery: store.Delivery): Promise<void> {
    const source = await this.runs.byId(delivery.sourceRunId);
    const sourceWs = source ? await this.workspaces.byId(source.workspaceId) : null;
    const target = await this.workspaces.byId(delivery.workspaceId);
    const log = { sourceRun: delivery.sourceRunId, workspace: delivery.workspaceId };
    if (!source || !sourceWs || !target) {
      this.logger.info(log, 'run trigger: the source run or a workspace is gone; queuing nothing');
      return;
    }
    // Deleting the trigger stops it, also for an apply whose delivery was still owed (a stopped otfd).
    if (!(await store.triggerExists(this.db, target.id, sourceWs.id))) {
      this.logger.info(log, 'run trigger: the trigger was deleted since the apply; queuing nothing');
      return;
    }
    const creator = source.createdBy ? await this.principals.subjectOf(source.createdBy) : null;
    const scope = workspaceScope(target);
    if (!creator || !isAllowed(creator, 'run:queue', scope)) {
      this.logger.info({ ...log, createdBy: source.createdBy }, "run trigger: the source run's creator may not queue runs in the target workspace; queuing nothing");
      return;
    }
    if (target.executionMode === 'local') {
      this.logger.info(log, 'run trigger: the target workspace uses local execution; queuing nothing');
      return;
    }
    try {
      await this.runs.create(creator, {
        id: delivery.runId,
        workspaceId: target.id,
        message: `Triggered by run ${source.id} in workspace ${sourceWs.organizationName}/${sourceWs.name}`,
        source: 'tfe-run-trigger',
        // Terraform Cloud applies triggered runs without confirmation only when the target says so.
        autoApply: target.autoApplyRunTrigger && isAllowed(creator, 'run:apply', scope),
      });
    } catch (err) {
      // A refusal (no configuration uploaded yet, rights gone meanwhile) is final; anything else is tried again.
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      this.logger.info({ ...log, reason: err.message }, 'run trigger: the target workspace refused the run; queuing nothing');
    }
  }
}

function duplicate(source: Workspace, target: Workspace): InvalidError {
  return new InvalidError(`workspace "${source.name}" is already a source of workspace "${target.name}"`, { pointer: '/data/relationships/sourceable/data/id' });
}
