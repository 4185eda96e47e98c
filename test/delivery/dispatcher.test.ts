import path from 'node:path';
import type { Job, NewJob } from '../../src/db/job-queue';
import { readTime } from '../../src/db/time';
import type { RetryPolicy } from '../../src/delivery/backoff';
import type { FcmErrorCode } from '../../src/emulator/fcm-errors';
import { buildTestApp, type TestApp, type TestAppOptions } from '../helpers/app';
import { closedPort } from '../helpers/closed-port';
import { dialects } from '../helpers/database';
import { waitFor } from '../helpers/wait';
import {
  addDevices,
  chatEvent,
  directEvent,
  postWebhook,
  receivedTokens,
  settled,
  storedRows,
  type NotificationView,
} from '../helpers/webhooks';
import { UNCHECKED_SEND } from './fixtures/unchecked-data-plugin';

const UNCHECKED_PLUGIN = path.join(__dirname, 'fixtures', 'unchecked-data-plugin.ts');

/**
 * Retries within milliseconds, so that tests see every attempt without waiting. The UNAVAILABLE
 * floor is cut to match; the QUOTA_EXCEEDED one is not, and the one test that meets it with this
 * policy makes its retries due at once.
 */
const FAST_RETRY: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 10,
  maxDelayMs: 40,
  quotaDelayMs: 60_000,
  unavailableDelayMs: 10,
};

function token(name: string): string {
  return `fcm-token:${name}:APA91b` + 'd'.repeat(64);
}

function tokens(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => token(`${prefix}-${i}`));
}

async function devicesOf(t: TestApp, userId: string): Promise<string[]> {
  const rows = await t.db('devices').where({ user_id: userId }).select('token');
  return rows.map((row: { token: string }) => row.token).sort();
}

/** What API.md §6 promises of the counts, checked against what FCM actually accepted. */
function expectCountsToMatchEmulator(t: TestApp, view: NotificationView): void {
  const { targeted, sent, failed, pruned } = view.counts;
  expect(sent + failed + pruned).toBe(targeted);
  expect(sent).toBe(t.emulator.stats().accepted);
}

