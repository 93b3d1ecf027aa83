// Polling of workspaces that cannot receive webhooks (otfd behind a firewall): the branch head each
// one last saw, and when it is next due. One row per polling workspace, shared by every otfd: the
// due time and lease let one otfd, never two at once, poll a workspace each interval.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('vcs_polls', (t) => {
    t.text('workspace_id').primary().references('workspaces.id').onDelete('CASCADE');
    // The repository and branch the head was read from: a workspace pointed elsewhere starts afresh.
    t.text('identifier').notNullable();
    t.text('branch').notNullable();
    // Null until the first poll, which records the head without queuing a run.
    t.text('head_sha');
    t.timestamp('next_poll_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Set while an otfd polls it; a poll cut short (an otfd killed) frees it when this passes.
    t.timestamp('lease_until', { useTz: true });
    // Why the last poll failed (host unreachable, token refused); null when it worked. Logged only when it changes.
    t.text('trouble');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('vcs_polls');
}
