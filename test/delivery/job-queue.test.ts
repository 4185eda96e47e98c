import pino from 'pino';
import { openDatabase, type Database } from '../../src/db/connection';
import { JobQueue, type Job } from '../../src/db/job-queue';
import { buildGateway, type Gateway } from '../../src/gateway';
import { buildTestApp, type TestApp, type TestAppOptions } from '../helpers/app';
import { dialects } from '../helpers/database';
import { waitFor } from '../helpers/wait';
import {
  addDevices,
  directEvent,
  postWebhook,
  receivedTokens,
  settled,
  storedRows,
} from '../helpers/webhooks';

function token(name: string): string {
  return `fcm-token:${name}:APA91b` + 'q'.repeat(64);
}

describe.each(dialects())('delivery job queue on %s', (dialect) => {
  let closers: Array<() => Promise<void>>;

  async function app(options: TestAppOptions = {}): Promise<TestApp> {
    const built = await buildTestApp(dialect, options);
    closers.push(() => built.close());
    return built;
  }

  /** Another handle on the same database, as another process would have (SQLite: the same). */
  function sameDatabase(t: TestApp): Database {
    if (dialect === 'sqlite') return t.db;
    const db = openDatabase(t.database.config);
    closers.push(() => db.destroy());
    return db;
  }

  async function accept(t: TestApp, event: object): Promise<string> {
    const res = await postWebhook(t, event);
    expect(res.status).toBe(202);
    return res.body.notificationId as string;
  }

  beforeEach(() => {
    closers = [];
  });
  afterEach(async () => {
    for (const close of closers.reverse()) await close();
  });

  it('hands a job whose worker died mid-send to another once its lease ran out', async () => {
    const t = await app({ workers: false, leaseMs: 300 });
    await addDevices(t, 'bob', [token('bob')]);
    const id = await accept(t, directEvent({ userIds: ['bob'] }));
    // A worker in another process claims the job and dies without a word.
    const dead = new JobQueue(sameDatabase(t), 300);
    const [job] = await dead.claim('dead-worker', 10);
    expect(job.notificationId).toBe(id);
    expect(await dead.claim('dead-worker', 10)).toEqual([]);

    t.gateway.dispatcher.start();
    const view = await settled(t, id);

    expect(view).toMatchObject({
      status: 'delivered',
      counts: { targeted: 1, sent: 1, failed: 0, pruned: 0 },
    });
    expect(receivedTokens(t)).toEqual([token('bob')]);
    expect(await storedRows(t)).toEqual({ notifications: 1, jobs: 0 });
  });

  it('resumes a job from the last page its dead worker recorded', async () => {
    const t = await app({ workers: false, leaseMs: 300, dispatcher: { pageSize: 2 } });
    const all = ['a', 'b', 'c', 'd', 'e'].map(token);
    const id = await accept(t, directEvent({ tokens: all }));
    const dead = new JobQueue(sameDatabase(t), 300);
    const [job] = await dead.claim('dead-worker', 10);
    // Its first page (two tokens) was sent and recorded before it died.
    await dead.recordProgress(job, 'dead-worker', {
      targeted: 2,
      sent: 2,
      failed: 0,
      pruned: 0,
      cursor: '2',
    });

    t.gateway.dispatcher.start();
    const view = await settled(t, id);

    expect(view).toMatchObject({
      status: 'delivered',
      counts: { targeted: 5, sent: 5, failed: 0, pruned: 0 },
    });
    expect(receivedTokens(t).sort()).toEqual(all.slice(2));
  });

  /** The event's one job, claimed by `slow-worker`, whose lease ran out, then `other-worker`. */
  async function leaseTakenOver(t: TestApp, event: object) {
    await accept(t, event);
    const queue = new JobQueue(t.db, 50);
    const [job] = await queue.claim('slow-worker', 1);
    await waitFor(
      () => queue.reap(),
      (returned) => returned === 1,
      { what: 'the lease to run out' },
    );
    const [again] = await queue.claim('other-worker', 1);
    return { queue, job, again };
  }

  it('refuses progress and finish from a worker that lost its lease', async () => {
    const t = await app({ workers: false, leaseMs: 50 });
    const { queue, job, again } = await leaseTakenOver(t, directEvent({ tokens: [token('a')] }));
    const progress = { targeted: 1, sent: 1, failed: 0, pruned: 0, cursor: '1' };

    expect(again.id).toBe(job.id);
    await expect(queue.recordProgress(job, 'slow-worker', progress)).rejects.toThrow(
      /lost the lease/,
    );
    await expect(queue.finish(job, 'slow-worker')).rejects.toThrow(/lost the lease/);
    await queue.recordProgress(again, 'other-worker', progress);
    expect(await queue.finish(again, 'other-worker')).toBe('delivered');
  });

  it('prunes dead tokens with the progress that counts them, and not for a lost lease', async () => {
    const t = await app({ workers: false, leaseMs: 50 });
    await addDevices(t, 'ann', [token('dead')]);
    const { queue, job, again } = await leaseTakenOver(t, directEvent({ userIds: ['ann'] }));
    const progress = { targeted: 1, sent: 0, failed: 0, pruned: 1, cursor: 'done' };
    const deadTokens = [token('dead')];

    await expect(
      queue.recordProgress(job, 'slow-worker', { ...progress, deadTokens }),
    ).rejects.toThrow(/lost the lease/);
    expect(await t.db('devices').where({ user_id: 'ann' }).count({ n: '*' })).toEqual([{ n: 1 }]);
    await queue.recordProgress(again, 'other-worker', { ...progress, deadTokens });
    expect(await t.db('devices').where({ user_id: 'ann' }).count({ n: '*' })).toEqual([{ n: 0 }]);
    expect(await t.db('notifications').first('pruned')).toEqual({ pruned: 1 });
  });

  it('starts no page once its heartbeat finds the lease taken, and leaves the job', async () => {
    const dispatcher = { pageSize: 5, batchesInFlight: 2 };
    const t = await app({ workers: false, leaseMs: 400, dispatcher });
    const all = Array.from({ length: 40 }, (_, i) => token(`t${i}`));
    const id = await accept(t, directEvent({ tokens: all }));
    t.emulator.setLatency(800);
    const queue = t.gateway.queue;
    const renew = queue.renew.bind(queue);
    let sentWhenLost: number | undefined;
    jest.spyOn(queue, 'renew').mockImplementation(async (jobId, owner) => {
      const held = await renew(jobId, owner);
      if (!held) sentWhenLost ??= t.emulator.received.length;
      return held;
    });

    t.gateway.dispatcher.start();
    // Two pages are with FCM, which answers slowly, when another worker takes the job over.
    await waitFor(
      () => t.emulator.received.length,
      (n) => n >= 10,
      { what: 'two pages in flight' },
    );
    await t
      .db('delivery_jobs')
      .where({ notification_id: id })
      .update({ lease_owner: 'someone-else', lease_expires_at: new Date(Date.now() + 60_000) });
    await waitFor(
      () => t.gateway.dispatcher.activeJobs,
      (n) => n === 0,
      { what: 'the worker to drop the job' },
    );

    // Only the two pages already in flight reached FCM; the other 30 tokens were never sent.
    expect(sentWhenLost).toBe(10);
    expect(t.emulator.received.length).toBe(10);
    const row = await t.db('delivery_jobs').where({ notification_id: id }).first();
    expect(row).toMatchObject({ state: 'leased', lease_owner: 'someone-else' });
  });

  it('never gives one job to two workers claiming at once', async () => {
    const t = await app({ workers: false });
    for (let i = 0; i < 30; i += 1) await accept(t, directEvent({ tokens: [token(`t${i}`)] }));
    const queues = [new JobQueue(t.db, 30_000), new JobQueue(sameDatabase(t), 30_000)];

    const claimed: Job[][] = [[], []];
    const claimAll = async (i: number) => {
      for (;;) {
        const jobs = await queues[i].claim(`worker-${i}`, 2);
        if (jobs.length === 0) return;
        claimed[i].push(...jobs);
      }
    };
    await Promise.all([claimAll(0), claimAll(1), claimAll(0), claimAll(1)]);

    const ids = [...claimed[0], ...claimed[1]].map((job) => job.id);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
  });

  it('sends every message once when two gateways share one database', async () => {
    const dispatcher = { concurrency: 2, pageSize: 4 };
    const t = await app({ workers: false, dispatcher });
    const second: Gateway = await buildGateway(t.config, {
      logger: pino({ level: 'silent' }),
      db: sameDatabase(t),
      workers: false,
      dispatcher: { pollIntervalMs: 20, ...dispatcher },
      defaultMetrics: false,
    });
    closers.push(() => second.close(5_000));
    for (const user of ['u1', 'u2', 'u3']) {
      await addDevices(
        t,
        user,
        [1, 2, 3].map((n) => token(`${user}-${n}`)),
      );
    }
    const ids: string[] = [];
    for (let n = 0; n < 12; n += 1) {
      ids.push(
        await accept(t, directEvent({ userIds: ['u1', 'u2', 'u3'] }, { data: { n: `${n}` } })),
      );
    }

    t.gateway.dispatcher.start();
    second.dispatcher.start();
    const views = await Promise.all(ids.map((id) => settled(t, id)));

    for (const view of views) {
      expect(view).toMatchObject({
        status: 'delivered',
        counts: { targeted: 9, sent: 9, failed: 0, pruned: 0 },
      });
    }
    const pairs = t.emulator.received.map((m) => `${m.token} ${JSON.stringify(m.message.data)}`);
    expect(pairs).toHaveLength(12 * 9);
    expect(new Set(pairs).size).toBe(12 * 9);
  });
});
