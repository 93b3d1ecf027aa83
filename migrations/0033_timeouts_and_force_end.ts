// Plan and apply timeouts (docs/timeouts-and-hooks.md): an organization's defaults and a
// workspace's overrides, in seconds (null: the level above decides: the organization, then otfd's
// --plan-timeout and --apply-timeout). A job carries the timeout its phase got when it was queued,
// so that the runner and otfd's backstop agree on it whatever changes later. A run ended by an
// owner's force-end keeps the reason given.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  for (const table of ['organizations', 'workspaces']) {
    await knex.schema.alterTable(table, (t) => {
      t.integer('plan_timeout_seconds');
      t.integer('apply_timeout_seconds');
    });
  }
  await knex.schema.alterTable('jobs', (t) => {
    t.integer('timeout_seconds');
  });
  await knex.schema.alterTable('runs', (t) => {
    t.text('force_end_reason');
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['organizations', 'workspaces']) {
    await knex.schema.alterTable(table, (t) => {
      t.dropColumn('plan_timeout_seconds');
      t.dropColumn('apply_timeout_seconds');
    });
  }
  await knex.schema.alterTable('jobs', (t) => {
    t.dropColumn('timeout_seconds');
  });
  await knex.schema.alterTable('runs', (t) => {
    t.dropColumn('force_end_reason');
  });
}
