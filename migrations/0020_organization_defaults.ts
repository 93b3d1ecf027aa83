// An organization's default agent pool, for its default execution mode "agent": new workspaces
// made without a mode of their own run on it. Cost estimation is not something this server does:
// organizations that said it was enabled no longer say so.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('organizations', (t) => {
    // NO ACTION (not RESTRICT): deleting the organization deletes its pools in the same statement.
    t.text('default_agent_pool_id').references('agent_pools.id');
  });
  await knex('organizations').where({ cost_estimation_enabled: true }).update({ cost_estimation_enabled: false });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('organizations', (t) => {
    t.dropColumn('default_agent_pool_id');
  });
}
