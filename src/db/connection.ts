import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import knex, { type Knex } from 'knex';
import type { DatabaseConfig } from '../config';
import { migrationSource } from './migration-source';

export type Database = Knex;

/**
 * Opens the database. SQLite is the embedded default: one connection (better-sqlite3 is
 * synchronous, so one connection is also the fastest), WAL so readers never wait for the
 * writer. MySQL keeps every time in UTC.
 */
export function openDatabase(
  config: DatabaseConfig,
  options: { poolSize?: number } = {},
): Database {
  if (config.client === 'better-sqlite3') {
    if (config.filename !== ':memory:') mkdirSync(dirname(config.filename), { recursive: true });
    return knex({
      client: 'better-sqlite3',
      connection: { filename: config.filename },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate(connection: SqliteConnection, done: (err: Error | null) => void) {
          connection.pragma('journal_mode = WAL');
          connection.pragma('synchronous = NORMAL');
          connection.pragma('busy_timeout = 5000');
          connection.pragma('foreign_keys = ON');
          done(null);
        },
      },
      migrations: { migrationSource },
    });
  }
  return knex({
    client: 'mysql2',
    connection: {
      uri: config.url,
      timezone: 'Z',
      supportBigNumbers: true,
      connectTimeout: 5000,
    } as Knex.MySql2ConnectionConfig,
    pool: { min: 0, max: options.poolSize ?? 10, acquireTimeoutMillis: 5000 },
    acquireConnectionTimeout: 5000,
    migrations: { migrationSource },
  });
}

interface SqliteConnection {
  pragma(source: string): unknown;
}

export function isMysql(db: Database): boolean {
  return db.client.config.client === 'mysql2';
}

/** Applies every pending migration; returns the names it applied. */
export async function migrateLatest(db: Database): Promise<string[]> {
  const [, applied] = (await db.migrate.latest()) as [number, string[]];
  return applied;
}

/** True when the database answers and no migration is pending. */
export async function isReady(db: Database): Promise<boolean> {
  try {
    const [, pending] = (await db.migrate.list()) as [unknown[], unknown[]];
    return pending.length === 0;
  } catch {
    return false;
  }
}
