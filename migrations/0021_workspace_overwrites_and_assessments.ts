// Workspaces that follow their organization's default execution mode and agent pool (Terraform
// Cloud's setting-overwrites), and the assessments-enabled setting.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('workspaces', (t) => {
    // True: the workspace's own execution_mode and agent_pool_id count. False: its organization's
    // defaults count, read when the workspace is read, so a change of those defaults reaches it.
    // Existing workspaces were given a copy of the default when they were made: they keep it.
    t.boolean('execution_overwritten').notNullable().defaultTo(true);
    // Stored and shown only: this server runs no health assessments (drift detection).
    t.boolean('assessments_enabled').notNullable().defaultTo(false);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('workspaces', (t) => {
    t.dropColumn('execution_overwritten');
    t.dropColumn('assessments_enabled');
  });
}
