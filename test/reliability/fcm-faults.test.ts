import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { signatureHeaders } from '../../src/auth/webhook-signature';
import { DevicesRepository } from '../../src/db/devices-repository';
import { FINAL_STATUSES, type NotificationStatus } from '../../src/db/notifications-repository';
import type { RetryPolicy } from '../../src/delivery/backoff';
import type { FcmErrorCode } from '../../src/emulator';
import { buildTestApp, TEST_SOURCE, type TestApp } from '../helpers/app';
import { dialects } from '../helpers/database';
import { waitFor } from './webhook-client';

/**
 * Faster than production so that a run takes seconds. `quotaDelayMs` stands in for the minute
 * API.md §7 asks after QUOTA_EXCEEDED, and `unavailableDelayMs` for the minute after an
 * UNAVAILABLE that outlasted the SDK's own retries (that both defaults are at least 60 s is
 * checked in test/delivery). `maxAttempts` is above the default of 5 because a 30 % failure
 * rate on every attempt would now and then exhaust five attempts for one of ~400 messages; with
 * ten, the chance that any message fails all of them stays below 1 in 10,000 runs.
 */
const RETRY: RetryPolicy = {
  maxAttempts: 10,
  baseDelayMs: 20,
  maxDelayMs: 200,
  quotaDelayMs: 300,
  unavailableDelayMs: 300,
};
const DEAD_CODES: FcmErrorCode[] = ['UNREGISTERED', 'SENDER_ID_MISMATCH', 'INVALID_ARGUMENT'];
const QUOTA_BURST = 40;

interface Plan {
  body: object;
  live: string[];
  dead: string[];
}

type Counts = Record<string, number>;

function counter(values: Array<{ labels: Record<string, string | number>; value: number }>) {
  const counts: Counts = {};
  for (const { labels, value } of values) {
    const key = Object.values(labels).join('/');
    counts[key] = (counts[key] ?? 0) + value;
  }
  return counts;
}

