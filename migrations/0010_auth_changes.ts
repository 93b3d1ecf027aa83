// Announces, on the otf_auth channel, every change to what the subject of a user or team token
// is made of, so that each otfd forgets the subjects it keeps (src/auth/cache.ts). A token's own
// last-used-at is not such a change.
import type { Knex } from 'knex';

const CHANNEL = 'otf_auth';
const TABLES = ['users', 'organization_memberships', 'teams', 'team_memberships', 'team_workspaces'];
const TOKEN_TABLES: Array<[table: string, owner: string]> = [
  ['user_tokens', 'user_id'],
  ['team_tokens', 'team_id'],
];

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION otf_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('${CHANNEL}', '');
      RETURN NULL;
    END $$`);
  for (const table of TABLES) {
    await knex.raw(`CREATE TRIGGER ?? AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ?? FOR EACH STATEMENT EXECUTE FUNCTION otf_auth_changed()`, [
      `${table}_auth_changed`,
      table,
    ]);
  }
  for (const [table, owner] of TOKEN_TABLES) {
    await knex.raw(`CREATE TRIGGER ?? AFTER UPDATE OF ??, secret_hash, expired_at OR DELETE OR TRUNCATE ON ?? FOR EACH STATEMENT EXECUTE FUNCTION otf_auth_changed()`, [
      `${table}_auth_changed`,
      owner,
      table,
    ]);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [...TABLES, ...TOKEN_TABLES.map(([t]) => t)]) await knex.raw('DROP TRIGGER IF EXISTS ?? ON ??', [`${table}_auth_changed`, table]);
  await knex.raw('DROP FUNCTION IF EXISTS otf_auth_changed()');
}
