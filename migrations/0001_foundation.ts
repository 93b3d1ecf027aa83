// Organizations, their tokens and projects, workspaces with tags and locks, and site settings.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('site_settings', (t) => {
    t.text('key').primary();
    t.text('value').notNullable();
  });

  await knex.schema.createTable('organizations', (t) => {
    t.text('id').primary(); // the external id, org-...; the API addresses organizations by name
    t.text('name').notNullable().unique();
    t.text('email').notNullable();
    t.integer('session_timeout').notNullable().defaultTo(20160);
    t.integer('session_remember').notNullable().defaultTo(20160);
    t.text('collaborator_auth_policy').notNullable().defaultTo('password');
    t.boolean('cost_estimation_enabled').notNullable().defaultTo(false);
    t.boolean('allow_force_delete_workspaces').notNullable().defaultTo(false);
    t.text('default_execution_mode').notNullable().defaultTo('remote');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('organization_tokens', (t) => {
    t.text('id').primary();
    t.text('organization_id').notNullable().unique().references('organizations.id').onDelete('CASCADE');
    t.binary('secret_hash').notNullable();
    t.text('description');
    t.timestamp('expired_at', { useTz: true });
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('projects', (t) => {
    t.text('id').primary();
    t.text('organization_id').notNullable().references('organizations.id').onDelete('CASCADE');
    t.text('name').notNullable();
    t.text('description').notNullable().defaultTo('');
    t.boolean('is_default').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'name']);
  });

  await knex.schema.createTable('workspaces', (t) => {
    t.text('id').primary();
    t.text('organization_id').notNullable().references('organizations.id').onDelete('CASCADE');
    // NO ACTION: a project with workspaces cannot be deleted, yet deleting the organization removes both.
    t.text('project_id').notNullable().references('projects.id');
    t.text('name').notNullable();
    t.text('description').notNullable().defaultTo('');
    t.text('execution_mode').notNullable().defaultTo('remote');
    t.boolean('auto_apply').notNullable().defaultTo(false);
    t.boolean('auto_apply_run_trigger').notNullable().defaultTo(false);
    t.boolean('allow_destroy_plan').notNullable().defaultTo(true);
    t.boolean('file_triggers_enabled').notNullable().defaultTo(true);
    t.boolean('global_remote_state').notNullable().defaultTo(false);
    t.boolean('queue_all_runs').notNullable().defaultTo(false);
    t.boolean('speculative_enabled').notNullable().defaultTo(true);
    t.boolean('structured_run_output_enabled').notNullable().defaultTo(false);
    t.text('terraform_version').notNullable();
    t.text('working_directory').notNullable().defaultTo('');
    t.specificType('trigger_prefixes', 'text[]').notNullable().defaultTo('{}');
    t.specificType('trigger_patterns', 'text[]').notNullable().defaultTo('{}');
    t.text('source_name');
    t.text('source_url');
    t.boolean('locked').notNullable().defaultTo(false);
    t.text('lock_holder_type'); // users, teams or runs
    t.text('lock_holder_id');
    t.text('lock_holder_name');
    t.text('lock_reason');
    t.timestamp('locked_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'name']);
    t.index(['project_id']);
  });

  await knex.schema.createTable('tags', (t) => {
    t.text('id').primary();
    t.text('organization_id').notNullable().references('organizations.id').onDelete('CASCADE');
    t.text('name').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'name']);
  });

  // One row per tag key of a workspace: a key-only tag (the legacy tag-names) has the value ''.
  await knex.schema.createTable('workspace_tags', (t) => {
    t.text('workspace_id').notNullable().references('workspaces.id').onDelete('CASCADE');
    t.text('key').notNullable();
    t.text('value').notNullable().defaultTo('');
    t.primary(['workspace_id', 'key']);
    t.index(['key', 'value']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['workspace_tags', 'tags', 'workspaces', 'projects', 'organization_tokens', 'organizations', 'site_settings']) {
    await knex.schema.dropTableIfExists(table);
  }
}
