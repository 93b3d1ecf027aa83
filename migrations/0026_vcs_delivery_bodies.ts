// Webhook replays by content: a delivery's id header is not covered by its signature, so a signed
// body sent again under a new id must be refused by the body itself. Each hook keeps the SHA-256 of
// the bodies it received (unique), for as long as its deliveries are kept (pruned after some days,
// hence the index on received_at).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('vcs_deliveries', (t) => {
    /** Hex SHA-256 of the body as received; null for deliveries recorded before it was kept. */
    t.text('body_sha256');
    t.unique(['hook_id', 'body_sha256'], { indexName: 'vcs_deliveries_hook_body_unique' });
    t.index(['received_at'], 'vcs_deliveries_received_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('vcs_deliveries', (t) => {
    t.dropIndex(['received_at'], 'vcs_deliveries_received_at');
    t.dropUnique(['hook_id', 'body_sha256'], 'vcs_deliveries_hook_body_unique');
    t.dropColumn('body_sha256');
  });
}
