// Rules of the notifications domain: a workspace's notification configurations (managed by its
// admins, as in Terraform Cloud), what a run's status change or a finished health assessment
// enqueues, and the worker that sends what is queued. The token of a configuration is write-only:
// sealed at rest with the cipher of sensitive variables, bound to the configuration's id, and used
// only to sign payloads.
import { audited, recordChange, type Change } from '../audit/index.js';
import type { Counter } from 'prom-client';
import type { Knex } from 'knex';
import { authorize, canSeeOrganization, type WorkspaceAction } from '../auth/authorize.js';
import type { Subject } from '../auth/subject.js';
import type { Db } from '../db/index.js';
import { InvalidError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Logger } from '../logger.js';
import type { Run } from '../runs/index.js';
import { checkStorableText } from '../text.js';
import type { User, UserService } from '../users/index.js';
import { DecryptionError, ValueCipher } from '../variables/index.js';
import { workspaceScope, type Workspace, type WorkspaceService } from '../workspaces/index.js';
import { checkDestination, parseDestinationUrl } from './address.js';
import { Sender, type Destination, type Outcome, type SmtpSettings } from './sender.js';
import * as store from './store.js';
import type { DeliveryResponse, DestinationType, NotificationEvent, StoredConfiguration } from './store.js';
import { NOTIFICATION_TRIGGERS, type AssessmentNotice, type NotificationTrigger } from './triggers.js';

/** A configuration as clients see it: everything but its token, with its latest responses. */
export type NotificationConfiguration = Omit<StoredConfiguration, 'encryptedToken'> & {
  hasToken: boolean;
  deliveryResponses: DeliveryResponse[];
};

export interface NotificationSettings {
  /** --notification-allow-private-addresses */
  allowPrivateAddresses: boolean;
  smtp: SmtpSettings | null;
  /** Longest one delivery attempt may take (default 10 s). */
  timeoutMs?: number;
  /** The waits before each retry; its length is the number of retries (default 1 s, 5 s, 30 s, 2 min). */
  retryDelaysMs?: number[];
  /** How often the worker looks for due deliveries when nothing wakes it (default 1 s). */
  pollMs?: number;
}

/** Limits on what a configuration holds. */
export const LIMITS = {
  perWorkspace: 20,
  name: 256,
  token: 1024,
  emailAddresses: 100,
  emailUsers: 100,
} as const;

export interface ConfigurationInput {
  name?: string;
  enabled?: boolean;
  destinationType?: DestinationType;
  url?: string | null;
  token?: string | null;
  triggers?: string[];
  emailAddresses?: string[];
  emailUserIds?: string[];
}

/** Text PostgreSQL and every destination can carry; the token is never quoted back (it is a secret). */
function checkText(attribute: string, text: string, max: number): void {
  checkStorableText(attribute, text);
  if (text.length > max) throw new InvalidError(`attribute "${attribute}" is ${text.length} characters long; it may be at most ${max}`, { pointer: `/data/attributes/${attribute}` });
}

function checkTriggers(triggers: string[]): NotificationTrigger[] {
  const pointer = { pointer: '/data/attributes/triggers' };
  const known = new Set<string>(NOTIFICATION_TRIGGERS);
  for (const t of triggers) {
    if (!known.has(t)) {
      throw new InvalidError(`attribute "triggers": ${JSON.stringify(t.slice(0, 64))} is not a trigger; the triggers are ${NOTIFICATION_TRIGGERS.join(', ')}`, pointer);
    }
  }
  return [...new Set(triggers)] as NotificationTrigger[];
}

