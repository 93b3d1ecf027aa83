// Sign-on beyond tokens: single sign-on flows in progress (state, nonce and PKCE verifier kept
// here, not in the browser), the team and organization memberships single sign-on made (so that
// only those are taken away when the provider's groups no longer list them), and the one-time
// codes of `terraform login` (stored hashed, bound to the PKCE challenge and the CLI's loopback
// redirect).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sso_flows', (t) => {
    // sha256 of the state sent to the provider
    t.binary('state_hash').primary();
    t.text('nonce').notNullable();
    t.text('code_verifier').notNullable();
    t.text('next').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['expires_at']);
  });

  await knex.schema.createTable('sso_team_memberships', (t) => {
    t.text('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('team_id').notNullable().references('teams.id').onDelete('CASCADE');
    t.primary(['user_id', 'team_id']);
  });

  await knex.schema.createTable('sso_organization_memberships', (t) => {
    t.text('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('organization_id').notNullable().references('organizations.id').onDelete('CASCADE');
    t.primary(['user_id', 'organization_id']);
  });

  await knex.schema.createTable('oauth_codes', (t) => {
    t.binary('code_hash').primary();
    t.text('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('client_id').notNullable();
    t.text('redirect_uri').notNullable();
    t.text('code_challenge').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('oauth_codes');
  await knex.schema.dropTable('sso_organization_memberships');
  await knex.schema.dropTable('sso_team_memberships');
  await knex.schema.dropTable('sso_flows');
}
