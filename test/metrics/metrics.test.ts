import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { newWebhookSecret } from '../../src/config';
import { buildTestApp, TEST_JWT_SECRET, type TestApp } from '../helpers/app';
import { dialects } from '../helpers/database';
import { waitFor } from '../helpers/wait';
import { directEvent, postWebhook } from '../helpers/webhooks';
import { claims, signHs256 } from '../auth/jwt-fixtures';
import { parseExposition, seriesOf, type Exposition } from './prometheus-text';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const token = (name: string) => `${name}:APA91b${'-'.repeat(3)}${name.repeat(20)}`;

function register(t: TestApp, user: string, body: object) {
  return request(t.app)
    .post('/v1/devices')
    .set('Authorization', `Bearer ${signHs256(claims(user), TEST_JWT_SECRET)}`)
    .send(body);
}

async function scrape(t: TestApp): Promise<Exposition> {
  const res = await request(t.app).get('/metrics');
  expect(res.status).toBe(200);
  return parseExposition(res.text);
}

/** Series of other routes than the scrapes themselves, whose count depends on the waiting. */
function withoutScrapes(series: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(series).filter(([labels]) => !labels.includes('route=/metrics')),
  );
}

function total(series: Record<string, number>): number {
  return Object.values(series).reduce((sum, value) => sum + value, 0);
}

