// VCS-driven runs: the webhook deliveries otfd accepted (replays are refused by their provider's
// delivery id; a worker processes each one once, also after an otfd stopped midway), and where a
// configuration version came from when it was made from a commit (TFC's ingress-attributes).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('vcs_deliveries', (t) => {
    t.bigIncrements('id').primary();
    // No foreign key to the repository hook: a hook deleted later leaves its deliveries' history,
    // and processing a delivery whose hook is gone queues nothing.
    t.text('hook_id').notNullable();
    t.text('kind').notNullable();
    /** The provider's id of the delivery (X-GitHub-Delivery, X-Gitlab-Event-UUID, X-Forgejo-Delivery). */
    t.text('delivery_id').notNullable();
    /** The parsed VcsEvent; null for a ping or an event otfd ignores. */
    t.jsonb('event');
    t.text('request_id');
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    /** Set while a worker holds it; a claim older than the lease is taken over (its otfd stopped). */
    t.timestamp('claimed_at', { useTz: true });
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('processed_at', { useTz: true });
    t.text('error');
    t.unique(['hook_id', 'delivery_id']);
  });
  // Finding work: deliveries not processed yet.
  await knex.raw('CREATE INDEX vcs_deliveries_unprocessed ON vcs_deliveries (id) WHERE processed_at IS NULL');

  await knex.schema.alterTable('configuration_versions', (t) => {
    /** IngressAttributes of a version made from a commit; null for uploads. */
    t.jsonb('ingress_attributes');
    /**
     * What made it, so that doing it again makes nothing new: "<delivery>:<workspace>" for a
     * webhook's delivery. Unique: reprocessing a delivery after a crash finds the run it made.
     */
    t.text('ingress_key').unique();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('configuration_versions', (t) => {
    t.dropColumn('ingress_key');
    t.dropColumn('ingress_attributes');
  });
  await knex.schema.dropTableIfExists('vcs_deliveries');
}
