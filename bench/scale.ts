/**
 * Scale: one event to a user audience of a million devices (10,000 users with 100 devices
 * each), delivered end to end by a gateway of its own, whose peak resident memory is read from
 * the kernel (VmHWM) afterwards. The devices are written straight into the database first;
 * seeding is timed apart and left out of the delivery figure.
 */
import { seedDevices, type BenchDatabase } from './bench-database';
import { BENCH_BODY, BENCH_TITLE } from './fixtures';
import { gatewayEnv, postEvent, waitSettled } from './herald-client';
import { startGateway, type EmulatorProcess } from './processes';

/** Users in one event: the `direct` plugin takes at most 10,000. */
const MAX_USERS = 10_000;
const DEVICES_PER_USER = 100;

export interface ScaleResult {
  devices: number;
  users: number;
  seedSeconds: number;
  ms: number;
  messagesPerSecond: number;
  /** VmHWM of the gateway process: its most resident memory over its whole life. */
  peakRssBytes: number;
  /** VmHWM just before the event was posted, for comparison. */
  idleRssBytes: number;
}

export async function runScale(context: {
  database: BenchDatabase;
  emulator: EmulatorProcess;
  devices: number;
  cpuProfileDir?: string;
  log: (line: string) => void;
}): Promise<ScaleResult> {
  const { database, emulator, log } = context;
  const devicesPerUser = Math.max(DEVICES_PER_USER, Math.ceil(context.devices / MAX_USERS));
  const users = Math.ceil(context.devices / devicesPerUser);
  const devices = users * devicesPerUser;

  const seedStarted = Date.now();
  await seedDevices(database.db, { firstUser: 1, users, devicesPerUser, prefix: 'scale' });
  const seedSeconds = (Date.now() - seedStarted) / 1000;
  log(`  seeded ${devices.toLocaleString('en-US')} devices in ${seedSeconds.toFixed(0)} s`);

  const gateway = await startGateway(gatewayEnv(database.url, emulator.host), {
    cpuProfileDir: context.cpuProfileDir,
  });
  try {
    const idleRssBytes = gateway.peakRss();
    const acceptedBefore = await emulator.accepted();
    // Numbers are accepted as user ids and keep 10,000 of them under the 64 KiB body limit.
    const userIds = Array.from({ length: users }, (_, i) => i + 1);
    const started = process.hrtime.bigint();
    const id = await postEvent(gateway.url, {
      type: 'notification.send',
      data: { userIds, title: BENCH_TITLE, body: BENCH_BODY },
    });
    const settled = await waitSettled(database.db, [id], 15 * 60_000, 100);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const peakRssBytes = gateway.peakRss();
    const accepted = (await emulator.accepted()) - acceptedBefore;
    if (settled.sent !== devices || accepted !== devices) {
      throw new Error(`expected ${devices} sent, Herald counted ${settled.sent}, FCM ${accepted}`);
    }
    const messagesPerSecond = (devices * 1000) / ms;
    log(
      `  scale: ${Math.round(messagesPerSecond)} msg/s, ${(ms / 1000).toFixed(1)} s, ` +
        `peak RSS ${Math.round(peakRssBytes / 2 ** 20)} MiB (idle ${Math.round(idleRssBytes / 2 ** 20)} MiB)`,
    );
    return { devices, users, seedSeconds, ms, messagesPerSecond, peakRssBytes, idleRssBytes };
  } finally {
    await gateway.stop();
  }
}
