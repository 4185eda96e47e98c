/**
 * For the knex command line. Herald itself migrates with `npm run migrate` (or on start);
 * both read DATABASE_URL the same way.
 */
import type { Knex } from 'knex';
import { parseDatabaseUrl } from './src/config';
import { migrationSource } from './src/db/migration-source';

const database = parseDatabaseUrl(process.env.DATABASE_URL ?? 'sqlite:./data/herald.sqlite');

const config: Knex.Config =
  database.client === 'better-sqlite3'
    ? {
        client: 'better-sqlite3',
        connection: { filename: database.filename },
        useNullAsDefault: true,
      }
    : { client: 'mysql2', connection: database.url };

config.migrations = { migrationSource };

export default config;
