import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import request from 'supertest';
import { newWebhookSecret } from '../../src/config';
import { buildTestApp, TEST_ADMIN_TOKEN, TEST_JWT_SECRET, type TestApp } from '../helpers/app';
import { dialects } from '../helpers/database';
import { waitFor } from '../helpers/wait';
import { directEvent, postWebhook, settled } from '../helpers/webhooks';
import { claims, signHs256 } from '../auth/jwt-fixtures';
import { captureLogs, LEVEL, type CapturedLogs, type LogLine } from './log-capture';

const DEVICE_TOKEN = 'eHk4Zw1:APA91bF' + 'r7T_-'.repeat(30);
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function jwtOf(sub: string): string {
  return signHs256(claims(sub), TEST_JWT_SECRET);
}

function answered(logs: CapturedLogs, reqId: string): LogLine | undefined {
  return logs.lines().find((line) => line.reqId === reqId && line.msg === 'request answered');
}

describe.each(dialects())('request logs on %s', (dialect) => {
  let t: TestApp;
  let logs: CapturedLogs;

  async function start(options: { workers?: boolean } = {}) {
    logs = captureLogs();
    t = await buildTestApp(dialect, {
      ...options,
      logger: logs.logger,
      env: { METRICS_TOKEN },
    });
  }

  afterEach(async () => {
    await t.close();
  });

  it('returns x-request-id on every response, errors included', async () => {
    await start();
    const responses = [
      await request(t.app).get('/healthz'),
      await request(t.app).get('/no/such/path'),
      await request(t.app).get('/metrics'),
      await request(t.app).get('/v1/devices'),
      await request(t.app)
        .post('/v1/devices')
        .set('Authorization', `Bearer ${jwtOf('alice')}`)
        .send({ token: 'has space', platform: 'ios' }),
      await postWebhook(t, directEvent({ userIds: ['alice'] })),
      await postWebhook(t, '{"not json', { contentType: 'application/json' }),
      await request(t.app)
        .post('/v1/webhooks/shop')
        .send('x'.repeat(70 * 1024)),
    ];

    expect(responses.map((res) => res.status)).toEqual([200, 404, 401, 401, 422, 202, 400, 413]);
    const ids = responses.map((res) => String(res.headers['x-request-id']));
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(1)) expect(answered(logs, id)).toBeDefined();
  });

  it('reuses a plain incoming request id and replaces one that is not', async () => {
    await start();
    const reused = await request(t.app).get('/healthz').set('x-request-id', 'lb-7f3a.01:9_x');
    const odd = ['has space', 'x'.repeat(101), '<script>', 'a\\"b'];
    const replaced = await Promise.all(
      odd.map((id) => request(t.app).get('/healthz').set('x-request-id', id)),
    );

    expect(reused.headers['x-request-id']).toBe('lb-7f3a.01:9_x');
    for (const res of replaced) expect(res.headers['x-request-id']).toMatch(UUID);
  });

  it('logs 4xx at info and 5xx as errors, each line under its request id', async () => {
    await start();
    const refused = await request(t.app).get('/v1/devices').set('x-request-id', 'req-401');
    await t.db.schema.dropTable('devices');
    const failed = await request(t.app)
      .get('/v1/devices')
      .set('x-request-id', 'req-500')
      .set('Authorization', `Bearer ${jwtOf('alice')}`);

    expect([refused.status, failed.status]).toEqual([401, 500]);
    const of = (reqId: string) => logs.lines().filter((line) => line.reqId === reqId);
    expect(of('req-401').map((line) => [line.level, line.msg])).toEqual([
      [LEVEL.info, 'request refused'],
      [LEVEL.info, 'request answered'],
    ]);
    expect(of('req-500').map((line) => [line.level, line.msg])).toEqual([
      [LEVEL.error, 'request failed'],
      [LEVEL.error, 'request answered'],
    ]);
    const [failure, answer] = of('req-500');
    expect(failure.err).toMatchObject({ query: 'select devices' });
    expect(failure.err).not.toHaveProperty('sql');
    expect(answer).toMatchObject({ req: { method: 'GET', path: '/v1/devices' } });
    expect(answer.res).toEqual({ statusCode: 500 });
    expect(answer).not.toHaveProperty('err');
  });

  it('writes path, status and response time, and marks a client that left', async () => {
    await start();
    await request(t.app).get('/v1/devices?jwt=x').set('x-request-id', 'timed-1');
    expect(answered(logs, 'timed-1')).toMatchObject({
      level: LEVEL.info,
      req: { method: 'GET', path: '/v1/devices' },
      res: { statusCode: 401 },
      responseTime: expect.any(Number),
    });
    expect(answered(logs, 'timed-1')).not.toHaveProperty('aborted');

    // A webhook whose sender hangs up halfway through its body: no answer reaches anyone.
    const server = createServer(t.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      const arrived = once(server, 'request');
      socket.write(
        'POST /v1/webhooks/shop HTTP/1.1\r\nHost: x\r\nx-request-id: gone-1\r\n' +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type":',
      );
      await arrived;
      socket.destroy();
      const line = await waitFor(() => answered(logs, 'gone-1'), Boolean, {
        what: 'the line of the abandoned request',
      });
      expect(line).toMatchObject({ aborted: true, req: { path: '/v1/webhooks/shop' } });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('makes no logger for a request that writes no line (a webhook at warn)', async () => {
    logs = captureLogs('warn');
    t = await buildTestApp(dialect, { logger: logs.logger });
    const child = jest.spyOn(logs.logger, 'child');
    await request(t.app).get('/healthz').expect(200);
    await postWebhook(t, directEvent({ userIds: ['alice'] })).expect(202);
    expect(child).not.toHaveBeenCalled();

    await request(t.app).get('/v1/devices').set('x-request-id', 'refused-1').expect(401);
    expect(child).toHaveBeenCalledWith({ reqId: 'refused-1' });
    expect(logs.lines()).toEqual([]);
  });

  it('writes successful probes and scrapes at debug only', async () => {
    await start();
    const res = await request(t.app)
      .get('/metrics')
      .set('x-request-id', 'scrape-1')
      .set('Authorization', `Bearer ${METRICS_TOKEN}`);

    expect(res.status).toBe(200);
    expect(answered(logs, 'scrape-1')?.level).toBe(LEVEL.debug);
  });

  it('writes no line for a successful probe at info, and one for a refused scrape', async () => {
    logs = captureLogs('info');
    t = await buildTestApp(dialect, { logger: logs.logger, env: { METRICS_TOKEN } });
    await request(t.app).get('/readyz?full=1').set('x-request-id', 'probe-1').expect(200);
    await request(t.app).get('/metrics').set('x-request-id', 'scrape-2').expect(401);

    expect(answered(logs, 'probe-1')).toBeUndefined();
    expect(answered(logs, 'scrape-2')?.level).toBe(LEVEL.info);
  });

  it('carries the request id of a webhook into the delivery logs of its notification', async () => {
    await start({ workers: true });
    await request(t.app)
      .post('/v1/devices')
      .set('Authorization', `Bearer ${jwtOf('alice')}`)
      .send({ token: DEVICE_TOKEN, platform: 'android' })
      .expect(201);

    const accepted = await postWebhook(t, directEvent({ userIds: ['alice'] })).set(
      'x-request-id',
      'trace-4711',
    );
    expect(accepted.status).toBe(202);
    const id = String(accepted.body.notificationId);
    expect((await settled(t, id)).status).toBe('delivered');
    const delivery = await waitFor(
      () => logs.lines().filter((line) => line.notificationId === id && line.jobId !== undefined),
      (lines) => lines.some((line) => line.msg === 'notification settled'),
      { what: 'the delivery log of the notification' },
    );

    expect(delivery.every((line) => line.reqId === 'trace-4711')).toBe(true);
    expect(delivery.find((line) => line.msg === 'notification settled')).toMatchObject({
      component: 'dispatcher',
      plugin: 'direct',
      status: 'delivered',
    });
    const intake = logs.lines().filter((line) => line.reqId === 'trace-4711');
    expect(intake.map((line) => line.msg)).toEqual(
      expect.arrayContaining(['event accepted', 'request answered']),
    );
  });

  it('never writes a device token, JWT, webhook secret or bearer token whole', async () => {
    await start({ workers: true });
    const jwt = jwtOf('alice');
    const asAlice = (req: request.Test) => req.set('Authorization', `Bearer ${jwt}`);
    await asAlice(request(t.app).post('/v1/devices')).send({
      token: DEVICE_TOKEN,
      platform: 'ios',
    });
    await asAlice(request(t.app).post('/v1/devices')).send({ token: DEVICE_TOKEN, platform: 3 });
    await request(t.app).get('/v1/devices').set('Authorization', `Bearer ${jwt}x`);
    await request(t.app).get(`/v1/devices?token=${DEVICE_TOKEN}&jwt=${jwt}`);
    const accepted = await postWebhook(t, directEvent({ tokens: [DEVICE_TOKEN] }));
    await postWebhook(t, directEvent({ userIds: ['alice'] }), { secret: newWebhookSecret() });
    await settled(t, String(accepted.body.notificationId));
    await request(t.app).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`);
    await request(t.app).get('/metrics').set('Authorization', 'Bearer wrong-metrics-token');
    await request(t.app)
      .get(`/v1/notifications/${String(accepted.body.notificationId)}`)
      .set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`);
    await t.db.schema.dropTable('devices');
    const failed = await asAlice(request(t.app).post('/v1/devices')).send({
      token: DEVICE_TOKEN,
      platform: 'web',
    });

    expect(failed.status).toBe(500);
    const text = logs.text();
    expect(logs.lines().length).toBeGreaterThan(10);
    for (const secret of [
      DEVICE_TOKEN.slice(0, 24),
      jwt.split('.')[1],
      t.webhookSecret.slice(6, 30),
      TEST_ADMIN_TOKEN,
      METRICS_TOKEN,
      'wrong-metrics-token',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toContain('webhook-signature');
    expect(text).not.toMatch(/authorization/i);
  });
});
