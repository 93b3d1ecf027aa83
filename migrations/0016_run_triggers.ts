// Run triggers: a workspace (the target) follows up to 20 source workspaces; a successful apply in
// a source queues a run in each of its targets. The deliveries table holds, durably, the runs an
// apply still owes its targets: written in the apply's own transaction, so that an otfd stopped
// between the apply and the new runs neither loses nor doubles one.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('run_triggers', (t) => {
    t.text('id').primary();
    // Deleting either workspace removes its triggers.
    t.text('workspace_id').notNullable().references('workspaces.id').onDelete('CASCADE');
    t.text('sourceable_id').notNullable().references('workspaces.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['workspace_id', 'sourceable_id']);
    t.index(['sourceable_id']);
  });
  await knex.raw('ALTER TABLE run_triggers ADD CONSTRAINT run_triggers_not_itself CHECK (workspace_id <> sourceable_id)');
  await knex.schema.createTable('run_trigger_deliveries', (t) => {
    t.text('id').primary();
    t.text('source_run_id').notNullable().references('runs.id').onDelete('CASCADE');
    t.text('workspace_id').notNullable().references('workspaces.id').onDelete('CASCADE');
    // Chosen when the delivery is recorded: a retried delivery finds the run it already made.
    t.text('run_id').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['source_run_id', 'workspace_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('run_trigger_deliveries');
  await knex.schema.dropTable('run_triggers');
}
