// Agent pools, the workspaces they allow, their agent tokens and agents; a workspace's pool.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('agent_pools', (t) => {
    t.text('id').primary();
    t.text('organization_id').notNullable().references('organizations.id').onDelete('CASCADE');
    t.text('name').notNullable();
    t.boolean('organization_scoped').notNullable().defaultTo(true);
    // how long a departed agent's name stays reserved; 0: free at once
    t.integer('name_release_seconds').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'name']);
  });

  await knex.schema.createTable('agent_pool_allowed_workspaces', (t) => {
    t.text('pool_id').notNullable().references('agent_pools.id').onDelete('CASCADE');
    t.text('workspace_id').notNullable().references('workspaces.id').onDelete('CASCADE');
    t.primary(['pool_id', 'workspace_id']);
  });

  await knex.schema.createTable('agent_tokens', (t) => {
    t.text('id').primary();
    t.text('pool_id').notNullable().references('agent_pools.id').onDelete('CASCADE');
    t.text('description').notNullable().defaultTo('');
    t.binary('secret_hash').notNullable();
    t.text('created_by_type');
    t.text('created_by_id');
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('agents', (t) => {
    t.text('id').primary();
    t.text('pool_id').notNullable().references('agent_pools.id').onDelete('CASCADE');
    // no foreign key: a deleted token must leave its agents behind, to be refused at their next call
    t.text('token_id').notNullable();
    t.text('name').notNullable();
    t.text('status').notNullable(); // idle, busy, unknown, errored, exited
    t.binary('access_hash').notNullable();
    t.text('ip_address');
    t.text('version');
    t.text('hostname');
    t.text('os');
    t.text('arch');
    t.integer('concurrency').notNullable().defaultTo(1);
    t.timestamp('last_ping_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('status_changed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['pool_id', 'name']);
    t.index(['status', 'last_ping_at']);
  });

  // Belongs to the workspaces domain: the pool an agent-mode workspace runs on. A pool that
  // workspaces use cannot be deleted.
  await knex.schema.alterTable('workspaces', (t) => {
    t.text('agent_pool_id').references('agent_pools.id').onDelete('RESTRICT');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('workspaces', (t) => t.dropColumn('agent_pool_id'));
  for (const table of ['agents', 'agent_tokens', 'agent_pool_allowed_workspaces', 'agent_pools']) {
    await knex.schema.dropTableIfExists(table);
  }
}