describe.each(dialects())('GET /metrics on %s', (dialect) => {
  let t: TestApp;

  afterEach(async () => {
    await t.close();
  });

  it('counts known traffic exactly, by label, once every notification is final', async () => {
    t = await buildTestApp(dialect, {
      workers: true,
      dispatcher: {
        retry: {
          maxAttempts: 2,
          baseDelayMs: 10,
          maxDelayMs: 20,
          quotaDelayMs: 20,
          unavailableDelayMs: 20,
        },
      },
    });
    t.emulator.failToken(token('carol'), 'UNREGISTERED');
    t.emulator.failToken(token('dave'), 'INTERNAL', { times: 1 });
    t.emulator.failToken(token('erin'), 'INTERNAL');

    const statuses = [
      await register(t, 'alice', { token: token('alice'), platform: 'android' }),
      await register(t, 'alice', { token: token('alice'), platform: 'android' }),
      await register(t, 'bob', { token: token('bob'), platform: 'ios' }),
      await register(t, 'carol', { token: token('carol'), platform: 'web' }),
      await register(t, 'dave', { token: token('dave'), platform: 'android' }),
      await register(t, 'erin', { token: token('erin'), platform: 'ios' }),
      await register(t, 'frank', { token: 'x', platform: 'blackberry' }),
      await register(t, 'frank', { token: 'has space', platform: 'ios' }),
    ].map((res) => res.status);
    expect(statuses).toEqual([201, 200, 201, 201, 201, 201, 422, 422]);

    const first = directEvent({ userIds: ['alice', 'bob'] });
    const firstId = `msg_${randomUUID()}`;
    const webhooks = [
      await postWebhook(t, first, { id: firstId }),
      await postWebhook(t, directEvent({ userIds: ['carol'] })),
      await postWebhook(t, {
        type: 'topic.broadcast',
        data: { topic: 'news', title: 'T', body: 'B' },
      }),
      await postWebhook(t, directEvent({ userIds: ['dave'] })),
      await postWebhook(t, directEvent({ userIds: ['erin'] })),
      await postWebhook(t, directEvent({ userIds: ['nobody'] })),
      await postWebhook(t, first, { id: firstId }),
      await postWebhook(t, first, { secret: newWebhookSecret() }),
      await postWebhook(t, first, { source: 'nosuch' }),
      await postWebhook(t, { type: 'no.such.type', data: {} }),
    ].map((res) => res.status);
    expect(webhooks).toEqual([202, 202, 202, 202, 202, 202, 200, 401, 404, 422]);

    await waitFor(
      async () => seriesOf(await scrape(t), 'herald_notifications_total'),
      (series) => total(series) >= 6,
      { what: 'six notifications to reach their final status' },
    );
    const metrics = await scrape(t);

    expect(metrics.problems).toEqual([]);
    expect(seriesOf(metrics, 'herald_webhook_requests_total')).toEqual({
      'source=shop,status=202': 6,
      'source=shop,status=200': 1,
      'source=shop,status=401': 1,
      'source=unknown,status=404': 1,
      'source=shop,status=422': 1,
    });
    expect(seriesOf(metrics, 'herald_notifications_total')).toEqual({
      'plugin=direct,status=delivered': 2,
      'plugin=direct,status=failed': 2,
      'plugin=direct,status=no_targets': 1,
      'plugin=topic,status=delivered': 1,
    });
    expect(seriesOf(metrics, 'herald_fcm_messages_total')).toEqual({
      'plugin=direct,outcome=success,error_code=': 3,
      'plugin=direct,outcome=failure,error_code=UNREGISTERED': 1,
      'plugin=direct,outcome=retry,error_code=INTERNAL': 2,
      'plugin=direct,outcome=failure,error_code=INTERNAL': 1,
      'plugin=topic,outcome=success,error_code=': 1,
    });
    expect(seriesOf(metrics, 'herald_tokens_pruned_total')).toEqual({ 'reason=UNREGISTERED': 1 });
    expect(seriesOf(metrics, 'herald_device_registrations_total')).toEqual({
      'platform=android,outcome=created': 2,
      'platform=android,outcome=updated': 1,
      'platform=ios,outcome=created': 2,
      'platform=web,outcome=created': 1,
      'platform=unknown,outcome=rejected': 1,
      'platform=ios,outcome=rejected': 1,
    });
    expect(seriesOf(metrics, 'herald_queue_jobs')).toEqual({
      'state=ready': 0,
      'state=scheduled': 0,
      'state=leased': 0,
    });

    const sends = seriesOf(metrics, 'herald_fcm_send_duration_seconds_count');
    expect(Object.keys(sends).sort()).toEqual(['plugin=direct', 'plugin=topic']);
    expect(sends['plugin=topic']).toBe(1);
    expect(sends['plugin=direct']).toBeGreaterThanOrEqual(4);
    expect(withoutScrapes(seriesOf(metrics, 'herald_http_request_duration_seconds_count'))).toEqual(
      {
        'method=POST,route=/v1/devices,status=201': 5,
        'method=POST,route=/v1/devices,status=200': 1,
        'method=POST,route=/v1/devices,status=422': 2,
        'method=POST,route=/v1/webhooks/:source,status=202': 6,
        'method=POST,route=/v1/webhooks/:source,status=200': 1,
        'method=POST,route=/v1/webhooks/:source,status=401': 1,
        'method=POST,route=/v1/webhooks/:source,status=404': 1,
        'method=POST,route=/v1/webhooks/:source,status=422': 1,
      },
    );
  });

  it('shows the queue by state while jobs wait', async () => {
    t = await buildTestApp(dialect);
    for (let i = 0; i < 3; i += 1) {
      expect((await postWebhook(t, directEvent({ userIds: [`u${i}`] }))).status).toBe(202);
    }
    await t
      .db('delivery_jobs')
      .where('id', (await t.db('delivery_jobs').min({ id: 'id' }))[0].id)
      .update({ run_at: new Date(Date.now() + 60_000) });

    expect(seriesOf(await scrape(t), 'herald_queue_jobs')).toEqual({
      'state=ready': 2,
      'state=scheduled': 1,
      'state=leased': 0,
    });
  });

  it('labels request durations by route pattern, so label sets stay few however many ids', async () => {
    t = await buildTestApp(dialect);
    const jwt = `Bearer ${signHs256(claims('alice'), TEST_JWT_SECRET)}`;
    const traffic = async (n: number) => {
      for (let i = 0; i < n; i += 1) {
        const id = randomUUID();
        await request(t.app).delete(`/v1/devices/${id}`).set('Authorization', jwt).expect(404);
        await request(t.app).delete(`/v1/devices/${id}`).expect(401);
        await request(t.app).get(`/v1/notifications/${id}`).expect(401);
        await request(t.app).get(`/v1/notifications/${id}`).set('Authorization', 'Bearer x');
        await request(t.app).post(`/v1/webhooks/source-${id}`).send('{}').expect(404);
        await request(t.app).get(`/v1/nothing/${id}`).expect(404);
        await request(t.app).put(`/v1/devices/${id}/${id}`).set('Authorization', jwt).expect(404);
        await request(t.app).propfind(`/v1/devices/${id}`).expect(401);
        await request(t.app).get(`/healthz?cache=${id}`).expect(200);
      }
    };
    const labelSets = async () =>
      Object.keys(
        withoutScrapes(seriesOf(await scrape(t), 'herald_http_request_duration_seconds_count')),
      );

    await traffic(3);
    const few = await labelSets();
    await traffic(12);
    const many = await labelSets();

    expect(many).toEqual(few);
    expect(many.sort()).toEqual(
      [
        'method=DELETE,route=/v1/devices/:id,status=404',
        'method=DELETE,route=/v1/devices/:id,status=401',
        'method=GET,route=/v1/notifications/:id,status=401',
        'method=POST,route=/v1/webhooks/:source,status=404',
        'method=GET,route=unmatched,status=404',
        'method=PUT,route=unmatched,status=404',
        'method=other,route=unmatched,status=401',
        'method=GET,route=/healthz,status=200',
      ].sort(),
    );
  });

  describe('with METRICS_TOKEN', () => {
    it('answers 401 without the bearer token and 200 with it', async () => {
      t = await buildTestApp(dialect, { env: { METRICS_TOKEN } });

      const none = await request(t.app).get('/metrics');
      const wrong = await request(t.app).get('/metrics').set('Authorization', 'Bearer nope');
      const basic = await request(t.app)
        .get('/metrics')
        .set('Authorization', `Basic ${METRICS_TOKEN}`);
      const right = await request(t.app)
        .get('/metrics')
        .set('Authorization', `Bearer ${METRICS_TOKEN}`);

      for (const res of [none, wrong, basic]) {
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('unauthorized');
        expect(res.text).not.toContain('herald_');
      }
      expect(right.status).toBe(200);
      expect(right.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(right.text).toContain('# TYPE herald_webhook_requests_total counter');
    });

    it('is open when METRICS_TOKEN is not set', async () => {
      t = await buildTestApp(dialect);

      expect((await request(t.app).get('/metrics')).status).toBe(200);
    });
  });
});
