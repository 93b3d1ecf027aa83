// Blobs kept in PostgreSQL, in chunks (see src/blobs/store.ts).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('blobs', (t) => {
    t.text('key').primary();
    t.bigInteger('size').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('blob_chunks', (t) => {
    t.text('key').notNullable().references('blobs.key').onDelete('CASCADE');
    t.integer('seq').notNullable();
    t.binary('data').notNullable();
    t.primary(['key', 'seq']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('blob_chunks');
  await knex.schema.dropTableIfExists('blobs');
}
