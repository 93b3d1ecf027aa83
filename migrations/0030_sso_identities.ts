// Single sign-on links a user to the provider's identity (issuer and subject, which OpenID Connect
// says together never change and are never reused), not to the username claim, which providers
// often let their users edit: a link made at the first sign-on is what later sign-ons find.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sso_identities', (t) => {
    t.text('issuer').notNullable();
    t.text('subject').notNullable();
    t.text('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.primary(['issuer', 'subject']);
    t.index(['user_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sso_identities');
}
