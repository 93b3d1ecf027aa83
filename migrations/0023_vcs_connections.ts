// Workspaces connected to a repository of a VCS provider (Terraform Cloud's vcs-repo), and the
// repository webhooks otfd makes for them: one per oauth client and repository, shared by every
// workspace connected to it, its secret sealed like sensitive variables (src/connections/).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('repo_hooks', (t) => {
    // The last segment of the URL deliveries arrive at: /webhooks/<kind>/<id>.
    t.text('id').primary();
    t.text('organization_id').notNullable().references('organizations.id').onDelete('CASCADE');
    t.text('oauth_client_id').notNullable();
    // The token the webhook was made with, and is deleted with.
    t.text('oauth_token_id').notNullable();
    t.text('service_provider').notNullable();
    t.text('identifier').notNullable();
    // The provider's id of the webhook, to delete it.
    t.text('provider_hook_id').notNullable();
    t.binary('encrypted_secret').notNullable();
    // What the provider was given, kept: a later --hostname does not move a registered webhook.
    t.text('url').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // One webhook per repository of a provider.
    t.unique(['oauth_client_id', 'identifier']);
  });
  await knex.schema.alterTable('workspaces', (t) => {
    t.text('vcs_identifier');
    t.text('vcs_oauth_token_id');
    t.text('vcs_oauth_client_id');
    t.text('vcs_service_provider');
    // The branch as the workspace names it ('' for the repository's default), and that default as
    // the provider said it when the workspace was connected.
    t.text('vcs_branch');
    t.text('vcs_default_branch');
    t.text('vcs_tags_regex');
    t.boolean('vcs_ingress_submodules').notNullable().defaultTo(false);
    t.text('vcs_repository_http_url');
    // A hook is deleted only once no workspace names it (src/connections/service.ts).
    t.text('vcs_repo_hook_id').references('repo_hooks.id');
    t.integer('vcs_poll_interval_seconds');
    t.boolean('vcs_allow_fork_pull_requests').notNullable().defaultTo(false);
    // Who connected it: runs its commits queue act with that principal's rights.
    t.text('vcs_connected_by_type');
    t.text('vcs_connected_by_id');
    t.text('vcs_connected_by_name');
    t.index(['vcs_repo_hook_id']);
    t.index(['vcs_oauth_token_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('workspaces', (t) => {
    for (const c of [
      'vcs_identifier',
      'vcs_oauth_token_id',
      'vcs_oauth_client_id',
      'vcs_service_provider',
      'vcs_branch',
      'vcs_default_branch',
      'vcs_tags_regex',
      'vcs_ingress_submodules',
      'vcs_repository_http_url',
      'vcs_repo_hook_id',
      'vcs_poll_interval_seconds',
      'vcs_allow_fork_pull_requests',
      'vcs_connected_by_type',
      'vcs_connected_by_id',
      'vcs_connected_by_name',
    ]) {
      t.dropColumn(c);
    }
  });
  await knex.schema.dropTableIfExists('repo_hooks');
}
