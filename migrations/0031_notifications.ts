// Notification configurations of workspaces (Terraform Cloud's), the deliveries waiting to be sent
// (a durable queue: a status change enqueues, a worker per otfd sends and retries), and the last
// responses of each configuration (its delivery-responses; only the latest few are kept).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('notification_configurations', (t) => {
    t.text('id').primary();
    t.text('workspace_id').notNullable().references('workspaces.id').onDelete('CASCADE');
    t.text('name').notNullable();
    t.boolean('enabled').notNullable().defaultTo(false);
    t.text('destination_type').notNullable();
    t.text('url');
    // The HMAC key of generic destinations, sealed as sensitive variables are; null when none.
    t.binary('encrypted_token');
    t.specificType('triggers', 'text[]').notNullable().defaultTo('{}');
    t.specificType('email_addresses', 'text[]').notNullable().defaultTo('{}');
    t.specificType('email_user_ids', 'text[]').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['workspace_id']);
  });
  await knex.schema.createTable('notification_deliveries', (t) => {
    t.bigIncrements('id').primary();
    t.text('configuration_id').notNullable().references('notification_configurations.id').onDelete('CASCADE');
    t.text('trigger').notNullable();
    // Everything the payload needs, fixed when the event happened (a later rename changes nothing).
    t.jsonb('event').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    // When a worker may take it next: now for new ones, later for retries, and a lease while it is sent.
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['next_attempt_at']);
  });
  await knex.schema.createTable('notification_responses', (t) => {
    t.bigIncrements('id').primary();
    t.text('configuration_id').notNullable().references('notification_configurations.id').onDelete('CASCADE');
    t.text('url').notNullable();
    t.text('body').notNullable();
    t.text('code').notNullable();
    t.jsonb('headers').notNullable();
    t.boolean('successful').notNullable();
    t.timestamp('sent_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['configuration_id', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('notification_responses');
  await knex.schema.dropTableIfExists('notification_deliveries');
  await knex.schema.dropTableIfExists('notification_configurations');
}
