// The audit trail: one row per change (and per refused or failed change request), written in the
// same transaction as the change it describes, so that a change that rolls back leaves no record.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_events', (t) => {
    t.text('id').primary();
    // The order of events with the same time (two changes in one transaction): insertion order.
    t.bigIncrements('seq', { primaryKey: false });
    // clock_timestamp(), not now(): now() is the transaction's start, the same for all its events.
    t.timestamp('time', { useTz: true }).notNullable().defaultTo(knex.raw('clock_timestamp()'));
    // No foreign key: who deleted an organization stays on record after it is gone. Null only for
    // refused requests whose organization could not be told (an unknown one).
    t.text('organization_id').nullable();
    t.text('actor_type').notNullable();
    t.text('actor_id').notNullable();
    t.text('actor_name').notNullable();
    t.text('token_id').nullable();
    t.text('action').notNullable();
    t.text('resource_type').notNullable();
    t.text('resource_id').notNullable();
    t.text('client_address').nullable();
    t.text('request_id').nullable();
    t.text('result').notNullable();
    t.jsonb('details').notNullable().defaultTo('{}');
    t.index(['organization_id', 'time', 'seq']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_events');
}