const EMAIL = /^[^\s@<>(),;:"\\[\]]+@[^\s@<>(),;:"\\[\]]+\.[^\s@<>(),;:"\\[\]]+$/;

function checkEmails(addresses: string[]): string[] {
  const pointer = { pointer: '/data/attributes/email-addresses' };
  if (addresses.length > LIMITS.emailAddresses) throw new InvalidError(`attribute "email-addresses" has ${addresses.length} addresses; a configuration may have at most ${LIMITS.emailAddresses}`, pointer);
  for (const a of addresses) {
    if (a.length > 254 || !EMAIL.test(a) || [...a].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f')) throw new InvalidError(`attribute "email-addresses": ${JSON.stringify(a.slice(0, 64))} is not an email address`, pointer);
  }
  return [...new Set(addresses)];
}

interface RunNotification {
  trigger: NotificationTrigger;
  message: string;
  status: string;
}

/**
 * What the status change of a run tells whoever listens: its triggers (none or one). run:created
 * is not among them: it is sent when the run is made (runCreated), not when it leaves pending,
 * which a run behind another's lock does only when it starts.
 */
export function runNotifications(run: Pick<Run, 'autoApply'>, _from: string, to: string): RunNotification[] {
  const then = statusNotification(run, to);
  return then ? [then] : [];
}

function statusNotification(run: Pick<Run, 'autoApply'>, to: string): RunNotification | null {
  switch (to) {
    case 'planning':
      return { trigger: 'run:planning', message: 'Run Planning', status: to };
    case 'planned':
      // An auto-apply run goes on by itself: nobody needs to look at it.
      return run.autoApply ? null : { trigger: 'run:needs_attention', message: 'Run Needs Attention', status: to };
    case 'applying':
      return { trigger: 'run:applying', message: 'Run Applying', status: to };
    case 'applied':
      return { trigger: 'run:completed', message: 'Run Applied', status: to };
    case 'planned_and_finished':
      return { trigger: 'run:completed', message: 'Run Planned and finished', status: to };
    case 'errored':
      return { trigger: 'run:errored', message: 'Run Errored', status: to };
    // Terraform Cloud: run:errored is "a run terminated early due to error or cancellation".
    case 'canceled':
    case 'force_canceled':
      return { trigger: 'run:errored', message: 'Run Canceled', status: to };
    default:
      return null;
  }
}

export interface NotificationServiceDeps {
  db: Db;
  workspaces: WorkspaceService;
  users: UserService;
  secret: string;
  settings: NotificationSettings;
  logger: Logger;
  /** otfd's base URL, known once it listens. */
  baseUrl: () => string;
  deliveries: Counter<'destination_type' | 'result'>;
}

/** What an in-transaction hook leaves to do once the transaction has committed. */
export type WakeAfterCommit = () => Promise<void>;

/** Deliveries taken from the queue at a time. */
const CLAIM_BATCH = 20;
/** Most delivery attempts one otfd has under way at once. */
export const MAX_IN_FLIGHT = 50;

export class NotificationService {
  private readonly cipher: ValueCipher;
  private readonly sender: Sender;
  private readonly db: Db;
  private readonly settings: NotificationSettings;
  private readonly retryDelays: number[];
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: NotificationServiceDeps) {
    this.db = deps.db;
    this.settings = deps.settings;
    this.cipher = new ValueCipher(deps.secret);
    this.timeoutMs = deps.settings.timeoutMs ?? 10_000;
    this.retryDelays = deps.settings.retryDelaysMs ?? [1_000, 5_000, 30_000, 120_000];
    this.sender = new Sender({ allowPrivateAddresses: deps.settings.allowPrivateAddresses, timeoutMs: this.timeoutMs, smtp: deps.settings.smtp, logger: deps.logger });
  }

  // ------------------------------------------------------------ the API

  private async workspace(subject: Subject, action: WorkspaceAction, workspaceId: string): Promise<Workspace> {
    const ws = await this.deps.workspaces.get(subject, workspaceId);
    authorize(subject, action, workspaceScope(ws), () => notFound('workspace', workspaceId));
    return ws;
  }

  /** The configuration and its workspace, when the subject may take the action; 404 when it cannot see it. */
  private async locate(subject: Subject, action: WorkspaceAction, id: string): Promise<{ config: StoredConfiguration; ws: Workspace }> {
    const config = await store.findById(this.db, id);
    if (!config) throw notFound('notification configuration', id);
    const ws = await this.deps.workspaces.byId(config.workspaceId);
    if (!ws) throw notFound('notification configuration', id);
    authorize(subject, 'workspace:read', workspaceScope(ws), () => notFound('notification configuration', id));
    authorize(subject, action, workspaceScope(ws), () => notFound('notification configuration', id));
    return { config, ws };
  }

  private async present(configs: StoredConfiguration[]): Promise<NotificationConfiguration[]> {
    const responses = await store.responsesOf(
      this.db,
      configs.map((c) => c.id),
    );
    return configs.map(({ encryptedToken, ...c }) => ({ ...c, hasToken: encryptedToken !== null, deliveryResponses: responses.get(c.id) ?? [] }));
  }

  async list(subject: Subject, workspaceId: string): Promise<NotificationConfiguration[]> {
    const ws = await this.workspace(subject, 'notification:read', workspaceId);
    return this.present(await store.listByWorkspace(this.db, ws.id));
  }

  async get(subject: Subject, id: string): Promise<NotificationConfiguration> {
    const { config } = await this.locate(subject, 'notification:read', id);
    return (await this.present([config]))[0];
  }

  /** Every check of an input, against the configuration it will make (the current one for updates). */
  private async checked(ws: Workspace, input: ConfigurationInput, current: StoredConfiguration | null, id: string): Promise<store.ConfigurationFields> {
    const name = input.name ?? current?.name;
    const destinationType = input.destinationType ?? current?.destinationType;
    if (name === undefined) throw new InvalidError('attribute "name" is required', { pointer: '/data/attributes/name' });
    if (destinationType === undefined) throw new InvalidError('attribute "destination-type" is required', { pointer: '/data/attributes/destination-type' });
    if (current && input.destinationType !== undefined && input.destinationType !== current.destinationType) {
      throw new InvalidError(`attribute "destination-type" cannot be changed (it is ${current.destinationType}); create another configuration instead`, { pointer: '/data/attributes/destination-type' });
    }
    checkText('name', name, LIMITS.name);
    if (name.trim() === '') throw new InvalidError('attribute "name" must not be blank', { pointer: '/data/attributes/name' });
    let url = input.url !== undefined ? input.url : (current?.url ?? null);
    if (destinationType === 'email') {
      if (input.url) throw new InvalidError('attribute "url" is not used by email destinations; leave it out', { pointer: '/data/attributes/url' });
      url = null;
    } else {
      if (url === null || url === '') throw new InvalidError(`attribute "url" is required for ${destinationType} destinations`, { pointer: '/data/attributes/url' });
      checkText('url', url, 2048);
      // Checked again at each delivery: a name's addresses can change.
      if (input.url !== undefined || !current) await checkDestination(parseDestinationUrl(url), this.settings.allowPrivateAddresses);
    }
    let encryptedToken = current?.encryptedToken ?? null;
    if (input.token !== undefined) {
      if (input.token === null || input.token === '') encryptedToken = null;
      else {
        // The token is never quoted back: checkText says only what is wrong with it.
        checkText('token', input.token, LIMITS.token);
        encryptedToken = this.cipher.seal(input.token, id);
      }
    }
    const triggers = input.triggers !== undefined ? checkTriggers(input.triggers) : (current?.triggers ?? []);
    const emailAddresses = input.emailAddresses !== undefined ? checkEmails(input.emailAddresses) : (current?.emailAddresses ?? []);
    let emailUserIds = current?.emailUserIds ?? [];
    if (input.emailUserIds !== undefined) {
      const ids = [...new Set(input.emailUserIds)];
      const pointer = { pointer: '/data/relationships/users/data' };
      if (ids.length > LIMITS.emailUsers) throw new InvalidError(`relationship "users" has ${ids.length} users; a configuration may name at most ${LIMITS.emailUsers}`, pointer);
      for (const userId of ids) {
        // Only members of the workspace's organization may be sent its notifications.
        const member = await this.deps.users.subjectOfUser(userId);
        if (!member || !canSeeOrganization(member, ws.organizationId)) {
          throw new InvalidError(`relationship "users": user "${userId.slice(0, 64)}" is not a member of organization "${ws.organizationName}"`, pointer);
        }
      }
      emailUserIds = ids;
    }
    if (destinationType !== 'email' && (input.emailAddresses?.length || input.emailUserIds?.length)) {
      throw new InvalidError('email addresses and users are for email destinations only', { pointer: '/data/attributes/destination-type' });
    }
    return { name, enabled: input.enabled ?? current?.enabled ?? false, destinationType, url, encryptedToken, triggers, emailAddresses, emailUserIds };
  }

  async create(subject: Subject, workspaceId: string, input: ConfigurationInput): Promise<NotificationConfiguration> {
    const ws = await this.workspace(subject, 'notification:manage', workspaceId);
    const id = newId('nc');
    const fields = await this.checked(ws, input, null, id);
    await this.db.transaction(async (trx) => {
      await store.lockWorkspace(trx, ws.id);
      if ((await store.countByWorkspace(trx, ws.id)) >= LIMITS.perWorkspace) {
        throw new InvalidError(`workspace "${ws.name}" already has ${LIMITS.perWorkspace} notification configurations, the most a workspace may have; delete one first`);
      }
      await store.insert(trx, id, ws.id, fields);
      await recordChange(trx, configurationChange('create', id, ws));
    });
    return (await this.present([(await store.findById(this.db, id))!]))[0];
  }

  async update(subject: Subject, id: string, input: ConfigurationInput): Promise<NotificationConfiguration> {
    const { config, ws } = await this.locate(subject, 'notification:manage', id);
    const fields = await this.checked(ws, input, config, config.id);
    await audited(this.db, (trx) => store.update(trx, config.id, fields), configurationChange('update', config.id, ws));
    const updated = await store.findById(this.db, config.id);
    if (!updated) throw notFound('notification configuration', id);
    return (await this.present([updated]))[0];
  }

  async delete(subject: Subject, id: string): Promise<void> {
    const { config, ws } = await this.locate(subject, 'notification:manage', id);
    const removed = await audited(this.db, (trx) => store.remove(trx, config.id), (gone) => (gone ? configurationChange('delete', config.id, ws) : null));
    if (!removed) throw notFound('notification configuration', id);
  }

  /**
   * Sends a verification notification now, as Terraform Cloud's verify action does, and answers
   * with the configuration, its response among the delivery responses. Not retried.
   */
  async verify(subject: Subject, id: string): Promise<NotificationConfiguration> {
    const { config, ws } = await this.locate(subject, 'notification:manage', id);
    const event: NotificationEvent = {
      trigger: 'verification',
      message: `Verification of ${config.name}`,
      workspaceId: ws.id,
      workspaceName: ws.name,
      organizationName: ws.organizationName,
      run: null,
      assessment: null,
    };
    await store.recordResponse(this.db, config.id, await this.deliverOnce(config, event));
    return (await this.present([config]))[0];
  }

  // ------------------------------------------------------------ events

  /**
   * The runs domain's transition hook (connected in src/server.ts): in the transaction of the run's
   * status change, enqueues a delivery for each enabled configuration of the run's workspace
   * listening for what happened, so that the deliveries commit or roll back with the change. Only
   * enqueues: the worker, woken after the commit, sends, so no destination can hold the run up.
   */
  readonly statusChanged = async (trx: Knex.Transaction, run: Run, from: string, to: string): Promise<WakeAfterCommit | void> => {
    return this.runNews(trx, run, runNotifications(run, from, to));
  };

  /** The runs domain's created hook (connected in src/server.ts): run:created, in the transaction that makes the run. */
  readonly runCreated = async (trx: Knex.Transaction, run: Run): Promise<WakeAfterCommit | void> => {
    return this.runNews(trx, run, [{ trigger: 'run:created', message: 'Run Created', status: 'pending' }]);
  };

  /**
   * Every transition runs through here: one that notifies nothing (most do) costs no query, one
   * that does costs one statement, whether or not any configuration listens.
   */
  private async runNews(trx: Knex.Transaction, run: Run, news: RunNotification[]): Promise<WakeAfterCommit | void> {
    // A health assessment is a hidden run: its news is assessment:*, told through assessmentFinished.
    if (run.assessment) return;
    const by = run.createdBy?.name ?? null;
    let queued = 0;
    for (const what of news) {
      const event = {
        trigger: what.trigger,
        message: what.message,
        workspaceId: run.workspaceId,
        workspaceName: run.workspaceName,
        organizationName: run.organizationName,
        run: {
          id: run.id,
          message: run.message,
          createdAt: run.createdAt.toISOString(),
          createdBy: by,
          status: what.status,
          updatedAt: new Date().toISOString(),
          updatedBy: by,
        },
        assessment: null,
      };
      queued += await store.enqueueListening(trx, event);
    }
    if (queued > 0) return this.wakeAfterCommit;
  }

  /**
   * For the assessments domain (connected in src/server.ts): in the transaction that finishes an
   * assessment's result, a finished assessment notifies whoever listens for its trigger.
   */
  readonly assessmentFinished = async (trx: Knex.Transaction, notice: AssessmentNotice): Promise<WakeAfterCommit | void> => {
    const configs = await store.listeningIds(trx, notice.workspaceId, notice.trigger);
    if (configs.length === 0) return;
    const ws = await this.deps.workspaces.byId(notice.workspaceId);
    if (!ws) return;
    const event: NotificationEvent = {
      trigger: notice.trigger,
      message: notice.message,
      workspaceId: ws.id,
      workspaceName: ws.name,
      organizationName: ws.organizationName,
      run: null,
      assessment: { resultId: notice.assessmentResultId, at: notice.at.toISOString() },
    };
    await store.enqueue(
      trx,
      configs.map((configurationId) => ({ configurationId, event })),
    );
    return this.wakeAfterCommit;
  };

  /**
   * What the hooks above leave to do after the commit: this otfd's worker looks at once (the
   * other replicas find the deliveries at their next poll).
   */
  private readonly wakeAfterCommit: WakeAfterCommit = async () => this.wake();

  // ------------------------------------------------------------ delivery

  /** The configuration as the sender needs it; null when its token cannot be opened (then it cannot be sent). */
  private async destination(config: StoredConfiguration): Promise<Destination | null> {
    let token: string | null = null;
    if (config.encryptedToken) {
      try {
        token = this.cipher.open(config.encryptedToken, config.id);
      } catch (err) {
        if (!(err instanceof DecryptionError)) throw err;
        this.deps.logger.error({ configuration: config.id }, 'cannot decrypt the token of a notification configuration; was --secret changed since it was written?');
        return null;
      }
    }
    const users = config.emailUserIds.length > 0 ? await this.recipients(config) : [];
    const emailAddresses = [...new Set([...config.emailAddresses, ...users.filter((u) => !u.invited).map((u) => u.email)])];
    return { id: config.id, name: config.name, destinationType: config.destinationType, url: config.url, token, emailAddresses };
  }

  /**
   * The configuration's users who still belong to its workspace's organization. Membership is
   * checked when the configuration is saved, but a user removed from the organization since then
   * must not go on receiving its workspace names and run messages.
   */
  private async recipients(config: StoredConfiguration): Promise<User[]> {
    const ws = await this.deps.workspaces.byId(config.workspaceId);
    if (!ws) return [];
    const users = await this.deps.users.byIds(config.emailUserIds);
    const kept: User[] = [];
    for (const u of users) {
      const member = await this.deps.users.subjectOfUser(u.id);
      if (member && canSeeOrganization(member, ws.organizationId)) kept.push(u);
    }
    return kept;
  }

  /** One attempt, counted in /metrics. */
  private async deliverOnce(config: StoredConfiguration, event: NotificationEvent): Promise<Outcome> {
    const dest = await this.destination(config);
    const outcome: Outcome = dest
      ? await this.sender.send(dest, event, this.deps.baseUrl())
      : { url: config.url ?? '', body: 'not sent: the token cannot be decrypted (was --secret changed since it was set?); set the token again', code: '0', headers: {}, successful: false, permanent: true };
    this.deps.deliveries.inc({ destination_type: config.destinationType, result: outcome.successful ? 'success' : 'failure' });
    return outcome;
  }

  /** Starts the worker: due deliveries are sent now, then as they are enqueued or fall due. */
  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Stops taking deliveries and waits for those being sent (each ends within its timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    // Requests under way are cut short rather than waited for: their deliveries stay leased in the
    // queue, and are taken again (by any otfd) once the lease is over.
    this.sender.abortAll();
    await Promise.all(this.inFlight);
    this.sender.close();
  }

  /** Looks for due deliveries now (or right after the current look). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = this.tick().finally(() => {
      this.running = null;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        this.wake();
        return;
      }
      this.timer = setTimeout(() => this.wake(), this.settings.pollMs ?? 1_000);
      this.timer.unref();
    });
  }

  /** Takes what is due, a batch at a time, and sends each in the background. */
  private async tick(): Promise<void> {
    try {
      // A lease long enough for one attempt: should this otfd die, the delivery is taken again after it.
      const lease = this.timeoutMs + 5_000;
      // At most MAX_IN_FLIGHT attempts at once: thousands of hanging destinations must not become
      // thousands of open sockets. Each attempt that ends wakes the worker to take the next.
      const room = MAX_IN_FLIGHT - this.inFlight.size;
      if (room <= 0) return;
      const limit = Math.min(CLAIM_BATCH, room);
      const batch = await store.claim(this.db, limit, lease);
      for (const d of batch) {
        // Once done, the configuration's next delivery (held back until this one ends) may go.
        const p: Promise<void> = this.process(d).finally(() => {
          this.inFlight.delete(p);
          this.wake();
        });
        this.inFlight.add(p);
      }
      if (batch.length === limit && this.inFlight.size < MAX_IN_FLIGHT) this.again = true;
    } catch (err) {
      this.deps.logger.error({ err }, 'notification deliveries could not be read; trying again shortly');
    }
  }

  private async process(d: store.QueuedDelivery): Promise<void> {
    try {
      const config = await store.findById(this.db, d.configurationId);
      // Deleted configurations take their deliveries with them; disabled ones send nothing more.
      if (!config || !config.enabled) return await store.finish(this.db, d.id);
      const outcome = await this.deliverOnce(config, d.event);
      // Cut short by this otfd stopping: no fault of the destination, nothing to record.
      if (this.stopped && !outcome.successful) return;
      await store.recordResponse(this.db, config.id, outcome);
      const retries = this.retryDelays.length;
      if (outcome.successful || outcome.permanent || d.attempts > retries) {
        if (!outcome.successful) {
          this.deps.logger.warn({ configuration: config.id, attempts: d.attempts, code: outcome.code }, 'notification not delivered; giving up');
        }
        await store.finish(this.db, d.id);
      } else {
        await store.retryLater(this.db, d.id, this.retryDelays[d.attempts - 1]);
        const t = setTimeout(() => this.wake(), this.retryDelays[d.attempts - 1] + 10);
        t.unref();
      }
    } catch (err) {
      // The delivery stays leased and is taken again when its lease ends.
      this.deps.logger.error({ err, delivery: d.id }, 'a notification delivery failed');
    }
  }
}

/** The audit trail's record of a change to a configuration (never its token or URL: a URL may carry a secret). */
function configurationChange(verb: string, id: string, ws: { id: string; organizationId: string }): Change {
  return { action: `notification-configuration.${verb}`, resource: { type: 'notification-configurations', id }, organizationId: ws.organizationId, details: { workspace: ws.id } };
}
