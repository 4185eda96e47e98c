import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import request from 'supertest';
import { sign, signatureHeaders } from '../../src/auth/webhook-signature';
import { loadConfig, newWebhookSecret } from '../../src/config';
import { startEmulator, type FcmEmulator } from '../../src/emulator';
import { buildGateway, type Gateway } from '../../src/gateway';
import { buildTestApp, TEST_SOURCE, type TestApp, type TestAppOptions } from '../helpers/app';
import { closedPort } from '../helpers/closed-port';
import { dialects } from '../helpers/database';
import {
  addDevices,
  chatEvent,
  directEvent,
  getNotification,
  newWebhookId,
  postWebhook,
  receivedTokens,
  settled,
  storedRows,
} from '../helpers/webhooks';

const TOKEN = 'fcm-token:APA91b-webhooks-' + 'w'.repeat(100);
const KIB = 1024;

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A request as a sender might make it, good or bad: what goes into `send`. */
interface RawRequest {
  source?: string;
  headers: Record<string, string>;
  /** A Buffer when the bytes on the wire are not text, such as a gzip body. */
  body: string | Buffer;
}

function signed(t: TestApp, body: string | Buffer, id = newWebhookId(), timestamp = nowSeconds()) {
  if (typeof body === 'string') return signatureHeaders(t.webhookSecret, id, body, timestamp);
  const ts = String(timestamp);
  const mac = sign(t.webhookSecret, id, ts, body).toString('base64');
  return { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': `v1,${mac}` };
}

function send(t: TestApp, raw: RawRequest) {
  const req = request(t.app)
    .post(`/v1/webhooks/${raw.source ?? TEST_SOURCE}`)
    .set(raw.headers);
  // A string goes out as it is under the Content-Type given; without one supertest would pick
  // one for a string, but sends a Buffer with none.
  if (typeof raw.body === 'string') {
    return 'content-type' in raw.headers ? req.send(raw.body) : req.send(Buffer.from(raw.body));
  }
  // Under a JSON Content-Type supertest would send a Buffer as JSON ({"type":"Buffer",...}).
  return req.serialize((bytes: Buffer) => bytes as unknown as string).send(raw.body);
}

const JSON_TYPE = { 'content-type': 'application/json' };
const GOOD_EVENT = JSON.stringify(directEvent({ userIds: ['alice'] }));
const OVERSIZED = JSON.stringify(
  directEvent({ userIds: ['alice'] }, { body: 'x'.repeat(65 * KIB) }),
);
const GZIP_TYPE = { ...JSON_TYPE, 'content-encoding': 'gzip' };
// Cut off halfway, as a proxy might: the first half decodes, then the stream ends too soon.
const GZIP_GOOD_EVENT = gzipSync(GOOD_EVENT);
const CORRUPT_GZIP = GZIP_GOOD_EVENT.subarray(0, GZIP_GOOD_EVENT.length >> 1);
// Random bytes do not compress, so this stays over 64 KiB as sent and never decodes.
const OVERSIZED_CORRUPT_GZIP = Buffer.concat([CORRUPT_GZIP, randomBytes(65 * KIB)]);

interface RefusedCase {
  name: string;
  status: number;
  code: string;
  request: (t: TestApp) => RawRequest;
}

/** Every way in which API.md §4 refuses a request, in the order its checks run. */
const REFUSED: RefusedCase[] = [
  {
    name: 'an unknown source',
    status: 404,
    code: 'unknown_source',
    request: (t) => ({
      source: 'nobody',
      headers: { ...JSON_TYPE, ...signed(t, GOOD_EVENT) },
      body: GOOD_EVENT,
    }),
  },
  {
    name: 'an unknown source, unsigned and oversized',
    status: 404,
    code: 'unknown_source',
    request: () => ({ source: 'nobody', headers: JSON_TYPE, body: OVERSIZED }),
  },
  {
    name: 'a signed body over 64 KiB',
    status: 413,
    code: 'payload_too_large',
    request: (t) => ({ headers: { ...JSON_TYPE, ...signed(t, OVERSIZED) }, body: OVERSIZED }),
  },
  {
    name: 'an unsigned body over 64 KiB',
    status: 413,
    code: 'payload_too_large',
    request: () => ({ headers: JSON_TYPE, body: OVERSIZED }),
  },
  {
    name: 'an unsigned gzip body that does not decode and is over 64 KiB as sent',
    status: 413,
    code: 'payload_too_large',
    request: () => ({ headers: GZIP_TYPE, body: OVERSIZED_CORRUPT_GZIP }),
  },
  {
    name: 'an unsigned body over 64 KiB with an unsupported Content-Encoding',
    status: 413,
    code: 'payload_too_large',
    request: () => ({ headers: { ...JSON_TYPE, 'content-encoding': 'foo' }, body: OVERSIZED }),
  },
  {
    name: 'an unsigned request',
    status: 401,
    code: 'invalid_signature',
    request: () => ({ headers: JSON_TYPE, body: GOOD_EVENT }),
  },
  {
    name: 'an unsigned request whose body is not JSON',
    status: 401,
    code: 'invalid_signature',
    request: () => ({ headers: { 'content-type': 'text/plain' }, body: '{not json' }),
  },
  {
    name: 'an unsigned request with an unsupported Content-Encoding',
    status: 401,
    code: 'invalid_signature',
    request: () => ({
      headers: { ...JSON_TYPE, 'content-encoding': 'foo' },
      body: GOOD_EVENT,
    }),
  },
  {
    name: 'an unsigned gzip body that does not decode',
    status: 401,
    code: 'invalid_signature',
    request: () => ({ headers: GZIP_TYPE, body: CORRUPT_GZIP }),
  },
  {
    name: 'a gzip body that does not decode, signed over the JSON it was meant to carry',
    status: 401,
    code: 'invalid_signature',
    request: (t) => ({ headers: { ...GZIP_TYPE, ...signed(t, GOOD_EVENT) }, body: CORRUPT_GZIP }),
  },
  {
    name: 'a gzip body that does not decode, with a stale timestamp',
    status: 401,
    code: 'invalid_signature',
    request: (t) => ({
      headers: { ...GZIP_TYPE, ...signed(t, CORRUPT_GZIP, newWebhookId(), nowSeconds() - 301) },
      body: CORRUPT_GZIP,
    }),
  },
  {
    name: 'a request without webhook-signature',
    status: 401,
    code: 'invalid_signature',
    request: (t) => {
      const { 'webhook-signature': _, ...rest } = signed(t, GOOD_EVENT);
      return { headers: { ...JSON_TYPE, ...rest }, body: GOOD_EVENT };
    },
  },
  {
    name: 'a signature header without any v1 signature',
    status: 401,
    code: 'invalid_signature',
    request: (t) => {
      const headers = signed(t, GOOD_EVENT);
      const value = headers['webhook-signature'].slice(3);
      return {
        headers: { ...JSON_TYPE, ...headers, 'webhook-signature': `v2,${value} ${value}` },
        body: GOOD_EVENT,
      };
    },
  },
  {
    name: 'a signature made with another secret',
    status: 401,
    code: 'invalid_signature',
    request: () => ({
      headers: {
        ...JSON_TYPE,
        ...signatureHeaders(newWebhookSecret(), newWebhookId(), GOOD_EVENT),
      },
      body: GOOD_EVENT,
    }),
  },
  {
    name: 'a tampered body',
    status: 401,
    code: 'invalid_signature',
    request: (t) => ({
      headers: { ...JSON_TYPE, ...signed(t, GOOD_EVENT) },
      body: GOOD_EVENT.replace('alice', 'mallory'),
    }),
  },
  {
    name: 'a signature over another webhook-id',
    status: 401,
    code: 'invalid_signature',
    request: (t) => ({
      headers: { ...JSON_TYPE, ...signed(t, GOOD_EVENT), 'webhook-id': newWebhookId() },
      body: GOOD_EVENT,
    }),
  },
  {
    name: 'a timestamp more than 5 minutes old',
    status: 401,
    code: 'invalid_signature',
    request: (t) => ({
      headers: { ...JSON_TYPE, ...signed(t, GOOD_EVENT, newWebhookId(), nowSeconds() - 301) },
      body: GOOD_EVENT,
    }),
  },
  {
    name: 'a timestamp more than 5 minutes ahead',
    status: 401,
    code: 'invalid_signature',
    request: (t) => ({
      headers: { ...JSON_TYPE, ...signed(t, GOOD_EVENT, newWebhookId(), nowSeconds() + 301) },
      body: GOOD_EVENT,
    }),
  },
  {
    name: 'a timestamp in milliseconds',
    status: 401,
    code: 'invalid_signature',
    request: (t) => ({
      headers: { ...JSON_TYPE, ...signed(t, GOOD_EVENT, newWebhookId(), Date.now()) },
      body: GOOD_EVENT,
    }),
  },
  {
    name: 'a webhook-id over 255 characters',
    status: 401,
    code: 'invalid_signature',
    request: (t) => ({
      headers: { ...JSON_TYPE, ...signed(t, GOOD_EVENT, 'm'.repeat(256)) },
      body: GOOD_EVENT,
    }),
  },
  {
    name: 'a text/plain body',
    status: 415,
    code: 'unsupported_media_type',
    request: (t) => ({
      headers: { 'content-type': 'text/plain', ...signed(t, GOOD_EVENT) },
      body: GOOD_EVENT,
    }),
  },
  {
    name: 'a body without Content-Type',
    status: 415,
    code: 'unsupported_media_type',
    request: (t) => ({ headers: signed(t, GOOD_EVENT), body: GOOD_EVENT }),
  },
  {
    name: 'a signed text/plain body that is not JSON either',
    status: 415,
    code: 'unsupported_media_type',
    request: (t) => ({
      headers: { 'content-type': 'text/plain', ...signed(t, '{not json') },
      body: '{not json',
    }),
  },
  {
    name: 'a signed body with an unsupported Content-Encoding',
    status: 415,
    code: 'unsupported_media_type',
    request: (t) => ({
      headers: { ...JSON_TYPE, 'content-encoding': 'foo', ...signed(t, GOOD_EVENT) },
      body: GOOD_EVENT,
    }),
  },
  {
    name: 'a signed gzip body that does not decode',
    status: 400,
    code: 'invalid_json',
    request: (t) => ({ headers: { ...GZIP_TYPE, ...signed(t, CORRUPT_GZIP) }, body: CORRUPT_GZIP }),
  },
  {
    name: 'malformed JSON',
    status: 400,
    code: 'invalid_json',
    request: (t) => ({ headers: { ...JSON_TYPE, ...signed(t, '{"type": ') }, body: '{"type": ' }),
  },
  {
    name: 'an empty body',
    status: 400,
    code: 'invalid_json',
    request: (t) => ({ headers: { ...JSON_TYPE, ...signed(t, '') }, body: '' }),
  },
];

interface InvalidEventCase {
  name: string;
  event: unknown;
  code: string;
  details?: Array<{ path: string; message?: string }>;
}

const INVALID_EVENTS: InvalidEventCase[] = [
  {
    name: 'an unknown event type',
    event: { type: 'order.shipped', data: {} },
    code: 'unknown_event_type',
  },
  {
    name: 'a JSON array',
    event: [GOOD_EVENT],
    code: 'invalid_event',
    details: [{ path: '' }],
  },
  {
    name: 'an event without data',
    event: { type: 'notification.send' },
    code: 'invalid_event',
    details: [{ path: 'data', message: 'is required' }],
  },
  {
    name: 'an event without type',
    event: { data: { userIds: ['alice'], title: 't', body: 'b' } },
    code: 'invalid_event',
    details: [{ path: 'type', message: 'is required' }],
  },
  {
    name: 'data that fails the plugin schema',
    event: { type: 'notification.send', data: { userIds: [true], title: 't', body: 'b' } },
    code: 'invalid_event',
    details: [{ path: 'data.userIds[0]', message: 'must be a string' }],
  },
  {
    name: 'a chat event without recipients',
    event: chatEvent(undefined),
    code: 'invalid_event',
    details: [{ path: 'data' }],
  },
  {
    name: 'a malformed FCM condition',
    event: { type: 'condition.broadcast', data: { condition: "'a' in", title: 't', body: 'b' } },
    code: 'invalid_event',
    details: [{ path: 'data.condition' }],
  },
];

describe.each(dialects())('POST /v1/webhooks/:source on %s', (dialect) => {
  let closers: Array<() => Promise<void>>;

  async function app(options: TestAppOptions = {}): Promise<TestApp> {
    const built = await buildTestApp(dialect, options);
    closers.push(() => built.close());
    return built;
  }

  async function expectNothingStoredOrSent(t: TestApp): Promise<void> {
    expect(await storedRows(t)).toEqual({ notifications: 0, jobs: 0 });
    expect(t.emulator.stats().requests).toBe(0);
  }

  beforeEach(() => {
    closers = [];
  });
  afterEach(async () => {
    for (const close of closers.reverse()) await close();
  });

  describe('accepted events', () => {
    it('stores the event with one job a dispatch and answers 202 queued', async () => {
      const t = await app();
      const res = await postWebhook(t, directEvent({ userIds: ['alice'] }), { id: 'msg_1' });

      expect(res.status).toBe(202);
      expect(res.body).toEqual({ notificationId: expect.any(String), status: 'queued' });
      const row = await t.db('notifications').where({ id: res.body.notificationId }).first();
      expect(row).toMatchObject({
        source: TEST_SOURCE,
        webhook_id: 'msg_1',
        type: 'notification.send',
        plugin: 'direct',
        status: 'queued',
      });
      expect(await storedRows(t)).toEqual({ notifications: 1, jobs: 1 });
    });

    it('delivers a chat event to every device of the recipient', async () => {
      const t = await app({ workers: true });
      await addDevices(t, 'bob', [TOKEN, `${TOKEN}-tablet`]);

      const res = await postWebhook(t, chatEvent('bob'));
      const view = await settled(t, res.body.notificationId);

      expect(view).toMatchObject({
        status: 'delivered',
        counts: { targeted: 2, sent: 2, failed: 0, pruned: 0 },
      });
      expect(receivedTokens(t).sort()).toEqual([TOKEN, `${TOKEN}-tablet`]);
      expect(t.emulator.received[0].message).toMatchObject({
        notification: { title: 'Ada', body: 'See you at eight?' },
        data: { type: 'chat', id: 'conv-1' },
        android: { priority: 'high' },
      });
      expect(await storedRows(t)).toEqual({ notifications: 1, jobs: 0 });
    });

    it('answers a webhook its sender retried 200 with the same id, sending once', async () => {
      const t = await app({ workers: true });
      await addDevices(t, 'bob', [TOKEN]);
      const event = chatEvent('bob');

      const first = await postWebhook(t, event, { id: 'msg_retried' });
      await settled(t, first.body.notificationId);
      const again = await postWebhook(t, event, { id: 'msg_retried' });

      expect(first.status).toBe(202);
      expect(again.status).toBe(200);
      expect(again.body).toEqual({
        notificationId: first.body.notificationId,
        status: 'delivered',
      });
      expect(receivedTokens(t)).toEqual([TOKEN]);
      expect(await storedRows(t)).toEqual({ notifications: 1, jobs: 0 });
    });

    it('answers copies of one webhook sent at once with a 202 and 200s, sending once', async () => {
      const t = await app({ workers: true });
      await addDevices(t, 'bob', [TOKEN]);
      const body = JSON.stringify(chatEvent('bob'));
      const headers = { ...JSON_TYPE, ...signed(t, body, 'msg_copies') };

      const responses = await Promise.all(
        Array.from({ length: 6 }, () => send(t, { headers, body })),
      );
      const ids = new Set(responses.map((res) => res.body.notificationId));
      await settled(t, [...ids][0]);

      expect(responses.map((res) => res.status).sort()).toEqual([200, 200, 200, 200, 200, 202]);
      expect(ids.size).toBe(1);
      expect(receivedTokens(t)).toEqual([TOKEN]);
      expect(await storedRows(t)).toEqual({ notifications: 1, jobs: 0 });
    });

    it('refuses the same webhook-id with another body with 409 idempotency_conflict', async () => {
      const t = await app();
      const event = JSON.stringify(directEvent({ userIds: ['alice'] }));
      const first = await postWebhook(t, event, { id: 'msg_x' });
      const other = await postWebhook(t, directEvent({ userIds: ['bob'] }), { id: 'msg_x' });
      // Idempotency is checked before the event: a reused id with a bad event is still a 409.
      const invalid = await postWebhook(t, { type: 'order.shipped', data: {} }, { id: 'msg_x' });
      // Byte for byte: the same JSON with one more space is another body.
      const spaced = await postWebhook(t, `${event} `, { id: 'msg_x' });
      // ...but the JSON is checked before idempotency.
      const broken = await postWebhook(t, '{"type"', { id: 'msg_x' });

      expect(first.status).toBe(202);
      for (const res of [other, invalid, spaced]) {
        expect(res.status).toBe(409);
        expect(res.body.error.code).toBe('idempotency_conflict');
      }
      expect(broken.status).toBe(400);
      expect(await storedRows(t)).toEqual({ notifications: 1, jobs: 1 });
    });

    it('refuses with 409 every copy but one when two bodies race for one webhook-id', async () => {
      const t = await app();
      const posts = ['alice', 'bob', 'alice', 'bob', 'alice', 'bob'].map((user) =>
        postWebhook(t, directEvent({ userIds: [user] }), { id: 'msg_race' }),
      );
      const responses = await Promise.all(posts);

      const statuses = responses.map((res) => res.status);
      expect(statuses.filter((status) => status === 202)).toHaveLength(1);
      expect(statuses.filter((status) => status === 409)).toHaveLength(3);
      expect(statuses.filter((status) => status === 200)).toHaveLength(2);
      expect(await storedRows(t)).toEqual({ notifications: 1, jobs: 1 });
    });

    it('keeps webhook ids apart per source', async () => {
      const other = newWebhookSecret();
      const t = await app({ env: { WEBHOOK_SECRETS: `shop=${newWebhookSecret()},crm=${other}` } });
      const secrets = { shop: t.config.webhookSecrets.get('shop')?.[0], crm: other };

      const shop = await postWebhook(t, GOOD_EVENT, { id: 'msg_1', secret: secrets.shop });
      const crm = await postWebhook(t, GOOD_EVENT, { id: 'msg_1', source: 'crm', secret: other });

      expect([shop.status, crm.status]).toEqual([202, 202]);
      expect(shop.body.notificationId).not.toBe(crm.body.notificationId);
      expect(await storedRows(t)).toEqual({ notifications: 2, jobs: 2 });
    });

    it('accepts numbers as identifiers and turns them into strings', async () => {
      const t = await app({ workers: true });
      await addDevices(t, '42', [TOKEN]);
      await addDevices(t, '7', [`${TOKEN}-seven`]);

      const chat = await postWebhook(t, chatEvent(42, { conversationId: 9001, senderUserId: 7 }));
      const direct = await postWebhook(t, directEvent({ userIds: [7] }));

      expect((await settled(t, chat.body.notificationId)).status).toBe('delivered');
      expect((await settled(t, direct.body.notificationId)).status).toBe('delivered');
      const byToken = new Map(t.emulator.received.map((m) => [m.token, m.message]));
      expect(byToken.get(TOKEN)).toMatchObject({ data: { type: 'chat', id: '9001' } });
      expect(byToken.get(`${TOKEN}-seven`)).toMatchObject({
        notification: { title: 'Your parcel' },
      });
      expect(t.emulator.received).toHaveLength(2);
    });

    it('settles an event whose plan targets nobody as no_targets, sending nothing', async () => {
      const t = await app({ workers: true });
      await addDevices(t, 'bob', [TOKEN]);

      const res = await postWebhook(t, chatEvent('bob', { senderUserId: 'bob' }));

      expect(res.status).toBe(202);
      expect(await getNotification(t, res.body.notificationId)).toMatchObject({
        status: 'no_targets',
        counts: { targeted: 0, sent: 0, failed: 0, pruned: 0 },
      });
      expect(await storedRows(t)).toEqual({ notifications: 1, jobs: 0 });
      expect(t.emulator.stats().requests).toBe(0);
    });
  });

  describe('signatures', () => {
    it('accepts a header with several signatures when one of them is valid', async () => {
      const t = await app();
      const id = newWebhookId();
      const ts = String(nowSeconds());
      const good = sign(t.webhookSecret, id, ts, GOOD_EVENT).toString('base64');
      const bad = sign(newWebhookSecret(), id, ts, GOOD_EVENT).toString('base64');

      const res = await send(t, {
        headers: {
          ...JSON_TYPE,
          'webhook-id': id,
          'webhook-timestamp': ts,
          'webhook-signature': `v1,${bad} v1a,${good.slice(4)} v1,${good}`,
        },
        body: GOOD_EVENT,
      });

      expect(res.status).toBe(202);
    });

    it('accepts either secret of a source while its secret is rotated', async () => {
      const [old, fresh] = [newWebhookSecret(), newWebhookSecret()];
      const t = await app({ env: { WEBHOOK_SECRETS: `shop=${old},shop=${fresh}` } });

      const withOld = await postWebhook(t, GOOD_EVENT, { secret: old });
      const withFresh = await postWebhook(t, GOOD_EVENT, { secret: fresh });
      const withOther = await postWebhook(t, GOOD_EVENT, { secret: newWebhookSecret() });

      expect([withOld.status, withFresh.status, withOther.status]).toEqual([202, 202, 401]);
      expect(await storedRows(t)).toEqual({ notifications: 2, jobs: 2 });
    });

    it('accepts timestamps a little less than 5 minutes off, either way', async () => {
      const t = await app();

      const late = await postWebhook(t, GOOD_EVENT, { timestamp: nowSeconds() - 290 });
      const early = await postWebhook(t, GOOD_EVENT, { timestamp: nowSeconds() + 290 });

      expect([late.status, early.status]).toEqual([202, 202]);
    });

    it('refuses a signed request replayed with another body, keeping the first event', async () => {
      const t = await app();
      const headers = { ...JSON_TYPE, ...signed(t, GOOD_EVENT, 'msg_replayed') };
      const other = JSON.stringify(directEvent({ userIds: ['mallory'] }));

      const first = await send(t, { headers, body: GOOD_EVENT });
      const replay = await send(t, { headers, body: other });

      expect(first.status).toBe(202);
      expect(replay.status).toBe(401);
      expect(replay.body.error.code).toBe('invalid_signature');
      expect(await storedRows(t)).toEqual({ notifications: 1, jobs: 1 });
    });
  });

  describe('content encoding', () => {
    it('accepts a gzip body whose signature covers the JSON it decodes to', async () => {
      const t = await app();

      const res = await send(t, {
        headers: { ...GZIP_TYPE, ...signed(t, GOOD_EVENT) },
        body: GZIP_GOOD_EVENT,
      });

      expect(res.status).toBe(202);
      expect(await storedRows(t)).toEqual({ notifications: 1, jobs: 1 });
    });

    it('says that a signed body did not decode, without quoting it', async () => {
      const t = await app();
      const body = Buffer.concat([Buffer.from('{"secret":"s3cr3t"}'), CORRUPT_GZIP]);

      const res = await send(t, { headers: { ...GZIP_TYPE, ...signed(t, body) }, body });

      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/Content-Encoding/);
      expect(JSON.stringify(res.body)).not.toContain('s3cr3t');
    });

    it('says why a body that did not decode fails a signature over its payload', async () => {
      const t = await app();

      const res = await send(t, {
        headers: { ...GZIP_TYPE, ...signed(t, GOOD_EVENT) },
        body: CORRUPT_GZIP,
      });

      expect(res.status).toBe(401);
      expect(res.body.error.message).toMatch(/did not decode with its Content-Encoding/);
    });

    it('charges the rate limit of a source only for signed bodies that do not decode', async () => {
      const t = await app({ env: { RATE_LIMIT_WEBHOOKS_PER_MINUTE: '1' } });
      const unsigned = () => send(t, { headers: GZIP_TYPE, body: CORRUPT_GZIP });
      const signedCorrupt = () =>
        send(t, { headers: { ...GZIP_TYPE, ...signed(t, CORRUPT_GZIP) }, body: CORRUPT_GZIP });

      const statuses: number[] = [];
      for (const post of [unsigned, unsigned, signedCorrupt, signedCorrupt, unsigned]) {
        statuses.push((await post()).status);
      }

      expect(statuses).toEqual([401, 401, 400, 429, 401]);
      await expectNothingStoredOrSent(t);
    });
  });

  describe('size', () => {
    it('accepts a body of exactly 64 KiB', async () => {
      const t = await app();
      const event = JSON.stringify(directEvent({ userIds: ['alice'] }));
      const body = event + ' '.repeat(64 * KIB - Buffer.byteLength(event));

      const res = await postWebhook(t, body);

      expect(Buffer.byteLength(body)).toBe(64 * KIB);
      expect(res.status).toBe(202);
    });
  });

  describe('refused requests', () => {
    // A refusal changes nothing, so one gateway serves every case here; each case checks that
    // its own request left the tables and the emulator as they were.
    let t: TestApp;

    beforeAll(async () => {
      t = await buildTestApp(dialect, { workers: true });
    });
    afterAll(async () => {
      await t.close();
    });

    async function expectChangesNothing(run: () => Promise<request.Response>) {
      const rows = await storedRows(t);
      const requests = t.emulator.stats().requests;
      const res = await run();
      expect(await storedRows(t)).toEqual(rows);
      expect(t.emulator.stats().requests).toBe(requests);
      return res;
    }

    it.each(REFUSED.map((c) => [c.name, c] as const))(
      'answers %s with the documented error, storing and sending nothing',
      async (_name, refused) => {
        const res = await expectChangesNothing(() => send(t, refused.request(t)));

        expect(res.status).toBe(refused.status);
        expect(res.body.error.code).toBe(refused.code);
        expect(typeof res.body.error.message).toBe('string');
      },
    );

    it.each(INVALID_EVENTS.map((c) => [c.name, c] as const))(
      'answers %s with 422, storing and sending nothing',
      async (_name, invalid) => {
        const res = await expectChangesNothing(() => postWebhook(t, JSON.stringify(invalid.event)));

        expect(res.status).toBe(422);
        expect(res.body.error.code).toBe(invalid.code);
        if (invalid.details) {
          expect(res.body.error.details).toEqual(
            expect.arrayContaining(invalid.details.map((d) => expect.objectContaining(d))),
          );
        }
      },
    );
  });

  describe('rate limit', () => {
    it('answers 429 with Retry-After once a source spent its minute, to signed ones', async () => {
      const t = await app({ env: { RATE_LIMIT_WEBHOOKS_PER_MINUTE: '2' } });
      const unsigned = () => send(t, { headers: JSON_TYPE, body: GOOD_EVENT });

      // Unsigned requests cost the source nothing of its limit.
      for (let i = 0; i < 3; i += 1) expect((await unsigned()).status).toBe(401);
      const accepted = [await postWebhook(t, GOOD_EVENT), await postWebhook(t, GOOD_EVENT)];
      const limited = await postWebhook(t, GOOD_EVENT);
      const unsignedAfter = await unsigned();
      const oversizedAfter = await send(t, { headers: JSON_TYPE, body: OVERSIZED });

      expect(accepted.map((res) => res.status)).toEqual([202, 202]);
      expect(accepted.map((res) => res.headers['ratelimit'])).toEqual([
        expect.stringMatching(/^"webhooks"; r=1; t=(60|59)$/),
        expect.stringMatching(/^"webhooks"; r=0; t=(60|59)$/),
      ]);
      expect(accepted[0].headers['ratelimit-policy']).toBe('"webhooks"; q=2; w=60');
      expect(limited.status).toBe(429);
      expect(limited.body.error.code).toBe('rate_limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(limited.headers['ratelimit']).toMatch(/^"webhooks"; r=0; t=\d+$/);
      expect(limited.headers['ratelimit-policy']).toBe('"webhooks"; q=2; w=60');
      expect(unsignedAfter.headers).not.toHaveProperty('ratelimit');
      expect(unsignedAfter.status).toBe(401);
      expect(oversizedAfter.status).toBe(413);
      expect(await storedRows(t)).toEqual({ notifications: 2, jobs: 2 });
    });

    it('checks the rate limit before the media type and the JSON', async () => {
      const t = await app({ env: { RATE_LIMIT_WEBHOOKS_PER_MINUTE: '1' } });

      const first = await postWebhook(t, '{not json', { contentType: 'text/plain' });
      const second = await postWebhook(t, '{not json', { contentType: 'text/plain' });

      expect(first.status).toBe(415);
      expect(second.status).toBe(429);
      await expectNothingStoredOrSent(t);
    });
  });

  describe('database down', () => {
    it('answers 503 unavailable with Retry-After when the database pool is gone', async () => {
      const t = await app();
      await t.db.destroy();

      const res = await postWebhook(t, GOOD_EVENT);
      const admin = await request(t.app)
        .get('/v1/notifications/whatever')
        .set('Authorization', `Bearer ${t.config.adminToken}`);

      for (const answer of [res, admin]) {
        expect(answer.status).toBe(503);
        expect(answer.body.error.code).toBe('unavailable');
        expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
      }
    });
  });
});

describe('POST /v1/webhooks/:source with a MySQL server that refuses connections', () => {
  let emulator: FcmEmulator;
  let gateway: Gateway;

  afterEach(async () => {
    await gateway?.close(1_000);
    await emulator?.close();
  });

  it('answers 503 unavailable with Retry-After, and the gateway keeps running', async () => {
    emulator = await startEmulator();
    const secret = newWebhookSecret();
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: `mysql://root@127.0.0.1:${await closedPort()}/herald`,
      MIGRATE_ON_START: 'false',
      FCM_EMULATOR_HOST: emulator.host,
      WEBHOOK_SECRETS: `${TEST_SOURCE}=${secret}`,
      LOG_LEVEL: 'silent',
    });
    gateway = await buildGateway(config, {
      logger: pino({ level: 'silent' }),
      workers: true,
      defaultMetrics: false,
    });

    const post = () =>
      request(gateway.app)
        .post(`/v1/webhooks/${TEST_SOURCE}`)
        .set({ ...JSON_TYPE, ...signatureHeaders(secret, newWebhookId(), GOOD_EVENT) })
        .send(GOOD_EVENT);
    const responses = [await post(), await post()];

    for (const res of responses) {
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('unavailable');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect((await request(gateway.app).get('/healthz')).status).toBe(200);
  });
});
