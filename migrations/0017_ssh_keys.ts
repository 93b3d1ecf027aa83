// SSH keys of organizations, and the one a workspace uses to fetch git::ssh:// modules. The private
// key is kept only as ciphertext (AES-256-GCM, as sensitive variables; see src/sshkeys/service.ts).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ssh_keys', (t) => {
    t.text('id').primary();
    t.text('organization_id').notNullable().references('organizations.id').onDelete('CASCADE');
    t.text('name').notNullable();
    t.binary('encrypted_value').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['organization_id', 'name']);
  });
  await knex.schema.alterTable('workspaces', (t) => {
    // Deleting a key unassigns it from every workspace that used it.
    t.text('ssh_key_id').references('ssh_keys.id').onDelete('SET NULL');
    t.index(['ssh_key_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('workspaces', (t) => {
    t.dropColumn('ssh_key_id');
  });
  await knex.schema.dropTableIfExists('ssh_keys');
}
