import { COMMIT_DEADLINE_MS } from '../../src/db/group-commit';
import { ensureBuilt } from '../helpers/build-once';
import { killAllChildren, startChildGateway, type ChildGateway } from '../helpers/child-gateway';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
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
  sleep,
  WebhookClient,
  waitFor,
  type Answer,
  type TestEvent,
} from './webhook-client';

const OUTAGE_MS = 10_000;
/** Long enough for the stuck commits to reach their deadlines and the pool to fill. */
const BLACKHOLE_MS = 8_000;
const LEASE_MS = 3000;

interface Sent {
  event: TestEvent;
  answer?: Answer;
  error?: string;
  ms: number;
}

describeWithMysql('a gateway whose database link is cut for ten seconds', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let fcm: CountingEmulator;
  let client: WebhookClient;
  let gateway: ChildGateway;
  const secret = newWebhookSecret();

  beforeAll(async () => {
    await ensureBuilt();
    database = await createTestDatabase('mysql');
    const direct = new URL(database.url);
    proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 3306) });
    fcm = await startCountingEmulator({ minMs: 1, maxMs: 5 });
    client = new WebhookClient(secret);
  }, 200_000);

  // The gateway reaches MariaDB only through the proxy; the test checks it directly.
  beforeEach(async () => {
    const viaProxy = new URL(database.url);
    viaProxy.host = proxy.host;
    gateway = await startChildGateway({
      env: gatewayEnv(secret, {
        DATABASE_URL: viaProxy.toString(),
        FCM_EMULATOR_HOST: fcm.emulator.host,
        HERALD_LEASE_MS: String(LEASE_MS),
      }),
    });
  }, 60_000);

  afterAll(async () => {
    await killAllChildren();
    client?.close();
    await proxy?.close();
    await fcm?.emulator.close();
    await database?.drop();
  });

  async function send(event: TestEvent): Promise<Sent> {
    const started = Date.now();
    try {
      const answer = await client.send(gateway.url, event);
      return { event, answer, ms: Date.now() - started };
    } catch (err) {
      return { event, error: String(err), ms: Date.now() - started };
    }
  }

  async function sendAll(events: TestEvent[], concurrency: number): Promise<Sent[]> {
    const results: Sent[] = [];
    await forEachLimited(events, concurrency, async (event) => {
      results.push(await send(event));
    });
    return results;
  }

  /** Sends events in `lanes` parallel lanes until `until` (or the events) run out. */
  function sendUntil(events: TestEvent[], until: number, lanes: number, pauseMs = 0) {
    const results: Sent[] = [];
    let next = 0;
    const senders = Array.from({ length: lanes }, async () => {
      while (Date.now() < until && next < events.length) {
        const event = events[next];
        next += 1;
        results.push(await send(event));
        if (pauseMs > 0) await sleep(pauseMs);
      }
    });
    return { results, done: Promise.all(senders) };
  }

  it('answers 503 while it lasts, stays up, and delivers every event once the link is back', async () => {
    const [before, during, after] = [makeEvents(200), makeEvents(2000), makeEvents(200)];
    const sentBefore = await sendAll(before, 16);
    expect(sentBefore.map((s) => s.answer?.status)).toEqual(before.map(() => 202));

    proxy.cut('reset');
    const cutEnds = Date.now() + OUTAGE_MS;
    const senders = sendUntil(during, cutEnds, 4, 10);
    const sentDuring = senders.results;
    const probes: Array<{ at: number; ready?: number; healthy?: number }> = [];
    const prober = (async () => {
      while (Date.now() < cutEnds) {
        const at = Date.now();
        const [ready, healthy] = await Promise.all([
          client.get(`${gateway.url}/readyz`).then(
            (a) => a.status,
            () => undefined,
          ),
          client.get(`${gateway.url}/healthz`).then(
            (a) => a.status,
            () => undefined,
          ),
        ]);
        probes.push({ at: at - (cutEnds - OUTAGE_MS), ready, healthy });
        await sleep(250);
      }
    })();
    await Promise.all([senders.done, prober]);
    proxy.restore();

    await waitFor(
      'the gateway to be ready again',
      async () => (await client.get(`${gateway.url}/readyz`)).status === 200,
      30_000,
    );
    const sentAfter = await sendAll(after, 16);

    // Whatever was not accepted during the cut, its sender sends again with the same id.
    const refused = sentDuring.filter((s) => s.answer?.status !== 202).map((s) => s.event);
    const resent = await sendAll(refused, 16);

    // While the link is down: 503 `unavailable` with Retry-After, promptly, and nothing else.
    const answersDuring = sentDuring.map((s) => s.answer?.status ?? s.error);
    const unavailable = sentDuring.filter((s) => s.answer?.status === 503);
    expect(unavailable.length).toBeGreaterThan(0);
    expect(answersDuring.filter((status) => status !== 503 && status !== 202)).toEqual([]);
    for (const { answer } of unavailable) {
      expect(answer?.headers['retry-after']).toMatch(/^\d+$/);
      expect(JSON.parse(answer?.body ?? '{}')).toMatchObject({ error: { code: 'unavailable' } });
    }

    // /readyz says so once the pool has noticed; /healthz and the process stay up throughout.
    const lateProbes = probes.filter((p) => p.at > 1_000);
    expect(lateProbes.length).toBeGreaterThan(10);
    expect(lateProbes.filter((p) => p.ready !== 503)).toEqual([]);
    expect(probes.filter((p) => p.healthy !== 200)).toEqual([]);
    expect(gateway.output()).not.toMatch(/"level":60/);

    expect(sentAfter.map((s) => s.answer?.status)).toEqual(after.map(() => 202));
    expect(resent.filter((s) => s.answer?.status !== 202 && s.answer?.status !== 200)).toEqual([]);

    // Nothing answered 202 that was not committed: each 202 names a stored notification.
    const stored = await notificationsByWebhookId(database.db);
    const accepted = [...sentBefore, ...sentDuring, ...sentAfter, ...resent].filter(
      (s) => s.answer?.status === 202,
    );
    const missing = accepted.filter((s) => {
      const { notificationId } = JSON.parse(s.answer?.body ?? '{}') as { notificationId?: string };
      return stored.get(s.event.id)?.id !== notificationId;
    });
    expect(missing.map((s) => s.event.id)).toEqual([]);

    const everyEvent = [...before, ...sentDuring.map((s) => s.event), ...after];
    await waitFor(
      'every event to be delivered',
      () => fcm.delivered(everyEvent.map((e) => e.token)) === everyEvent.length,
      60_000,
      200,
    );
    await waitFor(
      'the queue to drain',
      async () => (await jobsSnapshot(database.db)).total === 0,
      30_000,
    );
    const statuses = await notificationsByWebhookId(database.db);
    expect([...statuses.values()].filter((n) => n.status !== 'delivered')).toEqual([]);

    console.info(
      `outage: ${sentDuring.length} webhooks during the cut, ${unavailable.length} answered 503 ` +
        `(slowest ${Math.max(...sentDuring.map((s) => s.ms))} ms), ` +
        `${sentDuring.length - unavailable.length} 202; ${probes.length} readiness probes; ` +
        `${everyEvent.length} events delivered, duplicates ${fcm.duplicates().length}`,
    );
    const exit = await gateway.stop('SIGTERM');
    expect(exit.code).toBe(0);
  }, 150_000);

  it('answers 503 within its deadlines when the database stops answering without closing', async () => {
    const [during, after] = [makeEvents(400), makeEvents(50)];
    proxy.cut('blackhole');
    const cutEnds = Date.now() + BLACKHOLE_MS;
    const senders = sendUntil(during, cutEnds, 8);
    const sentDuring = senders.results;
    const readiness: Array<{ at: number; ready?: number; ms: number }> = [];
    const prober = (async () => {
      while (Date.now() < cutEnds) {
        const at = Date.now();
        const ready = await client.get(`${gateway.url}/readyz`).then(
          (a) => a.status,
          () => undefined,
        );
        readiness.push({ at: at - (cutEnds - BLACKHOLE_MS), ready, ms: Date.now() - at });
        await sleep(250);
      }
    })();
    await Promise.all([senders.done, prober]);
    proxy.restore();

    // Every answer came, and came bounded: a commit's deadline, behind at most one other.
    expect(sentDuring.filter((s) => s.error !== undefined)).toEqual([]);
    const unavailable = sentDuring.filter((s) => s.answer?.status === 503);
    expect(unavailable.length).toBeGreaterThan(0);
    expect(sentDuring.filter((s) => ![202, 503].includes(s.answer?.status ?? 0))).toEqual([]);
    expect(Math.max(...sentDuring.map((s) => s.ms))).toBeLessThan(2 * COMMIT_DEADLINE_MS + 2_000);
    for (const { answer } of unavailable) {
      expect(answer?.headers['retry-after']).toMatch(/^\d+$/);
    }
    expect(readiness.filter((p) => p.at > 500 && p.ready !== 503)).toEqual([]);
    expect(Math.max(...readiness.map((p) => p.ms))).toBeLessThan(4_000);

    await waitFor(
      'the gateway to be ready again',
      async () => (await client.get(`${gateway.url}/readyz`)).status === 200,
      30_000,
    );
    const refused = unavailable.map((s) => s.event);
    const resent = await sendAll(refused, 16);
    const sentAfter = await sendAll(after, 16);
    expect(resent.filter((s) => ![200, 202].includes(s.answer?.status ?? 0))).toEqual([]);
    expect(sentAfter.map((s) => s.answer?.status)).toEqual(after.map(() => 202));

    // Nothing answered 202 that was not committed, and every event is delivered once it is.
    const stored = await notificationsByWebhookId(database.db);
    const accepted = [...sentDuring, ...resent, ...sentAfter].filter(
      (s) => s.answer?.status === 202,
    );
    const missing = accepted.filter((s) => {
      const { notificationId } = JSON.parse(s.answer?.body ?? '{}') as { notificationId?: string };
      return stored.get(s.event.id)?.id !== notificationId;
    });
    expect(missing.map((s) => s.event.id)).toEqual([]);
    const everyEvent = [...sentDuring.map((s) => s.event), ...after];
    await waitFor(
      'every event to be delivered',
      () => fcm.delivered(everyEvent.map((e) => e.token)) === everyEvent.length,
      60_000,
      200,
    );

    console.info(
      `blackhole: ${sentDuring.length} webhooks during the cut, ${unavailable.length} answered ` +
        `503 (slowest ${Math.max(...sentDuring.map((s) => s.ms))} ms); readiness probes ` +
        `answered within ${Math.max(...readiness.map((p) => p.ms))} ms`,
    );
    expect((await gateway.stop('SIGTERM')).code).toBe(0);
  }, 150_000);
});
