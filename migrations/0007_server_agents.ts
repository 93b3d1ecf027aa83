// The server agents of running otfd instances and when each was last seen, so that the jobs of an
// otfd that died mid-run are failed instead of holding their workspaces forever.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('server_agents', (t) => {
    t.text('id').primary();
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('server_agents');
}
