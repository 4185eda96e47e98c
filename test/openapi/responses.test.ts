/**
 * Real responses of a whole gateway, one test per operation, each checked against openapi.yaml.
 * Each test also drives every status the document lists for its operation (but the 500 of a
 * bug), so a documented status that the gateway no longer produces fails here too.
 */
import { randomUUID } from 'node:crypto';
import express from 'express';
import request, { type Response } from 'supertest';
import { signatureHeaders } from '../../src/auth/webhook-signature';
import { loadOpenApiDocument } from '../../src/http/openapi-router';
import { signHs256, claims } from '../auth/jwt-fixtures';
import {
  buildTestApp,
  TEST_ADMIN_TOKEN,
  TEST_JWT_SECRET,
  TEST_SOURCE,
  type TestApp,
} from '../helpers/app';
import { dialects } from '../helpers/database';
import { OpenApiContract, type ObservedResponse } from './openapi-contract';

const contract = new OpenApiContract(loadOpenApiDocument());

/** Statuses no request can provoke without breaking the code itself. */
const UNREACHABLE = ['500'];

const CHAT_EVENT = {
  type: 'chat.message.created',
  data: {
    recipientUserId: 'alice',
    senderName: 'Bob',
    messagePreview: 'Lunch at noon?',
    conversationId: 'c-42',
  },
};

function observed(res: Response): ObservedResponse {
  return {
    method: res.request.method,
    path: new URL(res.request.url).pathname,
    status: res.status,
    headers: res.headers as Record<string, unknown>,
    text: res.text ?? '',
  };
}

/** Checks responses against the document and remembers which statuses it saw. */
class Observer {
  private readonly seen = new Set<string>();

  check(res: Response): Response {
    expect(contract.check(observed(res))).toEqual([]);
    // The document's description promises it on every response.
    expect(res.headers['x-request-id']).toMatch(/^[\w.:-]{1,100}$/);
    this.seen.add(String(res.status));
    return res;
  }

  expectEveryDocumentedStatus(method: string, path: string): void {
    const operation = contract.operations().find((op) => op.method === method && op.path === path);
    const documented = operation?.statuses.filter((status) => !UNREACHABLE.includes(status));

    expect([...this.seen].sort()).toEqual(documented?.sort());
  }
}

interface WebhookOperation {
  requestBody: { content: Record<string, { examples: Record<string, { value: unknown }> }> };
}

/** The request examples the document shows for POST /v1/webhooks/{source}. */
function webhookExamples(): Array<{ value: unknown }> {
  const paths = loadOpenApiDocument().paths as Record<string, { post: WebhookOperation }>;
  const content = paths['/v1/webhooks/{source}'].post.requestBody.content;
  return Object.values(content['application/json'].examples);
}

function bearer(sub: string): string {
  return `Bearer ${signHs256(claims(sub), TEST_JWT_SECRET)}`;
}

