// Run events, comment authors, and the resources of workspaces' current state.
//
// Run events are written when they happen, in the transaction of the run's status change: the
// status timestamps keep only the last time a status was entered, and neither who caused it nor
// the comments, so the history could not be rebuilt from them.
//
// Workspace resources are computed when a state version becomes current and kept for the current
// state only (one row per resource instance), so that a page of them is one indexed query however
// large the state is, and the state file is never read to answer it.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('run_comments', (t) => {
    // Null for comments made before this migration (the comments of run actions, then anonymous).
    t.text('author_type');
    t.text('author_id');
    t.text('author_name');
    t.index(['run_id', 'created_at']);
  });

  await knex.schema.createTable('run_events', (t) => {
    t.text('id').primary();
    t.text('run_id').notNullable().references('runs.id').onDelete('CASCADE');
    // Orders the events of a run as they happened (timestamps of one transaction are equal).
    t.bigIncrements('seq', { primaryKey: false });
    t.text('action').notNullable();
    t.text('description').notNullable();
    // Who caused it; null when otfd did (a runner's report, the workspace queue).
    t.text('actor_type');
    t.text('actor_id');
    t.text('actor_name');
    t.text('comment_id').references('run_comments.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['run_id', 'seq']);
  });

  await knex.schema.createTable('workspace_resources', (t) => {
    t.text('workspace_id').notNullable().references('workspaces.id').onDelete('CASCADE');
    t.text('address').notNullable();
    t.text('id').notNullable();
    // Its place in the state file: the order of the list.
    t.integer('position').notNullable();
    t.text('name').notNullable();
    t.text('module').notNullable();
    t.text('provider').notNullable();
    t.text('provider_type').notNullable();
    t.text('name_index');
    // MD5 of the instance's JSON in the state file: a change of it is a modification.
    t.text('content_md5').notNullable();
    // The version whose resources these rows are (rows of an older version are deleted).
    t.text('state_version_id').notNullable();
    t.text('modified_by_state_version_id').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.primary(['workspace_id', 'address']);
    t.index(['workspace_id', 'position']);
  });

  // The state version each workspace's resources were computed from (also when it had none), so
  // that a state made current before this migration is computed once, when first asked for.
  await knex.schema.createTable('workspace_resource_sources', (t) => {
    t.text('workspace_id').primary().references('workspaces.id').onDelete('CASCADE');
    t.text('state_version_id').notNullable();
    // How many rows the workspace has in workspace_resources: a page's total without counting them.
    t.integer('resource_count').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('workspace_resource_sources');
  await knex.schema.dropTableIfExists('workspace_resources');
  await knex.schema.dropTableIfExists('run_events');
  await knex.schema.alterTable('run_comments', (t) => {
    t.dropIndex(['run_id', 'created_at']);
    t.dropColumn('author_type');
    t.dropColumn('author_id');
    t.dropColumn('author_name');
  });
}
