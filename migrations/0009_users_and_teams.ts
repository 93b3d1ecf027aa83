// Users and their tokens, organization memberships, teams with their members, tokens and
// organization-level access, and the access teams have to workspaces. Every existing organization
// gets its owners team (empty: organizations so far were made by the site administrator).
import type { Knex } from 'knex';
import { newId } from '../src/ids.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.text('id').primary();
    t.text('username').notNullable().unique();
    t.text('email').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  // Emails are compared without regard to case, so one address is one user.
  await knex.raw('CREATE UNIQUE INDEX users_email_unique ON users (lower(email))');

  await knex.schema.createTable('user_tokens', (t) => {
    t.text('id').primary();
    t.text('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('description');
    t.binary('secret_hash').notNullable();
    t.timestamp('expired_at', { useTz: true });
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['user_id']);
  });

  // A membership is "invited" while no user has its email, and "active" once one has.
  await knex.schema.createTable('organization_memberships', (t) => {
    t.text('id').primary();
    t.text('organization_id').notNullable().references('organizations.id').onDelete('CASCADE');
    t.text('user_id').references('users.id').onDelete('CASCADE');
    t.text('email').notNullable();
    t.text('status').notNullable();
    // the teams an invited member joins once it is a user
    t.specificType('invited_team_ids', 'text[]').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'user_id']);
    t.unique(['organization_id', 'email']);
    t.index(['user_id']);
  });

  await knex.schema.createTable('teams', (t) => {
    t.text('id').primary();
    t.text('organization_id').notNullable().references('organizations.id').onDelete('CASCADE');
    t.text('name').notNullable();
    t.boolean('is_owners').notNullable().defaultTo(false);
    t.text('visibility').notNullable().defaultTo('secret');
    t.text('sso_team_id');
    t.boolean('allow_member_token_management').notNullable().defaultTo(true);
    // organization-access: the names of the organization-level permissions the team holds
    t.specificType('organization_access', 'text[]').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'name']);
  });
  await knex.raw('CREATE UNIQUE INDEX teams_one_owners_team ON teams (organization_id) WHERE is_owners');

  await knex.schema.createTable('team_memberships', (t) => {
    t.text('team_id').notNullable().references('teams.id').onDelete('CASCADE');
    t.text('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.primary(['team_id', 'user_id']);
    t.index(['user_id']);
  });

  // A token without a description is the team's one legacy token (/teams/:id/authentication-token).
  await knex.schema.createTable('team_tokens', (t) => {
    t.text('id').primary();
    t.text('team_id').notNullable().references('teams.id').onDelete('CASCADE');
    t.text('description');
    t.binary('secret_hash').notNullable();
    t.text('created_by_type');
    t.text('created_by_id');
    t.timestamp('expired_at', { useTz: true });
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('CREATE UNIQUE INDEX team_tokens_one_legacy ON team_tokens (team_id) WHERE description IS NULL');
  await knex.raw('CREATE UNIQUE INDEX team_tokens_unique_description ON team_tokens (team_id, description) WHERE description IS NOT NULL');

  await knex.schema.createTable('team_workspaces', (t) => {
    t.text('id').primary();
    t.text('team_id').notNullable().references('teams.id').onDelete('CASCADE');
    t.text('workspace_id').notNullable().references('workspaces.id').onDelete('CASCADE');
    t.text('access').notNullable(); // read, plan, write, admin, custom
    t.text('runs').notNullable(); // read, plan, apply
    t.text('variables').notNullable(); // none, read, write
    t.text('state_versions').notNullable(); // none, read-outputs, read, write
    t.text('sentinel_mocks').notNullable(); // none, read
    t.boolean('workspace_locking').notNullable();
    t.boolean('run_tasks').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['team_id', 'workspace_id']);
    t.index(['workspace_id']);
  });

  const orgs = await knex('organizations').select<{ id: string }[]>('id');
  for (const org of orgs) await knex('teams').insert({ id: newId('team'), organization_id: org.id, name: 'owners', is_owners: true });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['team_workspaces', 'team_tokens', 'team_memberships', 'teams', 'organization_memberships', 'user_tokens', 'users']) {
    await knex.schema.dropTableIfExists(table);
  }
}
