// A repository webhook the provider would not delete when its last workspace let it go: the row
// stays, marked, so that a sweep tries again (src/connections/service.ts) instead of leaving the
// webhook at the provider forever. Deliveries to a marked hook answer 404.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('repo_hooks', (t) => {
    // When deleting it at the provider first failed; null for a hook in use.
    t.timestamp('deleting_since', { useTz: true });
    t.integer('delete_attempts').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('repo_hooks', (t) => {
    t.dropColumn('deleting_since');
    t.dropColumn('delete_attempts');
  });
}
