// State versions of workspaces and the outputs read from them. The state files themselves live in
// the blob store (src/blobs) under state-versions/<id>/state and state-versions/<id>/json-state.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Numbers the moments versions become current: the current version of a workspace is its
  // finalized version with the highest number.
  await knex.raw('CREATE SEQUENCE state_versions_finalized_seq');

  await knex.schema.createTable('state_versions', (t) => {
    t.text('id').primary();
    t.text('workspace_id').notNullable().references('workspaces.id').onDelete('CASCADE');
    t.bigInteger('serial').notNullable();
    t.text('lineage'); // null until the state file names it, when the request did not
    t.text('md5').notNullable();
    t.enu('status', ['pending', 'finalized', 'discarded']).notNullable().defaultTo('pending');
    // Skip the serial and lineage rules when the state arrives (terraform state push -force).
    t.boolean('force').notNullable().defaultTo(false);
    t.text('run_id'); // no foreign key: runs live in another domain
    t.text('created_by_type').notNullable(); // users, teams or runs
    t.text('created_by_id').notNullable();
    t.text('created_by_name').notNullable();
    // Types of outputs from json-state-outputs, for outputs the state file gives none.
    t.jsonb('declared_output_types');
    // Read from the state file when the version is finalized:
    t.integer('state_format_version');
    t.text('terraform_version');
    t.bigInteger('size');
    t.jsonb('resources').notNullable().defaultTo('[]');
    t.integer('managed_instances').notNullable().defaultTo(0);
    t.bigInteger('json_state_size');
    t.bigInteger('finalized_seq').unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finalized_at', { useTz: true });
    t.index(['workspace_id', 'created_at']);
  });
  await knex.raw(
    `CREATE INDEX state_versions_current ON state_versions (workspace_id, finalized_seq DESC) WHERE status = 'finalized'`,
  );

  await knex.schema.createTable('state_version_outputs', (t) => {
    t.text('id').primary();
    t.text('state_version_id').notNullable().references('state_versions.id').onDelete('CASCADE');
    t.text('name').notNullable();
    t.boolean('sensitive').notNullable().defaultTo(false);
    t.jsonb('type'); // the cty type as JSON, e.g. "string" or ["list","number"]; null when unknown
    t.jsonb('value');
    t.unique(['state_version_id', 'name']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('state_version_outputs');
  await knex.schema.dropTableIfExists('state_versions');
  await knex.raw('DROP SEQUENCE IF EXISTS state_versions_finalized_seq');
}