describe.each(dialects())('delivery through FCM faults on %s', (dialect) => {
  let t: TestApp;

  beforeEach(async () => {
    t = await buildTestApp(dialect, {
      workers: true,
      dispatcher: { retry: RETRY, pollIntervalMs: 20 },
    });
  });
  afterEach(async () => {
    await t?.close();
  });

  /** Users with three devices each, and events to them, to raw tokens and to topics. */
  async function plan(): Promise<Plan[]> {
    const run = randomUUID().slice(0, 8);
    const devices = new DevicesRepository(t.db);
    const deadByCode = new Map<string, FcmErrorCode>();
    const plans: Plan[] = [];

    for (let e = 0; e < 20; e += 1) {
      const userIds = [0, 1, 2].map((u) => `user-${run}-${e}-${u}`);
      const tokens: string[] = [];
      for (const userId of userIds) {
        for (let d = 0; d < 3; d += 1) {
          const token = `tok-${userId}-${d}`;
          await devices.register(userId, token, 'android');
          tokens.push(token);
        }
      }
      // Every other event reaches one dead device: each dead token is targeted exactly once.
      const dead = e % 2 === 0 ? [tokens[4]] : [];
      for (const token of dead) deadByCode.set(token, DEAD_CODES[(e / 2) % DEAD_CODES.length]);
      plans.push({
        body: { type: 'notification.send', data: { userIds, title: 'Hi', body: `Users ${e}` } },
        live: tokens.filter((token) => !dead.includes(token)),
        dead,
      });
    }
    for (let e = 0; e < 20; e += 1) {
      const tokens = Array.from({ length: 10 }, (_, i) => `raw-${run}-${e}-${i}`);
      const dead = e % 5 === 0 ? [tokens[7]] : [];
      for (const token of dead) deadByCode.set(token, 'UNREGISTERED');
      plans.push({
        body: { type: 'notification.send', data: { tokens, title: 'Hi', body: `Raw ${e}` } },
        live: tokens.filter((token) => !dead.includes(token)),
        dead,
      });
    }
    for (let e = 0; e < 5; e += 1) {
      const topic = `news-${run}-${e}`;
      plans.push({
        body: { type: 'topic.broadcast', data: { topic, title: 'News', body: `Topic ${e}` } },
        live: [topic],
        dead: [],
      });
    }

    for (const [token, code] of deadByCode) t.emulator.failToken(token, code);
    return plans;
  }

  async function post(body: object): Promise<string> {
    const text = JSON.stringify(body);
    const res = await request(t.app)
      .post(`/v1/webhooks/${TEST_SOURCE}`)
      .set(signatureHeaders(t.webhookSecret, `msg_${randomUUID()}`, text))
      .set('content-type', 'application/json')
      .send(text);
    expect(res.status).toBe(202);
    return res.body.notificationId as string;
  }

  it('delivers every message within the attempt limit, never retries a dead token, and its counts agree with FCM', async () => {
    const plans = await plan();
    // The first sends meet a burst of QUOTA_EXCEEDED, then 30 % of all sends fail with 503 or 500.
    // (A burst later on, when few sends are left, would fall on the retries of the same few
    // messages again and again, and test the emulator's arithmetic rather than the gateway.)
    t.emulator.failNext(QUOTA_BURST, 'QUOTA_EXCEEDED');
    t.emulator.failShare(0.3, ['UNAVAILABLE', 'INTERNAL'], { seed: 7 });
    const ids: string[] = [];
    for (const p of plans) ids.push(await post(p.body));

    await waitFor(
      'every notification to settle',
      async () => {
        const open = await t
          .db('notifications')
          .whereNotIn('status', FINAL_STATUSES)
          .count({ n: '*' });
        return Number(open[0].n) === 0;
      },
      60_000,
      50,
    );

    // Each notification: every live target sent, every dead one pruned, nothing failed.
    const rows = await t.db('notifications').whereIn('id', ids);
    const byId = new Map(rows.map((row) => [row.id as string, row]));
    const expected = plans.map((p, i) => ({
      id: ids[i],
      status: p.dead.length > 0 ? 'partial' : 'delivered',
      counts: [p.live.length + p.dead.length, p.live.length, 0, p.dead.length],
    }));
    const actual = ids.map((id) => {
      const row = byId.get(id);
      return {
        id,
        status: row?.status,
        counts: [row?.targeted, row?.sent, row?.failed, row?.pruned].map(Number),
      };
    });
    expect(actual).toEqual(expected);

    // What FCM saw: each live message accepted exactly once, each dead token refused once.
    const live = plans.flatMap((p) => p.live);
    const accepted = new Map<string, number>();
    for (const m of t.emulator.received) {
      const target = m.token ?? m.topic ?? '';
      accepted.set(target, (accepted.get(target) ?? 0) + 1);
    }
    expect([...accepted.keys()].sort()).toEqual([...live].sort());
    expect([...accepted.values()].every((n) => n === 1)).toBe(true);
    const stats = t.emulator.stats();
    const dead = plans.flatMap((p) => p.dead);
    const deadRefusals = DEAD_CODES.map((code) => stats.refusedByCode[code] ?? 0);
    expect(deadRefusals.reduce((sum, n) => sum + n, 0)).toBe(dead.length);
    expect(await t.db('devices').whereIn('token', dead).count({ n: '*' })).toEqual([{ n: 0 }]);

    // The metrics tell the same story as the emulator and the notifications table.
    const messages = counter((await t.metrics.fcmMessages.get()).values);
    const sum = (outcome: string, code = '') =>
      Object.entries(messages)
        .filter(([key]) => key.endsWith(`/${outcome}/${code}`))
        .reduce((total, [, n]) => total + n, 0);
    expect(sum('success')).toBe(stats.accepted);
    expect(stats.accepted).toBe(live.length);
    for (const code of DEAD_CODES) {
      expect(sum('failure', code)).toBe(stats.refusedByCode[code] ?? 0);
    }
    const pruned = counter((await t.metrics.tokensPruned.get()).values);
    expect(pruned).toEqual(
      Object.fromEntries(
        DEAD_CODES.filter((code) => stats.refusedByCode[code]).map((code) => [
          code,
          stats.refusedByCode[code],
        ]),
      ),
    );
    // 500 and 429 come back to the dispatcher once each; the SDK itself retries a 503 up to four
    // times before the dispatcher sees it, so the emulator counts more 503s than the metric.
    expect(sum('retry', 'INTERNAL')).toBe(stats.refusedByCode.INTERNAL);
    expect(sum('retry', 'QUOTA_EXCEEDED')).toBe(QUOTA_BURST);
    expect(stats.refusedByCode.QUOTA_EXCEEDED).toBe(QUOTA_BURST);
    expect(sum('retry', 'UNAVAILABLE')).toBeLessThanOrEqual(stats.refusedByCode.UNAVAILABLE);
    for (const code of ['UNAVAILABLE', 'INTERNAL', 'QUOTA_EXCEEDED']) {
      expect(sum('failure', code)).toBe(0);
    }
    const finals = counter((await t.metrics.notifications.get()).values);
    const statuses: Counts = {};
    for (const row of rows) {
      const key = `${row.plugin as string}/${row.status as NotificationStatus}`;
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
    expect(finals).toEqual(statuses);
  }, 90_000);
});
