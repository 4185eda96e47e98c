import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knex from 'knex';
import type { DatabaseConfig } from '../../src/config';
import { migrateLatest, openDatabase, type Database } from '../../src/db/connection';

export type Dialect = 'sqlite' | 'mysql';

/** SQLite always; MariaDB/MySQL too when TEST_MYSQL_URL is set (CI always sets it). */
export function dialects(): Dialect[] {
  return process.env.TEST_MYSQL_URL ? ['sqlite', 'mysql'] : ['sqlite'];
}

export interface TestDatabase {
  dialect: Dialect;
  config: DatabaseConfig;
  /** The DATABASE_URL a child process would use for this database. */
  url: string;
  db: Database;
  /** Closes the connection and drops the database. */
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own for one test (or one describe block). */
export async function createTestDatabase(
  dialect: Dialect,
  options: { migrate?: boolean; poolSize?: number } = {},
): Promise<TestDatabase> {
  const { config, url, cleanup } = dialect === 'sqlite' ? sqliteDatabase() : await mysqlDatabase();
  const db = openDatabase(config, { poolSize: options.poolSize });
  if (options.migrate !== false) await migrateLatest(db);
  return {
    dialect,
    config,
    url,
    db,
    async drop() {
      await db.destroy();
      await cleanup();
    },
  };
}

/**
 * A second, independent connection to a database another test opened, as a second gateway
 * process would have. Its `drop` closes only this connection; the database stays its owner's.
 */
export function connectAgain(database: TestDatabase): TestDatabase {
  const db = openDatabase(database.config);
  return { ...database, db, drop: () => db.destroy() };
}

function sqliteDatabase() {
  const dir = mkdtempSync(join(tmpdir(), 'herald-test-'));
  const filename = join(dir, 'herald.sqlite');
  return {
    config: { client: 'better-sqlite3', filename } as const,
    url: `sqlite:${filename}`,
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function mysqlDatabase() {
  const base = process.env.TEST_MYSQL_URL;
  if (!base) throw new Error('TEST_MYSQL_URL is not set');
  const name = `herald_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = knex({ client: 'mysql2', connection: base, pool: { min: 0, max: 1 } });
  await admin.raw(`CREATE DATABASE \`${name}\``);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    config: { client: 'mysql2', url: url.toString() } as const,
    url: url.toString(),
    cleanup: async () => {
      await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.destroy();
    },
  };
}
