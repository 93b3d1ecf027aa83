// Health assessments (drift detection). An assessment is a hidden run: a speculative, refresh-only
// plan marked `assessment`, so it reuses jobs, runners, logs and the JSON plan, never locks the
// workspace and is not listed among its runs. Its verdict is kept in assessment_results. One otfd
// at a time schedules them, holding the lease row of assessment_scheduler.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('runs', (t) => {
    t.boolean('assessment').notNullable().defaultTo(false);
  });
  await knex.schema.alterTable('organizations', (t) => {
    // TFC's assessments-enforced: every workspace of the organization is assessed, whatever its own setting.
    t.boolean('assessments_enforced').notNullable().defaultTo(false);
    // A cron expression overriding otfd's --assessments-schedule for this organization; null: the site's.
    t.text('assessments_schedule');
  });
  await knex.schema.createTable('assessment_results', (t) => {
    t.text('id').primary();
    t.text('workspace_id').notNullable().references('workspaces.id').onDelete('CASCADE');
    t.text('organization_id').notNullable();
    // SET NULL: a run removed by retention leaves the verdict (its plan and log go with it).
    t.text('run_id').references('runs.id').onDelete('SET NULL');
    // running, drifted, no_drift, errored
    t.text('status').notNullable();
    t.text('error_msg');
    t.integer('resources_drifted').notNullable().defaultTo(0);
    t.integer('resources_undrifted').notNullable().defaultTo(0);
    // The addresses that drifted: resources (resource_drift) and outputs ("output.<name>").
    t.jsonb('drifted_addresses').notNullable().defaultTo('[]');
    // Checks (check blocks, conditions) that failed on refresh: TFC's continuous validation.
    t.jsonb('failed_checks').notNullable().defaultTo('[]');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true });
    t.index(['workspace_id', 'created_at']);
    t.index(['run_id']);
  });
  await knex.schema.createTable('assessment_scheduler', (t) => {
    t.integer('id').primary();
    t.text('owner');
    t.timestamp('expires_at', { useTz: true });
  });
  await knex('assessment_scheduler').insert({ id: 1, owner: null, expires_at: null });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('assessment_scheduler');
  await knex.schema.dropTable('assessment_results');
  await knex.schema.alterTable('organizations', (t) => {
    t.dropColumn('assessments_enforced');
    t.dropColumn('assessments_schedule');
  });
  await knex.schema.alterTable('runs', (t) => {
    t.dropColumn('assessment');
  });
}
