// Variable sets: organization-owned groups of variables, global or applied to workspaces and
// projects. Their variables keep a sensitive value only as ciphertext (src/variables/encryption.ts),
// as workspace variables do. Links go with the workspace or project they name.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('variable_sets', (t) => {
    t.text('id').primary();
    t.text('organization_id').notNullable().references('organizations.id').onDelete('CASCADE');
    t.text('name').notNullable();
    t.text('description').notNullable().defaultTo('');
    t.boolean('global').notNullable().defaultTo(false);
    t.boolean('priority').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Terraform Cloud: a name is taken once per organization.
    t.unique(['organization_id', 'name']);
  });
  await knex.schema.createTable('variable_set_variables', (t) => {
    t.text('id').primary();
    t.text('variable_set_id').notNullable().references('variable_sets.id').onDelete('CASCADE');
    t.text('key').notNullable();
    t.text('value');
    t.binary('encrypted_value');
    t.text('category').notNullable();
    t.boolean('hcl').notNullable().defaultTo(false);
    t.boolean('sensitive').notNullable().defaultTo(false);
    t.text('description').notNullable().defaultTo('');
    t.text('version_id').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['variable_set_id', 'category', 'key']);
  });
  await knex.raw(`
    ALTER TABLE variable_set_variables
      ADD CONSTRAINT variable_set_variables_category CHECK (category IN ('terraform', 'env')),
      ADD CONSTRAINT variable_set_variables_hcl_only_terraform CHECK (NOT hcl OR category = 'terraform'),
      ADD CONSTRAINT variable_set_variables_value_storage CHECK (
        CASE WHEN sensitive THEN value IS NULL AND encrypted_value IS NOT NULL
             ELSE value IS NOT NULL AND encrypted_value IS NULL END)
  `);
  await knex.schema.createTable('variable_set_workspaces', (t) => {
    t.text('variable_set_id').notNullable().references('variable_sets.id').onDelete('CASCADE');
    t.text('workspace_id').notNullable().references('workspaces.id').onDelete('CASCADE');
    t.primary(['variable_set_id', 'workspace_id']);
    // The sets of a workspace, for its runs.
    t.index(['workspace_id']);
  });
  await knex.schema.createTable('variable_set_projects', (t) => {
    t.text('variable_set_id').notNullable().references('variable_sets.id').onDelete('CASCADE');
    t.text('project_id').notNullable().references('projects.id').onDelete('CASCADE');
    t.primary(['variable_set_id', 'project_id']);
    t.index(['project_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('variable_set_projects');
  await knex.schema.dropTableIfExists('variable_set_workspaces');
  await knex.schema.dropTableIfExists('variable_set_variables');
  await knex.schema.dropTableIfExists('variable_sets');
}
