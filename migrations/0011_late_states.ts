// Late states: a run remembers when a state of its apply reached otfd by the late path, after its
// job was over (docs/agent-protocol.md, "Late states").
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('runs', (t) => {
    t.timestamp('state_saved_late_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('runs', (t) => {
    t.dropColumn('state_saved_late_at');
  });
}
