// A notification worker takes only the oldest queued delivery of each configuration (so that a
// destination hears of a run's steps in order): it asks, for every due delivery, whether an older
// one of the same configuration waits. This index answers that with a probe instead of a scan of
// the queue, which grows while a destination fails; deleting a configuration's deliveries uses it
// too. (Not built CONCURRENTLY: that waits for every open transaction, replicas waiting on the
// migration lock included.)
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('notification_deliveries', (t) => {
    t.index(['configuration_id', 'id'], 'notification_deliveries_configuration');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('notification_deliveries', (t) => {
    t.dropIndex(['configuration_id', 'id'], 'notification_deliveries_configuration');
  });
}
