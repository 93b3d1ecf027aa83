// Data retention policies (Terraform Cloud's): an organization's, and a workspace's that overrides
// it. "delete-older" deletes runs, configuration versions and state versions older than a number
// of days (never what a workspace still needs); "dont-delete" keeps everything.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('data_retention_policies', (t) => {
    t.text('id').primary();
    t.text('organization_id').notNullable().references('organizations.id').onDelete('CASCADE');
    // null: the organization's own policy
    t.text('workspace_id').references('workspaces.id').onDelete('CASCADE');
    t.text('kind').notNullable(); // delete-older or dont-delete
    t.integer('delete_older_than_n_days');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['workspace_id']);
  });
  // One policy per organization and one per workspace.
  await knex.raw('CREATE UNIQUE INDEX data_retention_policies_org ON data_retention_policies (organization_id) WHERE workspace_id IS NULL');
  await knex.raw('CREATE UNIQUE INDEX data_retention_policies_ws ON data_retention_policies (workspace_id) WHERE workspace_id IS NOT NULL');
  await knex.raw(
    `ALTER TABLE data_retention_policies ADD CONSTRAINT data_retention_policies_days CHECK (
      (kind = 'delete-older' AND delete_older_than_n_days >= 1) OR (kind = 'dont-delete' AND delete_older_than_n_days IS NULL))`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('data_retention_policies');
}