describe.each(dialects())('dispatcher on %s', (dialect) => {
  let closers: Array<() => Promise<void>>;

  async function app(options: TestAppOptions = {}): Promise<TestApp> {
    const built = await buildTestApp(dialect, { workers: true, ...options });
    closers.push(() => built.close());
    return built;
  }

  async function deliver(t: TestApp, event: object): Promise<NotificationView> {
    const res = await postWebhook(t, event);
    expect(res.status).toBe(202);
    return settled(t, res.body.notificationId);
  }

  beforeEach(() => {
    closers = [];
  });
  afterEach(async () => {
    for (const close of closers.reverse()) await close();
  });

  describe('dead tokens', () => {
    it.each<FcmErrorCode>(['UNREGISTERED', 'SENDER_ID_MISMATCH', 'INVALID_ARGUMENT'])(
      'prunes a device whose token FCM answers %s, and never sends to it again',
      async (code) => {
        const t = await app({ dispatcher: { retry: FAST_RETRY } });
        const [alive, dead] = [token('alive'), token('dead')];
        await addDevices(t, 'bob', [alive, dead]);
        t.emulator.failToken(dead, code);

        const first = await deliver(t, chatEvent('bob'));
        const second = await deliver(t, chatEvent('bob', { messagePreview: 'Still there?' }));

        expect(first).toMatchObject({
          status: 'partial',
          counts: { targeted: 2, sent: 1, failed: 0, pruned: 1 },
        });
        expect(first.lastError).toContain(code);
        expect(second).toMatchObject({
          status: 'delivered',
          counts: { targeted: 1, sent: 1, failed: 0, pruned: 0 },
        });
        expect(await devicesOf(t, 'bob')).toEqual([alive]);
        expect(t.emulator.stats().refusedByCode).toEqual({ [code]: 1 });
        expect(receivedTokens(t)).toEqual([alive, alive]);
      },
    );

    it('fails without pruning when FCM refuses the payload as INVALID_ARGUMENT', async () => {
      const t = await app({
        env: { PLUGINS: `direct,${UNCHECKED_PLUGIN}` },
        dispatcher: { retry: FAST_RETRY },
      });
      await addDevices(t, 'bob', [token('bob')]);

      const view = await deliver(t, {
        type: UNCHECKED_SEND,
        data: { userIds: ['bob'], data: { 'gcm.reserved': 'x' } },
      });

      expect(view).toMatchObject({
        status: 'failed',
        counts: { targeted: 1, sent: 0, failed: 1, pruned: 0 },
      });
      expect(view.lastError).toMatch(/^INVALID_ARGUMENT: .*gcm\.reserved/);
      expect(await devicesOf(t, 'bob')).toEqual([token('bob')]);
      expect(t.emulator.stats().refusedByCode).toEqual({ INVALID_ARGUMENT: 1 });
    });
  });

  describe('retries', () => {
    it('ends delivered when a token fails with 503 twice and then succeeds', async () => {
      const t = await app({ dispatcher: { retry: FAST_RETRY } });
      await addDevices(t, 'bob', [token('bob')]);
      t.emulator.failToken(token('bob'), 'UNAVAILABLE', { times: 2 });
      const retries = recordRetries(t);

      const view = await deliver(t, chatEvent('bob'));

      expect(view).toMatchObject({
        status: 'delivered',
        counts: { targeted: 1, sent: 1, failed: 0, pruned: 0 },
      });
      // firebase-admin retried the 503s itself; the dispatcher saw one success.
      expect(t.emulator.stats().refusedByCode).toEqual({ UNAVAILABLE: 2 });
      expect(retries).toEqual([]);
      expect(receivedTokens(t)).toEqual([token('bob')]);
    });

    it('retries only the failed tokens on INTERNAL and on UNAVAILABLE past the SDK', async () => {
      const t = await app({ dispatcher: { retry: FAST_RETRY } });
      const [fine, unavailable, internal] = [token('fine'), token('unavail'), token('internal')];
      await addDevices(t, 'bob', [fine, unavailable, internal]);
      // One send plus the SDK's four retries of a 503 (after the 1 s FCM asks for, not the SDK's
      // own 0-1-2-4 s): only then does the dispatcher see UNAVAILABLE.
      t.emulator.failToken(unavailable, 'UNAVAILABLE', { times: 5, retryAfterSeconds: 1 });
      t.emulator.failToken(internal, 'INTERNAL', { times: 1 });
      const retries = recordRetries(t);

      const view = await deliver(t, chatEvent('bob'));

      expect(view).toMatchObject({
        status: 'delivered',
        counts: { targeted: 3, sent: 3, failed: 0, pruned: 0 },
      });
      expect(retries).toEqual([{ attempt: 2, tokens: [internal, unavailable].sort() }]);
      expect(receivedTokens(t).sort()).toEqual([fine, internal, unavailable].sort());
      expect(t.emulator.stats().refusedByCode).toEqual({ UNAVAILABLE: 5, INTERNAL: 1 });
      expect(await storedRows(t)).toEqual({ notifications: 1, jobs: 0 });
    });

    it('counts what fails past the last attempt as failed: partial if some were sent', async () => {
      const t = await app({ dispatcher: { retry: { ...FAST_RETRY, maxAttempts: 2 } } });
      const [fine, broken] = [token('fine'), token('broken')];
      await addDevices(t, 'bob', [fine, broken]);
      t.emulator.failToken(broken, 'INTERNAL');

      const view = await deliver(t, chatEvent('bob'));

      expect(view).toMatchObject({
        status: 'partial',
        counts: { targeted: 2, sent: 1, failed: 1, pruned: 0 },
      });
      expect(view.lastError).toMatch(/^INTERNAL/);
      expect(t.emulator.stats().refusedByCode).toEqual({ INTERNAL: 2 });
      expect(await devicesOf(t, 'bob')).toEqual([broken, fine].sort());
    });

    it('settles as failed when nothing was sent by the last attempt', async () => {
      const t = await app({ dispatcher: { retry: FAST_RETRY } });
      await addDevices(t, 'bob', [token('bob')]);
      t.emulator.failToken(token('bob'), 'INTERNAL');

      const view = await deliver(t, chatEvent('bob'));

      expect(view).toMatchObject({
        status: 'failed',
        counts: { targeted: 1, sent: 0, failed: 1, pruned: 0 },
      });
      expect(t.emulator.stats().refusedByCode).toEqual({ INTERNAL: FAST_RETRY.maxAttempts });
    });

    it('retries network failures and counts them as failed after the last attempt', async () => {
      const t = await app({
        env: { FCM_EMULATOR_HOST: `127.0.0.1:${await closedPort()}` },
        dispatcher: { retry: { ...FAST_RETRY, maxAttempts: 2 } },
      });
      await addDevices(t, 'bob', [token('bob')]);
      const retries = recordRetries(t);

      const view = await deliver(t, chatEvent('bob'));

      expect(view).toMatchObject({
        status: 'failed',
        counts: { targeted: 1, sent: 0, failed: 1, pruned: 0 },
        lastError: 'NETWORK: still failing after 2 attempts',
      });
      expect(retries).toEqual([{ attempt: 2, tokens: [token('bob')] }]);
    });

    it('schedules the retry after QUOTA_EXCEEDED at least a minute later', async () => {
      const t = await app();
      await addDevices(t, 'bob', [token('bob')]);
      t.emulator.failToken(token('bob'), 'QUOTA_EXCEEDED');
      const before = Date.now();

      const res = await postWebhook(t, chatEvent('bob'));
      const retry = await secondAttempt(t);

      expect(readTime(retry.run_at).getTime()).toBeGreaterThanOrEqual(before + 60_000);
      expect(JSON.parse(retry.dispatch).audience).toEqual({
        kind: 'tokens',
        tokens: [token('bob')],
      });
      const row = await t.db('notifications').where({ id: res.body.notificationId }).first();
      expect(row).toMatchObject({ status: 'sending', targeted: 1, sent: 0, failed: 0 });
      expect(t.emulator.stats().refusedByCode).toEqual({ QUOTA_EXCEEDED: 1 });
    });

    it('waits unavailableDelayMs to retry an UNAVAILABLE that outlasted the SDK', async () => {
      const retry = { ...FAST_RETRY, unavailableDelayMs: 300 };
      const t = await app({ dispatcher: { retry } });
      await addDevices(t, 'bob', [token('bob')]);
      // FCM asks for two minutes, past the SDK's 60 s ceiling: the SDK gives up at once, and the
      // header is lost on the way to the dispatcher.
      t.emulator.failToken(token('bob'), 'UNAVAILABLE', { times: 1, retryAfterSeconds: 120 });
      const retries = recordRetryJobs(t);
      const before = Date.now();

      const view = await deliver(t, chatEvent('bob'));

      expect(view).toMatchObject({
        status: 'delivered',
        counts: { targeted: 1, sent: 1, failed: 0, pruned: 0 },
      });
      expect(t.emulator.stats().refusedByCode).toEqual({ UNAVAILABLE: 1 });
      expect(retries.map((job) => job.attempt)).toEqual([2]);
      const runAt = retries[0]?.runAt?.getTime() ?? 0;
      expect(runAt).toBeGreaterThanOrEqual(before + retry.unavailableDelayMs);
      const [received] = t.emulator.received;
      expect(received?.token).toBe(token('bob'));
      expect(received?.receivedAt).toBeGreaterThanOrEqual(runAt);
    });

    it('schedules the retry after UNAVAILABLE past the SDK at least a minute later', async () => {
      const t = await app();
      await addDevices(t, 'bob', [token('bob')]);
      t.emulator.failToken(token('bob'), 'UNAVAILABLE', { retryAfterSeconds: 120 });
      const before = Date.now();

      const res = await postWebhook(t, chatEvent('bob'));
      const retry = await secondAttempt(t);

      expect(readTime(retry.run_at).getTime()).toBeGreaterThanOrEqual(before + 60_000);
      const row = await t.db('notifications').where({ id: res.body.notificationId }).first();
      expect(row).toMatchObject({ status: 'sending', targeted: 1, sent: 0, failed: 0 });
      expect(t.emulator.stats().refusedByCode).toEqual({ UNAVAILABLE: 1 });
    });
  });

  describe('audiences', () => {
    it('settles as no_targets when the users have no device', async () => {
      const t = await app();

      const view = await deliver(t, chatEvent('nobody'));

      expect(view).toMatchObject({
        status: 'no_targets',
        counts: { targeted: 0, sent: 0, failed: 0, pruned: 0 },
      });
      expect(t.emulator.stats().requests).toBe(0);
    });

    it('sends a token once when it is named and also belongs to a named user', async () => {
      const t = await app();
      const [phone, tablet, bobs, loose] = [
        token('phone'),
        token('tablet'),
        token('bob'),
        token('x'),
      ];
      await addDevices(t, 'alice', [phone, tablet]);
      await addDevices(t, 'bob', [bobs]);

      const view = await deliver(
        t,
        directEvent({ userIds: ['alice', 'bob'], tokens: [phone, loose, bobs, phone] }),
      );

      expect(view).toMatchObject({
        status: 'delivered',
        counts: { targeted: 4, sent: 4, failed: 0, pruned: 0 },
      });
      expect(receivedTokens(t).sort()).toEqual([phone, tablet, bobs, loose].sort());
    });

    it('sends one message to each of 1,200 devices of a user, across pages', async () => {
      const t = await app();
      const crowd = tokens('crowd', 1200);
      await addDevices(t, 'crowd', crowd);

      const view = await deliver(t, directEvent({ userIds: ['crowd'] }));

      expect(view).toMatchObject({
        status: 'delivered',
        counts: { targeted: 1200, sent: 1200, failed: 0, pruned: 0 },
      });
      const received = receivedTokens(t);
      expect(received).toHaveLength(1200);
      expect(new Set(received)).toEqual(new Set(crowd));
    });

    it('delivers a topic and a condition broadcast as one message each', async () => {
      const t = await app();

      const topic = await deliver(t, {
        type: 'topic.broadcast',
        data: { topic: 'news', title: 'Hello', body: 'World' },
      });
      const condition = await deliver(t, {
        type: 'condition.broadcast',
        data: { condition: "'news' in topics && 'de' in topics", title: 'Hallo', body: 'Welt' },
      });

      for (const view of [topic, condition]) {
        expect(view).toMatchObject({
          status: 'delivered',
          counts: { targeted: 1, sent: 1, failed: 0, pruned: 0 },
        });
      }
      expect(t.emulator.received.map((m) => m.topic ?? m.condition)).toEqual([
        'news',
        "'news' in topics && 'de' in topics",
      ]);
    });
  });

  it('keeps status and counts in line with what FCM accepted when many sends fail', async () => {
    const t = await app({ dispatcher: { retry: FAST_RETRY, pageSize: 7 } });
    const all = tokens('many', 40);
    await addDevices(t, 'many', all);
    t.emulator.failShare(0.3, ['INTERNAL', 'UNREGISTERED', 'QUOTA_EXCEEDED'], { seed: 7 });
    // A retry after QUOTA_EXCEEDED would wait a minute: let the retries through at once.
    const queue = t.gateway.queue;
    const record = queue.recordProgress.bind(queue);
    jest
      .spyOn(queue, 'recordProgress')
      .mockImplementation((job, owner, progress) =>
        record(
          job,
          owner,
          progress.retry ? { ...progress, retry: dueNow(progress.retry) } : progress,
        ),
      );

    const view = await deliver(t, directEvent({ userIds: ['many'] }));

    expectCountsToMatchEmulator(t, view);
    expect(view.counts.targeted).toBe(40);
    expect(view.counts.pruned).toBe(40 - (await devicesOf(t, 'many')).length);
    expect(view.counts.pruned).toBe(t.emulator.stats().refusedByCode.UNREGISTERED ?? 0);
    expect(view.status).toBe(view.counts.sent === 40 ? 'delivered' : 'partial');
    expect(new Set(receivedTokens(t)).size).toBe(view.counts.sent);
  });
});

