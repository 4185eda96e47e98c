import type { Express } from 'express';
import { loadConfig, newWebhookSecret, type Config } from '../../src/config';
import type { Database } from '../../src/db/connection';
import type { DispatcherOptions } from '../../src/delivery/dispatcher';
import { startEmulator, type FcmEmulator } from '../../src/emulator';
import { createLogger, type Logger } from '../../src/logger';
import { buildGateway, type Gateway } from '../../src/gateway';
import type { Metrics } from '../../src/metrics';
import { createTestDatabase, type Dialect, type TestDatabase } from './database';

export const TEST_SOURCE = 'shop';
export const TEST_JWT_SECRET = 'test-jwt-secret-that-is-at-least-32-bytes-long';
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestApp {
  app: Express;
  db: Database;
  metrics: Metrics;
  config: Config;
  gateway: Gateway;
  emulator: FcmEmulator;
  database: TestDatabase;
  /** The secret of `TEST_SOURCE`. */
  webhookSecret: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Extra environment, over the test defaults (JWT_SECRET, ADMIN_TOKEN, WEBHOOK_SECRETS...). */
  env?: Record<string, string | undefined>;
  /** Start delivery workers (default false: most HTTP tests only look at what was stored). */
  workers?: boolean;
  dispatcher?: Partial<DispatcherOptions>;
  leaseMs?: number;
  /** An emulator to send to instead of a fresh one (left running by close). */
  emulator?: FcmEmulator;
  /** A logger to read the lines of (default: Herald's own, at LOG_LEVEL or silent). */
  logger?: Logger;
  /**
   * A database to use instead of a fresh one: close then calls its `drop`. Pass
   * `connectAgain(other.database)` to run a second gateway on another app's database.
   */
  database?: TestDatabase;
}

/**
 * A whole gateway for one test: its own database (SQLite or MariaDB), its own FCM emulator,
 * its own metrics registry. Logs are silent unless LOG_LEVEL is set.
 */
export async function buildTestApp(
  dialect: Dialect,
  options: TestAppOptions = {},
): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase(dialect));
  const emulator = options.emulator ?? (await startEmulator({ port: 0 }));
  const webhookSecret = newWebhookSecret();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    FCM_EMULATOR_HOST: emulator.host,
    FIREBASE_PROJECT_ID: 'demo-herald',
    WEBHOOK_SECRETS: `${TEST_SOURCE}=${webhookSecret}`,
    JWT_SECRET: TEST_JWT_SECRET,
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    ...options.env,
  });
  const logger = options.logger ?? createLogger(config.logLevel);
  const gateway = await buildGateway(config, {
    logger,
    db: database.db,
    workers: options.workers ?? false,
    dispatcher: { pollIntervalMs: 50, ...options.dispatcher },
    leaseMs: options.leaseMs,
    defaultMetrics: false,
  });
  return {
    app: gateway.app,
    db: database.db,
    metrics: gateway.metrics,
    config,
    gateway,
    emulator,
    database,
    webhookSecret,
    async close() {
      await gateway.close(5_000);
      if (!options.emulator) await emulator.close();
      await database.drop();
    },
  };
}
