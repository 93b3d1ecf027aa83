// The audit trail's two new questions: which events are older than --audit-retention (pruned in
// batches by the periodic collection), and who created a resource (an upload to a signed URL is
// recorded with the actor that created the version the URL was handed out with).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_events', (t) => {
    t.index(['time'], 'audit_events_time');
    t.index(['resource_type', 'resource_id'], 'audit_events_resource');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_events', (t) => {
    t.dropIndex(['time'], 'audit_events_time');
    t.dropIndex(['resource_type', 'resource_id'], 'audit_events_resource');
  });
}
