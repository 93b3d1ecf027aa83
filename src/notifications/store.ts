// Tables of the notifications domain: notification_configurations, notification_deliveries (the
// queue of what is still to be sent) and notification_responses (the last responses of each
// configuration). Tokens are held only sealed; the service seals and opens them.
import type { Knex } from 'knex';
import { advisoryXactLock, type Db } from '../db/index.js';
import type { NotificationTrigger } from './triggers.js';

export const DESTINATION_TYPES = ['generic', 'slack', 'microsoft-teams', 'email'] as const;
export type DestinationType = (typeof DESTINATION_TYPES)[number];

/** How many responses each configuration keeps: its delivery-responses show the latest ones. */
export const KEPT_RESPONSES = 10;

export interface StoredConfiguration {
  id: string;
  workspaceId: string;
  name: string;
  enabled: boolean;
  destinationType: DestinationType;
  url: string | null;
  encryptedToken: Buffer | null;
  triggers: NotificationTrigger[];
  emailAddresses: string[];
  emailUserIds: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface DeliveryResponse {
  url: string;
  body: string;
  code: string;
  headers: Record<string, string[]>;
  successful: boolean;
  sentAt: Date;
}

/** What a notification says, fixed when its event happened; the payload of each destination is made from it. */
export interface NotificationEvent {
  trigger: NotificationTrigger | 'verification';
  message: string;
  workspaceId: string;
  workspaceName: string;
  organizationName: string;
  run: null | {
    id: string;
    message: string;
    createdAt: string;
    createdBy: string | null;
    status: string;
    updatedAt: string;
    updatedBy: string | null;
  };
  assessment: null | { resultId: string; at: string };
}

export interface QueuedDelivery {
  id: string;
  configurationId: string;
  attempts: number;
  event: NotificationEvent;
}

interface ConfigurationRow {
  id: string;
  workspace_id: string;
  name: string;
  enabled: boolean;
  destination_type: DestinationType;
  url: string | null;
  encrypted_token: Buffer | null;
  triggers: NotificationTrigger[];
  email_addresses: string[];
  email_user_ids: string[];
  created_at: Date;
  updated_at: Date;
}

function toConfiguration(r: ConfigurationRow): StoredConfiguration {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    name: r.name,
    enabled: r.enabled,
    destinationType: r.destination_type,
    url: r.url,
    encryptedToken: r.encrypted_token,
    triggers: r.triggers,
    emailAddresses: r.email_addresses,
    emailUserIds: r.email_user_ids,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export async function findById(db: Db, id: string): Promise<StoredConfiguration | null> {
  const row = (await db('notification_configurations').where({ id }).first()) as ConfigurationRow | undefined;
  return row ? toConfiguration(row) : null;
}

export async function listByWorkspace(db: Db, workspaceId: string): Promise<StoredConfiguration[]> {
  const rows = (await db('notification_configurations').where({ workspace_id: workspaceId }).orderBy(['created_at', 'id'])) as ConfigurationRow[];
  return rows.map(toConfiguration);
}

export async function countByWorkspace(trx: Db, workspaceId: string): Promise<number> {
  const row = (await trx('notification_configurations').where({ workspace_id: workspaceId }).count<{ count: string }[]>('* as count'))[0];
  return Number(row.count);
}

export interface ConfigurationFields {
  name: string;
  enabled: boolean;
  destinationType: DestinationType;
  url: string | null;
  encryptedToken: Buffer | null;
  triggers: string[];
  emailAddresses: string[];
  emailUserIds: string[];
}

function toRow(f: Partial<ConfigurationFields>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  if (f.name !== undefined) row.name = f.name;
  if (f.enabled !== undefined) row.enabled = f.enabled;
  if (f.destinationType !== undefined) row.destination_type = f.destinationType;
  if (f.url !== undefined) row.url = f.url;
  if (f.encryptedToken !== undefined) row.encrypted_token = f.encryptedToken;
  if (f.triggers !== undefined) row.triggers = f.triggers;
  if (f.emailAddresses !== undefined) row.email_addresses = f.emailAddresses;
  if (f.emailUserIds !== undefined) row.email_user_ids = f.emailUserIds;
  return row;
}

export async function insert(trx: Db, id: string, workspaceId: string, f: ConfigurationFields): Promise<void> {
  await trx('notification_configurations').insert({ id, workspace_id: workspaceId, ...toRow(f) });
}

export async function update(db: Db, id: string, f: Partial<ConfigurationFields>): Promise<void> {
  await db('notification_configurations')
    .where({ id })
    .update({ ...toRow(f), updated_at: db.fn.now() });
}

export async function remove(db: Db, id: string): Promise<boolean> {
  return (await db('notification_configurations').where({ id }).delete()) === 1;
}

/**
 * Serialises the creations of one workspace's configurations, so that two at once cannot both pass
 * the per-workspace limit: a lock on a name, not the workspace's row, which runs and locks write.
 */
export async function lockWorkspace(trx: Knex.Transaction, workspaceId: string): Promise<void> {
  await advisoryXactLock(trx, `notification-configurations:${workspaceId}`);
}

// ------------------------------------------------------------ responses

interface ResponseRow {
  configuration_id: string;
  url: string;
  body: string;
  code: string;
  headers: Record<string, string[]>;
  successful: boolean;
  sent_at: Date;
}

/** Records a response and forgets all but the latest KEPT_RESPONSES of the configuration. */
export async function recordResponse(db: Db, configurationId: string, r: Omit<DeliveryResponse, 'sentAt'>): Promise<void> {
  await db.transaction(async (trx) => {
    // The configuration may have been deleted while its delivery was sent: nothing to record then.
    const exists = await trx('notification_configurations').where({ id: configurationId }).forShare().first('id');
    if (!exists) return;
    await trx('notification_responses').insert({ configuration_id: configurationId, url: r.url, body: r.body, code: r.code, headers: JSON.stringify(r.headers), successful: r.successful });
    await trx('notification_responses')
      .where({ configuration_id: configurationId })
      .whereNotIn('id', trx('notification_responses').where({ configuration_id: configurationId }).orderBy('id', 'desc').limit(KEPT_RESPONSES).select('id'))
      .delete();
  });
}

/** The latest responses of each configuration, newest first. */
export async function responsesOf(db: Db, configurationIds: string[]): Promise<Map<string, DeliveryResponse[]>> {
  const out = new Map<string, DeliveryResponse[]>(configurationIds.map((id) => [id, []]));
  if (configurationIds.length === 0) return out;
  const rows = (await db('notification_responses').whereIn('configuration_id', configurationIds).orderBy('id', 'desc')) as ResponseRow[];
  for (const r of rows) {
    out.get(r.configuration_id)?.push({ url: r.url, body: r.body, code: r.code, headers: r.headers, successful: r.successful, sentAt: r.sent_at });
  }
  return out;
}

// ------------------------------------------------------------ the queue

/**
 * Queues the event for every enabled configuration of its workspace listening for its trigger, in
 * the caller's transaction, in one statement (an index scan of the workspace's configurations,
 * finding none for most workspaces); answers how many were queued. FOR KEY SHARE holds the
 * configurations it read until the transaction ends: one deleted meanwhile is skipped instead of
 * failing the insert's foreign key, and so the run's transition it belongs to.
 */
export async function enqueueListening(trx: Knex.Transaction, event: NotificationEvent & { trigger: NotificationTrigger }): Promise<number> {
  const result = (await trx.raw(
    `INSERT INTO notification_deliveries (configuration_id, trigger, event)
     SELECT c.id, ?, ?::jsonb FROM notification_configurations c
     WHERE c.workspace_id = ? AND c.enabled AND ? = ANY(c.triggers)
     ORDER BY c.id
     FOR KEY SHARE`,
    [event.trigger, JSON.stringify(event), event.workspaceId, event.trigger],
  )) as { rowCount: number | null };
  return result.rowCount ?? 0;
}

/** The ids of the enabled configurations of the workspace listening for the trigger, held as enqueueListening holds them. */
export async function listeningIds(trx: Knex.Transaction, workspaceId: string, trigger: NotificationTrigger): Promise<string[]> {
  const rows = (await trx('notification_configurations')
    .where({ workspace_id: workspaceId, enabled: true })
    .whereRaw('? = ANY(triggers)', [trigger])
    .orderBy('id')
    .forKeyShare()
    .select('id')) as Array<{ id: string }>;
  return rows.map((r) => r.id);
}

export async function enqueue(db: Db, items: Array<{ configurationId: string; event: NotificationEvent }>): Promise<void> {
  if (items.length === 0) return;
  await db('notification_deliveries').insert(items.map((i) => ({ configuration_id: i.configurationId, trigger: i.event.trigger, event: JSON.stringify(i.event) })));
}

/**
 * Takes up to `limit` deliveries that are due, for one worker: rows another worker holds are
 * skipped (FOR UPDATE SKIP LOCKED), and each taken row is leased until `leaseMs` from now, so that
 * an otfd that dies mid-send leaves it to be taken again once the lease is over. Only the oldest
 * delivery of each configuration is taken: a destination hears of a run's steps in their order
 * (created before planning), also across replicas, at the price of later ones waiting out the
 * retries of an earlier one.
 */
export async function claim(db: Db, limit: number, leaseMs: number): Promise<QueuedDelivery[]> {
  return db.transaction(async (trx) => {
    const due = (await trx('notification_deliveries')
      .where('next_attempt_at', '<=', trx.fn.now())
      .whereNotExists(
        trx('notification_deliveries as older')
          .whereRaw('older.configuration_id = notification_deliveries.configuration_id')
          .whereRaw('older.id < notification_deliveries.id')
          .select(trx.raw('1')),
      )
      .orderBy('id')
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .select('id')) as Array<{ id: string }>;
    if (due.length === 0) return [];
    const rows = (await trx('notification_deliveries')
      .whereIn(
        'id',
        due.map((d) => d.id),
      )
      .update({ attempts: trx.raw('attempts + 1'), next_attempt_at: trx.raw(`now() + (? * interval '1 millisecond')`, [leaseMs]) })
      .returning(['id', 'configuration_id', 'attempts', 'event'])) as Array<{ id: string; configuration_id: string; attempts: number; event: NotificationEvent }>;
    return rows.map((r) => ({ id: String(r.id), configurationId: r.configuration_id, attempts: r.attempts, event: r.event }));
  });
}

export async function finish(db: Db, id: string): Promise<void> {
  await db('notification_deliveries').where({ id }).delete();
}

export async function retryLater(db: Db, id: string, delayMs: number): Promise<void> {
  await db('notification_deliveries')
    .where({ id })
    .update({ next_attempt_at: db.raw(`now() + (? * interval '1 millisecond')`, [delayMs]) });
}

