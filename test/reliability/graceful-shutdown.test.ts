import { randomUUID } from 'node:crypto';
import { tokenHash } from '../../src/db/devices-repository';
import { ensureBuilt } from '../helpers/build-once';
import { killAllChildren, startChildGateway } from '../helpers/child-gateway';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import {
  describeWithMysql,
  jobsSnapshot,
  notificationsByWebhookId,
  startCountingEmulator,
  type CountingEmulator,
} from './harness';
import {
  forEachLimited,
  gatewayEnv,
  makeEvents,
  newWebhookSecret,
  WebhookClient,
  waitFor,
  type TestEvent,
} from './webhook-client';

/** One user with this many devices: a job of many pages that cannot finish within the grace. */
const DEVICES = 4000;
const SMALL_EVENTS = 40;
const GRACE_MS = 1500;

async function registerDevices(database: TestDatabase, userId: string): Promise<string[]> {
  const now = new Date();
  const tokens = Array.from({ length: DEVICES }, (_, i) => `dev-${userId}-${i}`);
  const rows = tokens.map((token) => ({
    id: randomUUID(),
    user_id: userId,
    token,
    token_hash: tokenHash(token),
    platform: 'android',
    created_at: now,
    updated_at: now,
  }));
  for (let start = 0; start < rows.length; start += 1000) {
    await database.db('devices').insert(rows.slice(start, start + 1000));
  }
  return tokens;
}

describeWithMysql('a gateway process stopped with SIGTERM while delivering', () => {
  let database: TestDatabase;
  let fcm: CountingEmulator;
  let client: WebhookClient;
  const secret = newWebhookSecret();

  beforeAll(async () => {
    await ensureBuilt();
    database = await createTestDatabase('mysql');
    // Slow enough that the big job is still sending when the grace runs out.
    fcm = await startCountingEmulator({ minMs: 300, maxMs: 500 });
    client = new WebhookClient(secret);
  }, 200_000);

  afterAll(async () => {
    await killAllChildren();
    client?.close();
    await fcm?.emulator.close();
    await database?.drop();
  });

  it('finishes or hands back every job it held, leaves no lease behind, and exits 0', async () => {
    const userId = `crowd-${randomUUID().slice(0, 8)}`;
    const crowd = await registerDevices(database, userId);
    const env = gatewayEnv(secret, {
      DATABASE_URL: database.url,
      FCM_EMULATOR_HOST: fcm.emulator.host,
      // The production lease (30 s): a job left leased would sit there long after the exit.
      HERALD_SHUTDOWN_GRACE_MS: String(GRACE_MS),
    });
    const first = await startChildGateway({ name: 'gateway-1', env });

    const big: TestEvent = {
      id: `crowd-${userId}`,
      token: crowd[0],
      body: JSON.stringify({
        type: 'notification.send',
        data: { userIds: [userId], title: 'Everyone', body: 'Doors open at nine' },
      }),
    };
    const small = makeEvents(SMALL_EVENTS);
    expect((await client.send(first.url, big)).status).toBe(202);
    await forEachLimited(small, 16, async (event) => {
      expect((await client.send(first.url, event)).status).toBe(202);
    });
    await waitFor('the big job to be sending', () => fcm.delivered(crowd) > 0, 30_000, 20);

    const leasedAtStop = (await jobsSnapshot(database.db)).leased.length;
    const exit = await first.stop('SIGTERM');
    const afterExit = await jobsSnapshot(database.db);
    const deliveredAtExit = fcm.delivered(crowd);

    expect(exit).toEqual({ code: 0, signal: null });
    expect(leasedAtStop).toBeGreaterThan(0);
    // Finished or handed back: no job is left leased to the process that is gone.
    expect(afterExit.leased).toEqual([]);
    // The big job could not finish within the grace: it went back part-done, not lost.
    expect(deliveredAtExit).toBeLessThan(DEVICES);
    expect(afterExit.total).toBeGreaterThan(0);

    const second = await startChildGateway({ name: 'gateway-2', env });
    const everyToken = [...crowd, ...small.map((event) => event.token)];
    await waitFor(
      'every message to be delivered',
      () => fcm.delivered(everyToken) === everyToken.length,
      60_000,
      100,
    );
    await waitFor(
      'the queue to drain',
      async () => (await jobsSnapshot(database.db)).total === 0,
      30_000,
    );

    // A graceful stop hands over at a page boundary: nothing is sent twice.
    const duplicates = fcm.duplicates();
    console.info(
      `shutdown: ${leasedAtStop} jobs leased at SIGTERM, ${deliveredAtExit} of ${DEVICES} ` +
        `messages of the big job sent before exit, ${afterExit.total} jobs handed back; ` +
        `duplicates after the second process finished: ${duplicates.length}`,
    );
    expect(duplicates).toEqual([]);
    const statuses = await notificationsByWebhookId(database.db);
    expect([...statuses.values()].filter((n) => n.status !== 'delivered')).toEqual([]);
    expect((await second.stop('SIGTERM')).code).toBe(0);
  }, 150_000);

  it('hands back jobs whose sends FCM never answers, and still exits 0 within its bound', async () => {
    const events = makeEvents(6);
    const env = gatewayEnv(secret, {
      DATABASE_URL: database.url,
      FCM_EMULATOR_HOST: fcm.emulator.host,
      HERALD_SHUTDOWN_GRACE_MS: String(GRACE_MS),
    });
    // Longer than firebase-admin's 15 s timeout and its retries: only the gateway's bound helps.
    fcm.emulator.setLatency(120_000);
    const first = await startChildGateway({ name: 'hung-fcm', env });
    try {
      for (const event of events) expect((await client.send(first.url, event)).status).toBe(202);
      await waitFor(
        'every job to be leased',
        async () => (await jobsSnapshot(database.db)).leased.length === events.length,
        30_000,
        20,
      );

      const stopping = Date.now();
      const exit = await first.stop('SIGTERM');
      const stopMs = Date.now() - stopping;
      const afterExit = await jobsSnapshot(database.db);

      expect(exit).toEqual({ code: 0, signal: null });
      // The grace, then the dispatcher's 10 s for pages with FCM, and some room for the rest.
      expect(stopMs).toBeLessThan(GRACE_MS + 10_000 + 5_000);
      expect(afterExit.leased).toEqual([]);
      expect(afterExit.total).toBe(events.length);
    } finally {
      fcm.emulator.setLatency(0);
    }

    const second = await startChildGateway({ name: 'after-hung-fcm', env });
    const tokens = events.map((event) => event.token);
    await waitFor('every message to be delivered', () => fcm.delivered(tokens) === 6, 30_000);
    expect((await second.stop('SIGTERM')).code).toBe(0);
  }, 90_000);
});
