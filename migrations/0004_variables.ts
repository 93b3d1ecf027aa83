// Workspace variables. A non-sensitive value is kept in `value`; a sensitive one only as ciphertext
// in `encrypted_value` (see src/variables/encryption.ts), never in plaintext.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('variables', (t) => {
    t.text('id').primary();
    t.text('workspace_id').notNullable().references('workspaces.id').onDelete('CASCADE');
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
    // Also the index of a workspace's variables (its leading column).
    t.unique(['workspace_id', 'category', 'key']);
  });
  await knex.raw(`
    ALTER TABLE variables
      ADD CONSTRAINT variables_category CHECK (category IN ('terraform', 'env')),
      ADD CONSTRAINT variables_hcl_only_terraform CHECK (NOT hcl OR category = 'terraform'),
      ADD CONSTRAINT variables_value_storage CHECK (
        CASE WHEN sensitive THEN value IS NULL AND encrypted_value IS NOT NULL
             ELSE value IS NOT NULL AND encrypted_value IS NULL END)
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('variables');
}
