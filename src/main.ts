/**
 * The process: configuration → database → plugins → app → workers → signals. In local mode it
 * also starts the bundled FCM emulator and prints the development secrets a newcomer needs.
 */
import type { Server } from 'node:http';
import { ConfigError, LOCAL_DEFAULTS, loadConfig, type Config } from './config';
import { startEmulator, type FcmEmulator } from './emulator';
import { buildGateway } from './gateway';
import { createLogger, type Logger } from './logger';
import { PluginError } from './plugins/registry';

/** Where local mode's emulator listens, so the README's commands can name it. */
export const LOCAL_EMULATOR_PORT = 9099;
/** How long SIGTERM waits for in-flight deliveries before handing their jobs back. */
const SHUTDOWN_GRACE_MS = 15_000;

/**
 * Internal knobs for test/reliability, which runs real processes and cannot wait out production
 * timings: a delivery job's lease and the SIGTERM grace, in milliseconds. Not part of API.md.
 */
function internalMs(name: 'HERALD_LEASE_MS' | 'HERALD_SHUTDOWN_GRACE_MS'): number | undefined {
  const raw = process.env[name];
  return raw !== undefined && /^[1-9]\d{0,8}$/.test(raw) ? Number(raw) : undefined;
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`herald: configuration error: ${err.message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel);
  if (config.localDefaults.length > 0) announceLocalMode(config, logger);

  let emulator: FcmEmulator | undefined;
  if (config.fcm.startEmulator) {
    emulator = await startLocalEmulator(logger);
    config = Object.freeze({ ...config, fcm: { ...config.fcm, emulatorHost: emulator.host } });
    logger.warn({ url: emulator.url }, 'LOCAL MODE: FCM messages go to the bundled emulator');
  }

  let gateway;
  try {
    gateway = await buildGateway(config, { logger, leaseMs: internalMs('HERALD_LEASE_MS') });
  } catch (err) {
    if (err instanceof PluginError) {
      logger.fatal({ plugin: err.plugin, code: err.code }, err.message);
      process.exit(1);
    }
    throw err;
  }
  const server: Server = gateway.app.listen(config.port, config.host, () => {
    logger.info({ host: config.host, port: config.port }, 'herald is listening');
  });
  server.on('error', (err) => {
    logger.fatal({ err }, 'cannot listen');
    process.exit(1);
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: no new requests, finishing deliveries');
    server.close();
    server.closeIdleConnections();
    gateway
      .close(internalMs('HERALD_SHUTDOWN_GRACE_MS') ?? SHUTDOWN_GRACE_MS)
      .then(() => emulator?.close())
      .then(() => {
        logger.info({}, 'stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'unclean shutdown');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function announceLocalMode(config: Config, logger: Logger): void {
  logger.warn(
    { defaults: config.localDefaults },
    'LOCAL MODE: development defaults in use; never run like this in production',
  );
  const lines = [
    '',
    '  Herald is running in LOCAL MODE with development secrets:',
    config.localDefaults.includes('WEBHOOK_SECRETS')
      ? `    WEBHOOK_SECRETS=${LOCAL_DEFAULTS.webhookSource}=${LOCAL_DEFAULTS.webhookSecret}`
      : '',
    config.localDefaults.includes('JWT_SECRET') ? `    JWT_SECRET=${LOCAL_DEFAULTS.jwtSecret}` : '',
    config.localDefaults.includes('ADMIN_TOKEN')
      ? `    ADMIN_TOKEN=${LOCAL_DEFAULTS.adminToken}`
      : '',
    '  `npx herald dev-token --user alice` prints a client JWT; `npx herald sign` a signed webhook.',
    '',
  ];
  process.stderr.write(lines.filter((line) => line !== '').join('\n') + '\n\n');
}

async function startLocalEmulator(logger: Logger): Promise<FcmEmulator> {
  const options = {
    host: '127.0.0.1',
    logger: logger.child({ component: 'fcm-emulator' }),
    logMessages: true,
    maxRecorded: 1000,
  };
  try {
    return await startEmulator({ ...options, port: LOCAL_EMULATOR_PORT });
  } catch {
    return startEmulator({ ...options, port: 0 });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`herald: failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
