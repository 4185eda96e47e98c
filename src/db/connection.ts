import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import knex, { type Knex } from 'knex';
import type { DatabaseConfig } from '../config';
import { settlesWithin } from './deadline';
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
    pool: {
      min: 0,
      max: options.poolSize ?? 10,
      acquireTimeoutMillis: 5000,
      // READ COMMITTED takes no gap locks. Under InnoDB's default (REPEATABLE READ) a claim's
      // SELECT ... FOR UPDATE SKIP LOCKED locks the gap where new jobs go, and an event intake
      // committing its jobs at that moment deadlocks with it (a 503 to the webhook's sender).
      afterCreate(connection: MysqlConnection, done: (err: Error | null, c: unknown) => void) {
        connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', (err) =>
          done(err, connection),
        );
      },
    },
    acquireConnectionTimeout: 5000,
    migrations: { migrationSource },
  });
}

interface SqliteConnection {
  pragma(source: string): unknown;
}

interface MysqlConnection {
  query(sql: string, callback: (err: Error | null) => void): unknown;
}

export function isMysql(db: Database): boolean {
  return db.client.config.client === 'mysql2';
}

/** How long a starting instance waits for another one that is migrating the same database. */
const MIGRATION_LOCK_SECONDS = 60;

/**
 * Applies every pending migration; returns the names it applied. On MySQL, instances started
 * together would race inside knex's own migration lock: the losers fail ("already locked", or
 * "table exists" while knex creates its tables), and two of them can each insert a lock row,
 * which leaves the database refusing every later migration. A named server lock per database
 * lets one instance migrate at a time; the others then find nothing left to apply.
 */
export async function migrateLatest(db: Database): Promise<string[]> {
  if (!isMysql(db)) return runMigrations(db);

  const name = db.raw("CONCAT('herald-migrate-', MD5(DATABASE()))");
  const connection: unknown = await db.client.acquireConnection();
  try {
    const [rows] = (await db
      .raw('SELECT GET_LOCK(?, ?) AS granted', [name, MIGRATION_LOCK_SECONDS])
      .connection(connection)) as [Array<{ granted: number | null }>];
    if (rows[0]?.granted !== 1) {
      throw new Error(`another instance held the migration lock for ${MIGRATION_LOCK_SECONDS} s`);
    }
    try {
      return await runMigrations(db);
    } finally {
      await db.raw('SELECT RELEASE_LOCK(?)', [name]).connection(connection);
    }
  } finally {
    await db.client.releaseConnection(connection);
  }
}

async function runMigrations(db: Database): Promise<string[]> {
  const [, applied] = (await db.migrate.latest()) as [number, string[]];
  return applied;
}

/** Probes come every few seconds; one that waits longer than this has its answer. */
const READY_DEADLINE_MS = 2_000;

/** True when the database answers (within the deadline) and no migration is pending. */
export async function isReady(db: Database, deadlineMs = READY_DEADLINE_MS): Promise<boolean> {
  const pending = db.migrate.list().then(([, waiting]: [unknown[], unknown[]]) => waiting);
  try {
    // A database that does not answer within the deadline is not ready.
    if (!(await settlesWithin(pending, deadlineMs))) return false;
    return (await pending).length === 0;
  } catch {
    return false;
  }
}
