import { ensureBuilt } from '../helpers/build-once';
import { killAllChildren, startChildGateway, type ChildGateway } from '../helpers/child-gateway';
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

const EVENTS = 3000;
/** Short, so that the jobs the dead process held come back within the test. */
const LEASE_MS = 3000;

describeWithMysql('a gateway process killed with SIGKILL under load', () => {
  let database: TestDatabase;
  let fcm: CountingEmulator;
  let client: WebhookClient;
  const secret = newWebhookSecret();

  beforeAll(async () => {
    await ensureBuilt();
    database = await createTestDatabase('mysql');
    // A little latency keeps deliveries behind intake, so the kill finds jobs mid-send.
    fcm = await startCountingEmulator({ minMs: 2, maxMs: 15 });
    client = new WebhookClient(secret);
  }, 200_000);

  afterAll(async () => {
    await killAllChildren();
    client?.close();
    await fcm?.emulator.close();
    await database?.drop();
  });

  function start(name: string): Promise<ChildGateway> {
    return startChildGateway({
      name,
      env: gatewayEnv(secret, {
        DATABASE_URL: database.url,
        FCM_EMULATOR_HOST: fcm.emulator.host,
        HERALD_LEASE_MS: String(LEASE_MS),
      }),
    });
  }

  it('delivers every event it answered 202, repeating only jobs that were in flight', async () => {
    const events = makeEvents(EVENTS);
    // Somewhere in the middle of the stream, different on every run; printed to reproduce.
    const killAfter = 400 + Math.floor(Math.random() * (EVENTS - 1200));
    const first = await start('gateway-1');

    const acceptedByFirst: TestEvent[] = [];
    const unanswered: TestEvent[] = [];
    let killedAt = 0;
    await forEachLimited(events, 32, async (event) => {
      try {
        const answer = await client.send(first.url, event);
        if (answer.status === 202) acceptedByFirst.push(event);
        else unanswered.push(event);
      } catch {
        unanswered.push(event);
      }
      if (killedAt === 0 && acceptedByFirst.length >= killAfter) {
        killedAt = Date.now();
        void first.stop('SIGKILL');
      }
    });
    const exit = await first.exited;
    expect(exit.signal).toBe('SIGKILL');

    // The dead process can change nothing now: what it held leased is what was in flight.
    const atKill = await jobsSnapshot(database.db);
    const deliveredAtKill = fcm.delivered(acceptedByFirst.map((e) => e.token));
    expect(atKill.total).toBeGreaterThan(0);

    // Watched from now on, while the restarted process takes the resent events.
    const deadOwners = new Set(atKill.leased.map((job) => job.owner));
    let deadLeasesGoneAt = 0;
    const deadLeasesGone = waitFor(
      'the dead process to hold no lease',
      async () => {
        const now = await jobsSnapshot(database.db);
        deadLeasesGoneAt = Date.now();
        return !now.leased.some((job) => deadOwners.has(job.owner));
      },
      60_000,
      50,
    );

    const second = await start('gateway-2');
    const secondReadyAt = Date.now();
    // A sender that got no answer retries with the same webhook-id: 202, or 200 if it was stored.
    const retried: Record<number, number> = {};
    await forEachLimited(unanswered, 32, async (event) => {
      const answer = await client.send(second.url, event);
      retried[answer.status] = (retried[answer.status] ?? 0) + 1;
    });
    expect(Object.keys(retried).every((status) => status === '200' || status === '202')).toBe(true);

    await deadLeasesGone;
    await waitFor(
      'every event to reach the emulator',
      () => fcm.delivered(events.map((e) => e.token)) === EVENTS,
      90_000,
      200,
    );
    await waitFor(
      'the queue to drain',
      async () => (await jobsSnapshot(database.db)).total === 0,
      30_000,
    );
    const duplicates = fcm.duplicates();

    console.info(
      `crash: killed after ${acceptedByFirst.length} accepted (target ${killAfter}), ` +
        `${deliveredAtKill} of them delivered at the kill, ${atKill.total} jobs left, ` +
        `${atKill.leased.length} leased; retried ${unanswered.length} unanswered ` +
        `(${JSON.stringify(retried)}); duplicates ${duplicates.length}; dead leases gone ` +
        `${deadLeasesGoneAt - killedAt} ms after the kill (second ready after ` +
        `${secondReadyAt - killedAt} ms)`,
    );

    // The promise itself: every 202 of the killed process was delivered.
    const lost = acceptedByFirst.filter((event) => !fcm.deliveries.has(event.token));
    expect(lost).toEqual([]);

    // Repeats come only from jobs the dead process held leased, at most one per such job.
    const byWebhookId = await notificationsByWebhookId(database.db);
    const inFlight = new Set(atKill.leased.map((job) => job.notificationId));
    const tokenToEvent = new Map(events.map((event) => [event.token, event]));
    const unexpected = duplicates.filter((token) => {
      const event = tokenToEvent.get(token) as TestEvent;
      return !inFlight.has(byWebhookId.get(event.id)?.id ?? '');
    });
    if (unexpected.length > 0) {
      throw new Error(`repeated without being in flight: ${unexpected}\n${second.output()}`);
    }
    expect(duplicates.every((token) => fcm.deliveries.get(token) === 2)).toBe(true);

    expect([...byWebhookId.values()].every((n) => n.status === 'delivered')).toBe(true);
    expect(byWebhookId.size).toBe(EVENTS);

    // No job stayed leased to the dead process much past its lease and one reaper round.
    const leaseRunsOut = Math.max(killedAt + LEASE_MS, secondReadyAt);
    expect(deadLeasesGoneAt).toBeLessThanOrEqual(leaseRunsOut + LEASE_MS / 2 + 3_000);

    await second.stop('SIGTERM');
  }, 150_000);
});
