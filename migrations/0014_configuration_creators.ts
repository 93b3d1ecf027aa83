// Who created each configuration version: a run it queues by itself (auto-queue-runs) acts with
// that creator's rights, gathered afresh when the upload arrives, not with the server's.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('configuration_versions', (t) => {
    // Null for versions made before this migration: they queue no run by themselves any more.
    t.text('created_by_type');
    t.text('created_by_id');
    t.text('created_by_name');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('configuration_versions', (t) => {
    t.dropColumn('created_by_type');
    t.dropColumn('created_by_id');
    t.dropColumn('created_by_name');
  });
}
