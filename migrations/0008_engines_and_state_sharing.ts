// A workspace's engine (terraform or tofu), and the workspaces allowed to read its state.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('workspaces', (t) => {
    t.text('engine').notNullable().defaultTo('terraform');
  });
  await knex.schema.createTable('remote_state_consumers', (t) => {
    t.text('workspace_id').notNullable().references('workspaces.id').onDelete('CASCADE');
    t.text('consumer_id').notNullable().references('workspaces.id').onDelete('CASCADE');
    t.primary(['workspace_id', 'consumer_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('remote_state_consumers');
  await knex.schema.alterTable('workspaces', (t) => t.dropColumn('engine'));
}
