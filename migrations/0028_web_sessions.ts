// Browser sessions of the web UI: a cookie holds a random token, the row its hash, whose rights
// the session carries (a principal, gathered afresh on each request) and when it ends.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('web_sessions', (t) => {
    t.text('id').primary();
    t.binary('token_hash').notNullable().unique();
    t.text('principal_type').notNullable();
    t.text('principal_id').notNullable();
    t.text('principal_name').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.text('address');
    t.index(['principal_type', 'principal_id']);
    t.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('web_sessions');
}
