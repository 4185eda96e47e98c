import type { Express } from 'express';
import { createApp } from './app';
import type { Config } from './config';
import { migrateLatest, openDatabase, type Database } from './db/connection';
import { DevicesRepository } from './db/devices-repository';
import { EventIntake } from './db/event-intake';
import { JobQueue } from './db/job-queue';
import { Dispatcher, type DispatcherOptions, type MessageSender } from './delivery/dispatcher';
import { createFcmSender, type FcmSender } from './delivery/fcm-sender';
import { memoryRateLimits, redisRateLimits } from './http/rate-limit';
import type { Logger } from './logger';
import { createMetrics, type Metrics } from './metrics';
import { loadPlugins, type PluginRegistry } from './plugins/registry';

export interface Gateway {
  app: Express;
  db: Database;
  metrics: Metrics;
  plugins: PluginRegistry;
  queue: JobQueue;
  dispatcher: Dispatcher;
  /** Stops the workers (letting in-flight jobs finish for up to `graceMs`) and closes it all. */
  close(graceMs?: number): Promise<void>;
}

export interface GatewayOptions {
  logger: Logger;
  /** Run delivery workers in this process (default true). */
  workers?: boolean;
  dispatcher?: Partial<DispatcherOptions>;
  /** How long a claimed job stays leased without a heartbeat. */
  leaseMs?: number;
  /** An FCM sender to use instead of one built from the configuration. */
  sender?: MessageSender & { close?(): Promise<void> };
  defaultMetrics?: boolean;
  /** An open database to use (and leave open) instead of opening DATABASE_URL. */
  db?: Database;
}

/**
 * Wires one gateway from its configuration: database → plugins → app → workers. Nothing
 * listens yet; `main` adds the HTTP server and the signals, tests use the app directly.
 */
export async function buildGateway(config: Config, options: GatewayOptions): Promise<Gateway> {
  const { logger } = options;
  const db = options.db ?? openDatabase(config.database);
  const closers: Array<() => Promise<unknown>> = options.db ? [] : [() => db.destroy()];
  try {
    if (config.migrateOnStart) {
      const applied = await migrateLatest(db);
      if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied');
    }
    const plugins = await loadPlugins(config.plugins, { logger });
    const metrics = createMetrics({ defaultMetrics: options.defaultMetrics });
    const queue = new JobQueue(db, options.leaseMs ?? 30_000);
    metrics.setQueueDepthReader(() => queue.depth());

    const rateLimits = config.rateLimits.redisUrl
      ? await redisRateLimits(config.rateLimits.redisUrl)
      : memoryRateLimits;
    closers.unshift(() => rateLimits.close());

    const sender = options.sender ?? fcmSender(config);
    if (sender.close) closers.unshift(() => (sender.close as () => Promise<void>)());
    const dispatcher = new Dispatcher(
      {
        queue,
        devices: new DevicesRepository(db),
        sender,
        metrics,
        logger: logger.child({ component: 'dispatcher' }),
      },
      options.dispatcher,
    );
    const intake = new EventIntake(db, { onAccepted: () => dispatcher.wake() });
    const app = createApp({ config, db, logger, metrics, plugins, intake, rateLimits });
    if (options.workers !== false) dispatcher.start();

    return {
      app,
      db,
      metrics,
      plugins,
      queue,
      dispatcher,
      async close(graceMs = 10_000) {
        await dispatcher.stop(graceMs);
        for (const close of closers) await close();
      },
    };
  } catch (err) {
    for (const close of closers) await close().catch(() => undefined);
    throw err;
  }
}

function fcmSender(config: Config): FcmSender {
  return createFcmSender({
    projectId: config.fcm.projectId,
    emulatorHost: config.fcm.emulatorHost,
    credentialsFile: config.fcm.credentialsFile,
  });
}
