/**
 * Runs the FCM emulator on its own:
 *
 *   node dist/src/emulator/cli.js --port 9099 [--host 127.0.0.1] [--no-record] [--quiet]
 *
 * Then point a gateway at it with FCM_EMULATOR_HOST=127.0.0.1:9099.
 */
import { parseArgs } from 'node:util';

import pino from 'pino';

import { startEmulator } from './fcm-emulator';

const USAGE =
  'usage: cli.js [--port 9099] [--host 127.0.0.1] [--no-record] [--quiet] [--latency MS]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '9099' },
      host: { type: 'string', default: '127.0.0.1' },
      'no-record': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      latency: { type: 'string', default: '0' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  const port = Number(values.port);
  const latency = Number(values.latency);
  if (!Number.isInteger(port) || port < 0 || port > 65535 || !(latency >= 0)) {
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = 2;
    return;
  }

  const logger = pino({ base: { service: 'fcm-emulator' } });
  const emulator = await startEmulator({
    port,
    host: values.host,
    record: !values['no-record'],
    latency,
    logger,
    logMessages: !values.quiet,
  });

  const stop = (): void => {
    logger.info({ stats: emulator.stats() }, 'fcm emulator stopping');
    void emulator.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`fcm emulator failed to start: ${String(err)}\n`);
  process.exit(1);
});
