import type { Knex } from 'knex';

/**
 * Devices, notifications and their delivery jobs. Times are UTC with millisecond precision.
 * Tokens can be 4 KiB long, so uniqueness rests on their SHA-256.
 */
export async function up(db: Knex): Promise<void> {
  const exact = await exactCollation(db);
  await db.schema.createTable('devices', (table) => {
    exact(table);
    table.string('id', 36).primary();
    table.string('user_id', 255).notNullable();
    table.text('token').notNullable();
    table.specificType('token_hash', 'char(64)').notNullable().unique();
    table.string('platform', 8).notNullable();
    table.datetime('created_at', { precision: 3 }).notNullable();
    table.datetime('updated_at', { precision: 3 }).notNullable();
    // Audiences are read in pages ordered by user, then device.
    table.index(['user_id', 'id'], 'devices_user_id_id');
  });

  await db.schema.createTable('notifications', (table) => {
    exact(table);
    table.string('id', 36).primary();
    table.string('source', 64).notNullable();
    table.string('webhook_id', 255).notNullable();
    table.specificType('body_hash', 'char(64)').notNullable();
    table.string('type', 255).notNullable();
    table.string('plugin', 100).notNullable();
    table.string('status', 16).notNullable();
    table.integer('targeted').notNullable().defaultTo(0);
    table.integer('sent').notNullable().defaultTo(0);
    table.integer('failed').notNullable().defaultTo(0);
    table.integer('pruned').notNullable().defaultTo(0);
    table.string('last_error', 1000).nullable();
    table.string('request_id', 100).nullable();
    table.datetime('created_at', { precision: 3 }).notNullable();
    table.datetime('updated_at', { precision: 3 }).notNullable();
    table.unique(['source', 'webhook_id'], { indexName: 'notifications_source_webhook_id' });
  });

  await db.schema.createTable('delivery_jobs', (table) => {
    exact(table);
    table.bigIncrements('id').primary();
    table.string('notification_id', 36).notNullable();
    table.string('plugin', 100).notNullable();
    table.text('dispatch', 'mediumtext').notNullable();
    table.text('cursor').nullable();
    table.integer('attempt').notNullable().defaultTo(1);
    table.string('state', 8).notNullable();
    table.datetime('run_at', { precision: 3 }).notNullable();
    table.string('lease_owner', 64).nullable();
    table.datetime('lease_expires_at', { precision: 3 }).nullable();
    table.string('request_id', 100).nullable();
    table.datetime('created_at', { precision: 3 }).notNullable();
    table.index(['state', 'run_at'], 'delivery_jobs_state_run_at');
    table.index(['state', 'lease_expires_at'], 'delivery_jobs_state_lease');
    table.index(['notification_id'], 'delivery_jobs_notification_id');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('delivery_jobs');
  await db.schema.dropTable('notifications');
  await db.schema.dropTable('devices');
}

/**
 * User ids, sources and webhook ids are compared byte for byte, as SQLite does. MySQL's default
 * collations ignore case and trailing spaces: "alice" would share the devices of "Alice ", and
 * two webhook ids differing in case would collide as one.
 */
async function exactCollation(db: Knex): Promise<(table: Knex.CreateTableBuilder) => void> {
  if (db.client.config.client !== 'mysql2') return () => undefined;
  const [rows] = (await db.raw('SELECT VERSION() AS version')) as [Array<{ version: string }>];
  const collation = /mariadb/i.test(rows[0].version) ? 'utf8mb4_nopad_bin' : 'utf8mb4_0900_bin';
  return (table) => {
    table.charset('utf8mb4');
    table.collate(collation);
  };
}
