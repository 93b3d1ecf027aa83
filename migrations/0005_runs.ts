// Configuration versions, runs with their plan and apply, run logs, and jobs (the phases to execute).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('configuration_versions', (t) => {
    t.text('id').primary();
    t.text('workspace_id').notNullable().references('workspaces.id').onDelete('CASCADE');
    t.text('status').notNullable(); // pending, uploaded, errored
    t.text('error_message');
    t.boolean('speculative').notNullable().defaultTo(false);
    t.boolean('provisional').notNullable().defaultTo(false);
    t.boolean('auto_queue_runs').notNullable().defaultTo(true);
    t.text('source').notNullable().defaultTo('tfe-api');
    t.bigInteger('size');
    t.jsonb('status_timestamps').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['workspace_id', 'created_at']);
  });

  await knex.schema.createTable('runs', (t) => {
    t.text('id').primary();
    t.text('workspace_id').notNullable().references('workspaces.id').onDelete('CASCADE');
    // kept with the run so that organization-wide queries need no other domain's tables
    t.text('organization_id').notNullable();
    t.text('configuration_version_id').notNullable().references('configuration_versions.id').onDelete('CASCADE');
    t.text('status').notNullable();
    t.jsonb('status_timestamps').notNullable().defaultTo('{}');
    t.text('message').notNullable().defaultTo('');
    t.text('source').notNullable().defaultTo('tfe-api');
    t.boolean('is_destroy').notNullable().defaultTo(false);
    t.boolean('refresh').notNullable().defaultTo(true);
    t.boolean('refresh_only').notNullable().defaultTo(false);
    t.boolean('plan_only').notNullable().defaultTo(false);
    t.boolean('speculative').notNullable().defaultTo(false);
    t.boolean('save_plan').notNullable().defaultTo(false);
    t.boolean('auto_apply').notNullable().defaultTo(false);
    t.boolean('allow_empty_apply').notNullable().defaultTo(false);
    t.specificType('target_addrs', 'text[]').notNullable().defaultTo('{}');
    t.specificType('replace_addrs', 'text[]').notNullable().defaultTo('{}');
    t.jsonb('variables').notNullable().defaultTo('[]');
    t.boolean('has_changes').notNullable().defaultTo(false);
    t.text('engine').notNullable().defaultTo('terraform');
    t.text('engine_version').notNullable();
    t.text('error_message');
    t.text('created_by_type');
    t.text('created_by_id');
    t.text('created_by_name');
    t.timestamp('cancel_requested_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['workspace_id', 'created_at']);
    t.index(['organization_id', 'status']);
  });

  for (const phase of ['plans', 'applies']) {
    await knex.schema.createTable(phase, (t) => {
      t.text('id').primary();
      t.text('run_id').notNullable().unique().references('runs.id').onDelete('CASCADE');
      t.text('status').notNullable();
      t.jsonb('status_timestamps').notNullable().defaultTo('{}');
      t.integer('resource_additions').notNullable().defaultTo(0);
      t.integer('resource_changes').notNullable().defaultTo(0);
      t.integer('resource_destructions').notNullable().defaultTo(0);
      t.integer('resource_imports').notNullable().defaultTo(0);
      if (phase === 'plans') t.boolean('has_changes').notNullable().defaultTo(false);
    });
  }

  await knex.schema.createTable('run_comments', (t) => {
    t.text('id').primary();
    t.text('run_id').notNullable().references('runs.id').onDelete('CASCADE');
    t.text('body').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  // The log of a plan or an apply, in chunks addressed by their byte offset in the log.
  await knex.schema.createTable('run_logs', (t) => {
    t.text('phase_id').notNullable(); // plan-... or apply-...
    t.bigInteger('offset').notNullable();
    t.binary('data').notNullable();
    t.primary(['phase_id', 'offset']);
  });

  // Jobs belong to the pools domain: the phases to execute, and who executes them.
  await knex.schema.createTable('jobs', (t) => {
    t.text('id').primary();
    t.text('run_id').notNullable().references('runs.id').onDelete('CASCADE');
    t.text('workspace_id').notNullable();
    t.text('organization_id').notNullable();
    t.text('phase').notNullable(); // plan or apply
    t.text('status').notNullable(); // queued, claimed, running, finished, errored, canceled
    t.integer('priority').notNullable(); // 0 apply, 1 plan, 2 speculative plan
    t.text('pool_id'); // null: the server agent
    t.text('runner_id'); // who claimed it
    t.binary('token_hash');
    t.boolean('cancel_requested').notNullable().defaultTo(false);
    t.boolean('force_cancel_requested').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('claimed_at', { useTz: true });
    t.timestamp('started_at', { useTz: true });
    t.timestamp('finished_at', { useTz: true });
    t.unique(['run_id', 'phase']);
  });
  await knex.raw(`CREATE INDEX jobs_queue ON jobs (priority, created_at) WHERE status = 'queued'`);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['jobs', 'run_logs', 'run_comments', 'applies', 'plans', 'runs', 'configuration_versions']) {
    await knex.schema.dropTableIfExists(table);
  }
}