/** Every retry job the dispatcher schedules: its attempt and the tokens it holds. */
function recordRetries(t: TestApp): Array<{ attempt: number; tokens: string[] }> {
  const retries: Array<{ attempt: number; tokens: string[] }> = [];
  const queue = t.gateway.queue;
  const record = queue.recordProgress.bind(queue);
  jest.spyOn(queue, 'recordProgress').mockImplementation((job: Job, owner, progress) => {
    const audience = progress.retry?.dispatch.audience;
    if (progress.retry && audience?.kind === 'tokens') {
      retries.push({ attempt: progress.retry.attempt ?? 1, tokens: [...audience.tokens].sort() });
    }
    return record(job, owner, progress);
  });
  return retries;
}

/** The stored job of the second attempt, once the first has scheduled it. */
async function secondAttempt(t: TestApp): Promise<{ run_at: Date | number; dispatch: string }> {
  const [retry] = await waitFor(
    () => t.db('delivery_jobs').where({ attempt: 2 }),
    (rows) => rows.length === 1,
    { what: 'the retry job' },
  );
  return retry;
}

/** Every retry job the dispatcher schedules, as it was handed to the queue. */
function recordRetryJobs(t: TestApp): NewJob[] {
  const retries: NewJob[] = [];
  const queue = t.gateway.queue;
  const record = queue.recordProgress.bind(queue);
  jest.spyOn(queue, 'recordProgress').mockImplementation((job: Job, owner, progress) => {
    if (progress.retry) retries.push(progress.retry);
    return record(job, owner, progress);
  });
  return retries;
}

function dueNow(retry: NewJob): NewJob {
  return { ...retry, runAt: new Date() };
}
