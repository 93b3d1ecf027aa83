// Every migration, in order. Names are recorded in knex_migrations; never rename or reorder them.
import type { Knex } from 'knex';
import * as m0001 from './0001_foundation.js';

export interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
};