describe.each(dialects())('real responses against openapi.yaml on %s', (dialect) => {
  let closers: Array<() => Promise<void>>;

  async function app(env: Record<string, string | undefined> = {}): Promise<TestApp> {
    const built = await buildTestApp(dialect, { env });
    closers.push(() => built.close());
    return built;
  }

  function webhook(t: TestApp, body: string, options: { id?: string; type?: string } = {}) {
    return request(t.app)
      .post(`/v1/webhooks/${TEST_SOURCE}`)
      .set(signatureHeaders(t.webhookSecret, options.id ?? `msg_${randomUUID()}`, body))
      .set('Content-Type', options.type ?? 'application/json')
      .send(body);
  }

  beforeEach(() => {
    closers = [];
  });
  afterEach(async () => {
    for (const close of closers.reverse()) await close();
  });

  it('POST /v1/webhooks/{source} answers every documented status as documented', async () => {
    const t = await app({ RATE_LIMIT_WEBHOOKS_PER_MINUTE: '5' });
    const seen = new Observer();
    const body = JSON.stringify(CHAT_EVENT);
    const id = `msg_${randomUUID()}`;

    expect(seen.check(await webhook(t, body, { id })).status).toBe(202);
    expect(seen.check(await webhook(t, body, { id })).status).toBe(200);
    const other = JSON.stringify({
      ...CHAT_EVENT,
      data: { ...CHAT_EVENT.data, senderName: 'Eve' },
    });
    expect(seen.check(await webhook(t, other, { id })).status).toBe(409);
    const unsigned = request(t.app).post(`/v1/webhooks/${TEST_SOURCE}`).type('json').send(body);
    expect(seen.check(await unsigned).status).toBe(401);
    const unknown = request(t.app).post('/v1/webhooks/nobody').type('json').send(body);
    expect(seen.check(await unknown).status).toBe(404);
    const huge = request(t.app)
      .post(`/v1/webhooks/${TEST_SOURCE}`)
      .type('json')
      .send(JSON.stringify({ ...CHAT_EVENT, padding: 'x'.repeat(70 * 1024) }));
    expect(seen.check(await huge).status).toBe(413);
    expect(seen.check(await webhook(t, body, { type: 'text/plain' })).status).toBe(415);
    // The fifth signed request of the minute; everything after it is over the limit.
    expect(seen.check(await webhook(t, '{"type": ')).status).toBe(400);
    expect(seen.check(await webhook(t, body)).status).toBe(429);

    const events = await app();
    const unknownType = JSON.stringify({ type: 'chat.deleted', data: {} });
    expect(seen.check(await webhook(events, unknownType)).status).toBe(422);
    const invalid = JSON.stringify({ type: 'chat.message.created', data: { senderName: 7 } });
    const refused = seen.check(await webhook(events, invalid));
    expect(refused.body.error.code).toBe('invalid_event');
    expect(refused.body.error.details.length).toBeGreaterThan(0);

    await events.db.destroy();
    expect(seen.check(await webhook(events, body)).status).toBe(503);

    seen.expectEveryDocumentedStatus('POST', '/v1/webhooks/{source}');
  });

  it('accepts every request example of the document with 202', async () => {
    const t = await app();
    const examples = webhookExamples();

    expect(examples.length).toBeGreaterThanOrEqual(4);
    for (const example of examples) {
      const res = await webhook(t, JSON.stringify(example.value));
      expect({ status: res.status, body: res.body }).toEqual({
        status: 202,
        body: expect.objectContaining({ status: 'queued' }),
      });
    }
  });

  it('POST /v1/devices answers every documented status as documented', async () => {
    const t = await app({ RATE_LIMIT_DEVICES_PER_MINUTE: '2' });
    const seen = new Observer();
    const register = (sub: string) =>
      request(t.app).post('/v1/devices').set('Authorization', bearer(sub));
    const device = { token: 'fcm-token-0001', platform: 'android' };

    expect(seen.check(await register('alice').send(device)).status).toBe(201);
    expect(seen.check(await register('alice').send(device)).status).toBe(200);
    expect(seen.check(await register('alice').send(device)).status).toBe(429);
    expect(seen.check(await request(t.app).post('/v1/devices').send(device)).status).toBe(401);
    expect(seen.check(await register('bob').type('json').send('')).status).toBe(400);
    const text = register('bob').type('text/plain').send('fcm-token-0002');
    expect(seen.check(await text).status).toBe(415);
    const huge = register('carol').send({ ...device, token: 'x'.repeat(20_000) });
    expect(seen.check(await huge).status).toBe(413);
    const bad = register('carol').send({ token: 'has spaces', platform: 'symbian' });
    expect(seen.check(await bad).status).toBe(422);

    await t.db.destroy();
    expect(seen.check(await register('dave').send(device)).status).toBe(503);

    seen.expectEveryDocumentedStatus('POST', '/v1/devices');
  });

  it('GET /v1/devices answers every documented status as documented', async () => {
    const t = await app({ RATE_LIMIT_DEVICES_PER_MINUTE: '2' });
    const seen = new Observer();
    const list = (sub: string) =>
      request(t.app).get('/v1/devices').set('Authorization', bearer(sub));
    await request(t.app)
      .post('/v1/devices')
      .set('Authorization', bearer('alice'))
      .send({ token: 'fcm-token-0001', platform: 'ios' });

    const listed = seen.check(await list('alice'));
    expect(listed.status).toBe(200);
    expect(listed.body.devices).toHaveLength(1);
    expect(seen.check(await list('alice')).status).toBe(429);
    expect(seen.check(await request(t.app).get('/v1/devices')).status).toBe(401);

    await t.db.destroy();
    expect(seen.check(await list('bob')).status).toBe(503);

    seen.expectEveryDocumentedStatus('GET', '/v1/devices');
  });

  it('DELETE /v1/devices/{id} answers every documented status as documented', async () => {
    const t = await app({ RATE_LIMIT_DEVICES_PER_MINUTE: '2' });
    const seen = new Observer();
    const remove = (sub: string, id: string) =>
      request(t.app).delete(`/v1/devices/${id}`).set('Authorization', bearer(sub));
    const created = await request(t.app)
      .post('/v1/devices')
      .set('Authorization', bearer('alice'))
      .send({ token: 'fcm-token-0001', platform: 'web' });

    expect(seen.check(await remove('bob', created.body.id)).status).toBe(404);
    expect(seen.check(await remove('alice', created.body.id)).status).toBe(204);
    expect(seen.check(await remove('alice', created.body.id)).status).toBe(429);
    const anonymous = request(t.app).delete(`/v1/devices/${created.body.id}`);
    expect(seen.check(await anonymous).status).toBe(401);

    await t.db.destroy();
    expect(seen.check(await remove('carol', created.body.id)).status).toBe(503);

    seen.expectEveryDocumentedStatus('DELETE', '/v1/devices/{id}');
  });

  it('GET /v1/notifications/{id} answers every documented status as documented', async () => {
    const t = await app();
    const seen = new Observer();
    const get = (id: string, token = TEST_ADMIN_TOKEN) =>
      request(t.app).get(`/v1/notifications/${id}`).set('Authorization', `Bearer ${token}`);
    const accepted = await webhook(t, JSON.stringify(CHAT_EVENT));

    const found = seen.check(await get(accepted.body.notificationId));
    expect(found.status).toBe(200);
    expect(found.body.status).toBe('queued');
    expect(seen.check(await get('no-such-notification')).status).toBe(404);
    expect(seen.check(await get(accepted.body.notificationId, 'wrong-token')).status).toBe(401);

    const disabled = await app({ ADMIN_TOKEN: undefined });
    const hidden = await request(disabled.app).get(
      `/v1/notifications/${accepted.body.notificationId}`,
    );
    expect(seen.check(hidden).status).toBe(404);

    await t.db.destroy();
    expect(seen.check(await get(accepted.body.notificationId)).status).toBe(503);

    seen.expectEveryDocumentedStatus('GET', '/v1/notifications/{id}');
  });

  it('the operations paths answer as documented', async () => {
    const t = await app({ METRICS_TOKEN: 'metrics-token-0123456789' });
    const seen = new Observer();

    expect(seen.check(await request(t.app).get('/healthz')).status).toBe(200);
    seen.expectEveryDocumentedStatus('GET', '/healthz');

    const scrape = request(t.app)
      .get('/metrics')
      .set('Authorization', 'Bearer metrics-token-0123456789');
    const metrics = new Observer();
    expect(metrics.check(await scrape).status).toBe(200);
    expect(metrics.check(await request(t.app).get('/metrics')).status).toBe(401);
    metrics.expectEveryDocumentedStatus('GET', '/metrics');

    const document = new Observer();
    const served = document.check(await request(t.app).get('/openapi.json'));
    expect(served.body).toEqual(loadOpenApiDocument());
    document.expectEveryDocumentedStatus('GET', '/openapi.json');

    const readiness = new Observer();
    expect(readiness.check(await request(t.app).get('/readyz')).status).toBe(200);
    await t.db.destroy();
    expect(readiness.check(await request(t.app).get('/readyz')).status).toBe(503);
    readiness.expectEveryDocumentedStatus('GET', '/readyz');
  });

  it('answers paths and methods the document does not list with its NotFound', async () => {
    const t = await app();
    const seen = new Observer();

    expect(seen.check(await request(t.app).get('/nowhere')).status).toBe(404);
    expect(seen.check(await request(t.app).get(`/v1/webhooks/${TEST_SOURCE}`)).status).toBe(404);
    const put = request(t.app).put('/v1/devices').set('Authorization', bearer('alice'));
    expect(seen.check(await put).status).toBe(404);
    expect(seen.check(await request(t.app).post('/v1/notifications/x')).status).toBe(404);
  });

  it('would fail for a real response that drifted from the document', async () => {
    const t = await app();
    const drifted = express();
    drifted.use((_req, res, next) => {
      const json = res.json.bind(res);
      res.json = (body: unknown) => json({ ...(body as object), retries: 0 });
      next();
    });
    drifted.use(t.app);

    const res = await request(drifted).get('/v1/devices');

    expect(res.status).toBe(401);
    expect(contract.check(observed(res))).toEqual([
      expect.stringContaining('must NOT have additional properties (retries)'),
    ]);
  });
});
