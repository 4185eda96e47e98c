import request from 'supertest';
import { buildTestApp, TEST_ADMIN_TOKEN, TEST_SOURCE, type TestApp } from '../helpers/app';
import { dialects } from '../helpers/database';
import { addDevices, chatEvent, postWebhook, settled } from '../helpers/webhooks';

const TOKEN = 'fcm-token:APA91b-admin-' + 'a'.repeat(80);

function getAs(t: TestApp, id: string, authorization?: string) {
  const req = request(t.app).get(`/v1/notifications/${id}`);
  return authorization === undefined ? req : req.set('Authorization', authorization);
}

describe.each(dialects())('GET /v1/notifications/:id on %s', (dialect) => {
  let closers: Array<() => Promise<void>>;

  async function app(options: Parameters<typeof buildTestApp>[1] = {}): Promise<TestApp> {
    const built = await buildTestApp(dialect, options);
    closers.push(() => built.close());
    return built;
  }

  async function accepted(t: TestApp): Promise<string> {
    const res = await postWebhook(t, chatEvent('bob'), { id: 'msg_admin' });
    expect(res.status).toBe(202);
    return res.body.notificationId as string;
  }

  beforeEach(() => {
    closers = [];
  });
  afterEach(async () => {
    for (const close of closers.reverse()) await close();
  });

  it('answers 200 with the notification, its counts and no error while it is queued', async () => {
    const t = await app();
    const before = Date.now();
    const id = await accepted(t);

    const res = await getAs(t, id, `Bearer ${TEST_ADMIN_TOKEN}`);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id,
      source: TEST_SOURCE,
      type: 'chat.message.created',
      plugin: 'chat',
      status: 'queued',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      counts: { targeted: 0, sent: 0, failed: 0, pruned: 0 },
      lastError: null,
    });
    expect(new Date(res.body.createdAt).toISOString()).toBe(res.body.createdAt);
    expect(Date.parse(res.body.createdAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(res.body.updatedAt).toBe(res.body.createdAt);
  });

  it('shows the final status and counts once the notification is delivered', async () => {
    const t = await app({ workers: true });
    await addDevices(t, 'bob', [TOKEN]);
    const id = await accepted(t);

    const view = await settled(t, id);

    expect(view).toMatchObject({
      status: 'delivered',
      counts: { targeted: 1, sent: 1, failed: 0, pruned: 0 },
      lastError: null,
    });
    expect(Date.parse(view.updatedAt)).toBeGreaterThanOrEqual(Date.parse(view.createdAt));
  });

  it('answers 401 unauthorized to a missing, wrong or malformed admin token', async () => {
    const t = await app();
    const id = await accepted(t);

    for (const authorization of [
      undefined,
      'Bearer wrong-token',
      `Bearer ${TEST_ADMIN_TOKEN}x`,
      `Basic ${TEST_ADMIN_TOKEN}`,
      TEST_ADMIN_TOKEN,
    ]) {
      const res = await getAs(t, id, authorization);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
      expect(JSON.stringify(res.body)).not.toContain(TEST_ADMIN_TOKEN);
    }
  });

  it('answers 404 not_found to an unknown id', async () => {
    const t = await app();

    for (const id of ['00000000-0000-4000-8000-000000000000', 'x'.repeat(300)]) {
      const res = await getAs(t, id, `Bearer ${TEST_ADMIN_TOKEN}`);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
  });

  it('answers 404 to every admin path, token or not, when ADMIN_TOKEN is unset', async () => {
    const t = await app({ env: { ADMIN_TOKEN: undefined } });
    const id = await accepted(t);

    for (const authorization of [undefined, `Bearer ${TEST_ADMIN_TOKEN}`]) {
      const res = await getAs(t, id, authorization);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
  });
});
