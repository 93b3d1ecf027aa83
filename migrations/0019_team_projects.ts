// Team access to projects (Terraform Cloud's team-projects): one grant per team and project, with a
// level or custom permissions over the project and over every workspace in it.
//
// And invited users: as in Terraform Cloud, inviting an email nobody has yet makes a user for it at
// once (the membership names it), marked invited until the site administrator creates the user of
// that email, which then becomes that user (same id).
//
// What a token's subject holds now depends on these grants and on which workspaces are in which
// project: both tables announce their changes on otf_auth (function of migration 0010), so that
// every otfd forgets the subjects it keeps (src/auth/cache.ts).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('team_projects', (t) => {
    t.text('id').primary();
    t.text('team_id').notNullable().references('teams.id').onDelete('CASCADE');
    t.text('project_id').notNullable().references('projects.id').onDelete('CASCADE');
    t.text('access').notNullable(); // read, write, maintain, admin, custom
    t.text('settings').notNullable(); // read, update, delete
    t.text('teams').notNullable(); // none, read, manage
    // What the grant gives in each workspace of the project.
    t.text('runs').notNullable(); // read, plan, apply
    t.text('variables').notNullable(); // none, read, write
    t.text('state_versions').notNullable(); // none, read-outputs, read, write
    t.text('sentinel_mocks').notNullable(); // none, read
    t.boolean('workspace_locking').notNullable();
    t.boolean('run_tasks').notNullable();
    t.boolean('create_workspaces').notNullable();
    t.boolean('move_workspaces').notNullable();
    t.boolean('delete_workspaces').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['team_id', 'project_id']);
    t.index(['project_id']);
  });
  await knex.schema.alterTable('users', (t) => {
    t.boolean('invited').notNullable().defaultTo(false);
  });
  await knex.raw(
    'CREATE TRIGGER team_projects_auth_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON team_projects FOR EACH STATEMENT EXECUTE FUNCTION otf_auth_changed()',
  );
  // A workspace created in, moved to or out of, or deleted from a project changes what the project's grants cover.
  await knex.raw(
    'CREATE TRIGGER workspaces_project_auth_changed AFTER INSERT OR UPDATE OF project_id OR DELETE ON workspaces FOR EACH STATEMENT EXECUTE FUNCTION otf_auth_changed()',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS workspaces_project_auth_changed ON workspaces');
  await knex.schema.dropTableIfExists('team_projects');
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('invited');
  });
}
