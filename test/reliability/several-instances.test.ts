import { randomBytes } from 'node:crypto';
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

const INSTANCES = 3;
const SMALL_EVENTS = 1500;
const BIG_EVENTS = 9;
/** More than one page (500) each, so several pages of one job are in flight at once. */
const TOKENS_PER_BIG_EVENT = 1100;

/** Events to many tokens at once: their jobs run long, while small ones come and go. */
function bigEvents(): TestEvent[] {
  const prefix = randomBytes(4).toString('hex');
  return Array.from({ length: BIG_EVENTS }, (_, i) => {
    const tokens = Array.from(
      { length: TOKENS_PER_BIG_EVENT },
      (_, t) => `big-${prefix}-${i}-${t}`,
    );
    const body = JSON.stringify({
      type: 'notification.send',
      data: { tokens, title: 'Sale', body: `Wave ${i}` },
    });
    return { id: `big-${prefix}-${i}`, token: tokens[0], body };
  });
}

function tokensOf(event: TestEvent): string[] {
  return (JSON.parse(event.body) as { data: { tokens: string[] } }).data.tokens;
}

async function successCount(client: WebhookClient, gateway: ChildGateway): Promise<number> {
  const { body } = await client.get(`${gateway.url}/metrics`);
  let total = 0;
  for (const match of body.matchAll(
    /^herald_fcm_messages_total\{[^}]*outcome="success"[^}]*\} (\d+)/gm,
  )) {
    total += Number(match[1]);
  }
  return total;
}

describeWithMysql('three gateway processes on one database', () => {
  let database: TestDatabase;
  let fcm: CountingEmulator;
  let client: WebhookClient;
  const secret = newWebhookSecret();

  beforeAll(async () => {
    await ensureBuilt();
    // Not migrated: the three processes race to apply the migrations, as a fresh deploy does.
    database = await createTestDatabase('mysql', { migrate: false });
    fcm = await startCountingEmulator({ minMs: 1, maxMs: 8 });
    client = new WebhookClient(secret);
  }, 200_000);

  afterAll(async () => {
    await killAllChildren();
    client?.close();
    await fcm?.emulator.close();
    await database?.drop();
  });

  it('delivers each event exactly once when all three take events and work the queue', async () => {
    const env = gatewayEnv(secret, {
      DATABASE_URL: database.url,
      FCM_EMULATOR_HOST: fcm.emulator.host,
    });
    const gateways = await Promise.all(
      Array.from({ length: INSTANCES }, (_, i) =>
        startChildGateway({ name: `gateway-${i + 1}`, env }),
      ),
    );

    const events = [...bigEvents(), ...makeEvents(SMALL_EVENTS)];
    const statuses: Record<number, number> = {};
    const retried: Record<number, number> = {};
    const failures: string[] = [];
    await forEachLimited(events, 48, async (event, i) => {
      const gateway = gateways[i % INSTANCES];
      try {
        let answer = await client.send(gateway.url, event);
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        // A sender retries a 503 with the same webhook-id (a busy database may refuse one).
        for (let retry = 0; answer.status === 503 && retry < 5; retry += 1) {
          answer = await client.send(gateway.url, event);
          retried[answer.status] = (retried[answer.status] ?? 0) + 1;
        }
      } catch (err) {
        failures.push(`${gateway.name}: ${String(err)}`);
      }
    });
    if (failures.length > 0) {
      throw new Error(
        `${failures.length} requests got no answer, first: ${failures[0]}\n` +
          gateways.map((gateway) => gateway.output()).join('\n'),
      );
    }
    const unavailable = statuses[503] ?? 0;
    expect(statuses).toEqual(
      unavailable > 0
        ? { 202: events.length - unavailable, 503: unavailable }
        : { 202: events.length },
    );
    expect(retried).toEqual(unavailable > 0 ? { 202: unavailable } : {});
    if (unavailable > 0) console.info(gateways.map((gateway) => gateway.output()).join('\n'));

    const tokens = events.flatMap((event) =>
      event.id.startsWith('big-') ? tokensOf(event) : [event.token],
    );
    await waitFor(
      'every message to reach the emulator',
      () => fcm.delivered(tokens) === tokens.length,
      90_000,
      200,
    );
    await waitFor(
      'the queue to drain',
      async () => (await jobsSnapshot(database.db)).total === 0,
      30_000,
    );

    const duplicates = fcm.duplicates();
    const perInstance = await Promise.all(gateways.map((gateway) => successCount(client, gateway)));
    console.info(
      `several instances: ${events.length} events, ${tokens.length} messages, ` +
        `sent per instance ${JSON.stringify(perInstance)}, duplicates ${duplicates.length}`,
    );
    if (duplicates.length > 0) {
      throw new Error(
        `sent more than once: ${duplicates.slice(0, 20).join(', ')}\n` +
          gateways.map((gateway) => gateway.output()).join('\n'),
      );
    }
    expect(fcm.deliveries.size).toBe(tokens.length);
    expect(perInstance.reduce((sum, n) => sum + n, 0)).toBe(tokens.length);
    expect(perInstance.every((n) => n > 0)).toBe(true);

    const notifications = await notificationsByWebhookId(database.db);
    expect(notifications.size).toBe(events.length);
    expect([...notifications.values()].filter((n) => n.status !== 'delivered')).toEqual([]);

    const exits = await Promise.all(gateways.map((gateway) => gateway.stop('SIGTERM')));
    expect(exits.map((exit) => exit.code)).toEqual([0, 0, 0]);
  }, 150_000);
});
