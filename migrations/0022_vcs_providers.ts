// VCS providers as Terraform Cloud names them: an organization's OAuth clients (which provider,
// where its API and web pages are) and their OAuth tokens (the access token otfd uses with the
// provider's API and for cloning). A token is kept only as ciphertext (AES-256-GCM under --secret,
// as sensitive variables; see src/vcs/service.ts), and so is the SSH key a token may carry.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('oauth_clients', (t) => {
    t.text('id').primary();
    t.text('organization_id').notNullable().references('organizations.id').onDelete('CASCADE');
    t.text('service_provider').notNullable();
    t.text('name');
    t.text('api_url').notNullable();
    t.text('http_url').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['organization_id', 'created_at']);
  });
  await knex.schema.createTable('oauth_tokens', (t) => {
    t.text('id').primary();
    // Deleting a client deletes its tokens.
    t.text('oauth_client_id').notNullable().references('oauth_clients.id').onDelete('CASCADE');
    t.binary('encrypted_token').notNullable();
    t.binary('encrypted_ssh_key');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['oauth_client_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('oauth_tokens');
  await knex.schema.dropTableIfExists('oauth_clients');
}
