import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { buildTestApp, TEST_JWT_SECRET, type TestApp } from '../helpers/app';
import { dialects } from '../helpers/database';
import {
  claims,
  ecKeyPair,
  hmacToken,
  jwk,
  rsaKeyPair,
  signHs256,
  signWith,
  startJwksServer,
  unsignedToken,
} from '../auth/jwt-fixtures';

const FCM_TOKEN = 'fcm-token:APA91bH' + 'x'.repeat(140);

function bearer(sub: string, extra: Record<string, unknown> = {}): string {
  return `Bearer ${signHs256({ ...claims(sub), ...extra }, TEST_JWT_SECRET)}`;
}

async function deviceRows(t: TestApp) {
  return t.db('devices').select('id', 'user_id', 'token', 'platform').orderBy('id');
}

function register(t: TestApp, sub: string, body: unknown) {
  return request(t.app)
    .post('/v1/devices')
    .set('Authorization', bearer(sub))
    .send(body as object);
}

async function registrations(t: TestApp): Promise<Record<string, number>> {
  const text = await t.metrics.registry.getSingleMetricAsString(
    'herald_device_registrations_total',
  );
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/\{platform="(\w+)",outcome="(\w+)"\} (\d+)/g)) {
    counts[`${match[1]}/${match[2]}`] = Number(match[3]);
  }
  return counts;
}

describe.each(dialects())('devices router on %s', (dialect) => {
  let t: TestApp;
  let closers: Array<() => Promise<void>>;

  async function app(env: Record<string, string | undefined> = {}): Promise<TestApp> {
    const built = await buildTestApp(dialect, { env });
    closers.push(() => built.close());
    return built;
  }

  beforeEach(() => {
    closers = [];
  });
  afterEach(async () => {
    for (const close of closers.reverse()) await close();
  });

  describe('POST /v1/devices', () => {
    beforeEach(async () => {
      t = await app();
    });

    it('registers a new token with 201 and the device id, platform and ISO times', async () => {
      const res = await register(t, 'alice', { token: FCM_TOKEN, platform: 'android' });

      expect(res.status).toBe(201);
      expect(Object.keys(res.body).sort()).toEqual(['createdAt', 'id', 'platform', 'updatedAt']);
      expect(res.body.platform).toBe('android');
      expect(new Date(res.body.createdAt).toISOString()).toBe(res.body.createdAt);
      expect(new Date(res.body.updatedAt).toISOString()).toBe(res.body.updatedAt);
      expect(await deviceRows(t)).toEqual([
        { id: res.body.id, user_id: 'alice', token: FCM_TOKEN, platform: 'android' },
      ]);
    });

    it('answers 200 with the same id when the token is registered again', async () => {
      const first = await register(t, 'alice', { token: FCM_TOKEN, platform: 'android' });
      const again = await register(t, 'alice', { token: FCM_TOKEN, platform: 'web' });

      expect(again.status).toBe(200);
      expect(again.body.id).toBe(first.body.id);
      expect(again.body.platform).toBe('web');
      expect(again.body.createdAt).toBe(first.body.createdAt);
      expect(Date.parse(again.body.updatedAt)).toBeGreaterThanOrEqual(
        Date.parse(first.body.updatedAt),
      );
      expect(await deviceRows(t)).toHaveLength(1);
    });

    it('moves a token registered by another user to the caller, keeping its id', async () => {
      const alices = await register(t, 'alice', { token: FCM_TOKEN, platform: 'ios' });
      const bobs = await register(t, 'bob', { token: FCM_TOKEN, platform: 'ios' });

      expect(bobs.status).toBe(200);
      expect(bobs.body.id).toBe(alices.body.id);
      const list = (sub: string) =>
        request(t.app).get('/v1/devices').set('Authorization', bearer(sub));
      expect((await list('alice')).body).toEqual({ devices: [] });
      expect((await list('bob')).body.devices.map((d: { id: string }) => d.id)).toEqual([
        alices.body.id,
      ]);
      expect((await deviceRows(t))[0].user_id).toBe('bob');
    });

    it('leaves exactly one row when several users register the same token at once', async () => {
      for (let round = 0; round < 5; round += 1) {
        const token = `${FCM_TOKEN}-${round}`;
        const users = ['u1', 'u2', 'u3', 'u4'];
        const responses = await Promise.all(
          users.map((user) => register(t, user, { token, platform: 'android' })),
        );

        expect(responses.map((res) => res.status).sort()).toEqual([200, 200, 200, 201]);
        expect(new Set(responses.map((res) => res.body.id)).size).toBe(1);
        const rows = await t.db('devices').where({ token });
        expect(rows).toHaveLength(1);
        expect(users).toContain(rows[0].user_id);
      }
    });

    it('accepts tokens of 1 and of 4096 printable ASCII characters', async () => {
      let printable = '';
      for (let code = 0x21; code <= 0x7e; code += 1) printable += String.fromCharCode(code);
      for (const token of ['x', 'y'.repeat(4096), printable]) {
        const res = await register(t, 'alice', { token, platform: 'web' });
        expect(res.status).toBe(201);
      }
      expect(await deviceRows(t)).toHaveLength(3);
    });

    const invalid: Array<[string, unknown, string[]]> = [
      ['a missing token', { platform: 'android' }, ['token']],
      ['a token that is a number', { token: 12345, platform: 'android' }, ['token']],
      ['an empty token', { token: '', platform: 'android' }, ['token']],
      ['a token with a space', { token: 'abc def', platform: 'android' }, ['token']],
      ['a token with a tab', { token: 'abc\tdef', platform: 'android' }, ['token']],
      ['a token with a newline', { token: 'abc\ndef', platform: 'android' }, ['token']],
      ['a token with a control character', { token: 'abc\u0007', platform: 'ios' }, ['token']],
      ['a token with DEL', { token: 'abc\u007f', platform: 'ios' }, ['token']],
      ['a token with non-ASCII letters', { token: 'tökén', platform: 'ios' }, ['token']],
      ['a token of 4097 characters', { token: 'z'.repeat(4097), platform: 'web' }, ['token']],
      ['an unknown platform', { token: FCM_TOKEN, platform: 'windows' }, ['platform']],
      ['a platform in capitals', { token: FCM_TOKEN, platform: 'IOS' }, ['platform']],
      ['a missing platform', { token: FCM_TOKEN }, ['platform']],
      ['a platform that is a number', { token: FCM_TOKEN, platform: 1 }, ['platform']],
      ['an empty object', {}, ['token', 'platform']],
      ['an array', [FCM_TOKEN, 'android'], ['']],
    ];

    it.each(invalid)(
      'refuses %s with 422 invalid_device and writes nothing',
      async (_, body, paths) => {
        const res = await register(t, 'alice', body);

        expect(res.status).toBe(422);
        expect(res.body.error.code).toBe('invalid_device');
        expect(res.body.error.details.map((d: { path: string }) => d.path)).toEqual(paths);
        for (const detail of res.body.error.details) expect(typeof detail.message).toBe('string');
        expect(await deviceRows(t)).toEqual([]);
      },
    );

    it('words each problem in its own detail', async () => {
      const res = await register(t, 'alice', { token: 'a b'.repeat(2000), platform: 'web' });
      expect(res.body.error.details).toEqual([
        { path: 'token', message: 'must be at most 4096 characters' },
        {
          path: 'token',
          message: 'must be printable ASCII (0x21 to 0x7E), without spaces or control characters',
        },
      ]);

      const other = await register(t, 'alice', { token: 42, platform: 'windows' });
      expect(other.body.error.details).toEqual([
        { path: 'token', message: 'must be a string' },
        { path: 'platform', message: 'must be one of android, ios, web' },
      ]);
      const empty = await register(t, 'alice', {});
      expect(empty.body.error.details).toEqual([
        { path: 'token', message: 'is required' },
        { path: 'platform', message: 'is required' },
      ]);
    });

    it('refuses malformed JSON with 400 invalid_json and writes nothing', async () => {
      for (const body of ['{"token": "abc", "platform": ', '"just a string"', 'null', '{]']) {
        const res = await request(t.app)
          .post('/v1/devices')
          .set('Authorization', bearer('alice'))
          .set('Content-Type', 'application/json')
          .send(body);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('invalid_json');
      }
      expect(await deviceRows(t)).toEqual([]);
    });

    it('refuses a body that does not decode as its Content-Encoding says, and writes nothing', async () => {
      const send = (encoding: string, body: Buffer) =>
        request(t.app)
          .post('/v1/devices')
          .set('Authorization', bearer('alice'))
          .set('Content-Type', 'application/json')
          .set('Content-Encoding', encoding)
          .send(body);

      const corrupt = await send('gzip', Buffer.from('not gzip at all'));
      const unknown = await send('snappy', Buffer.from(JSON.stringify({ token: FCM_TOKEN })));

      expect([corrupt.status, corrupt.body.error.code]).toEqual([400, 'invalid_json']);
      expect([unknown.status, unknown.body.error.code]).toEqual([415, 'unsupported_media_type']);
      expect(await deviceRows(t)).toEqual([]);
    });

    it('refuses a request without a body with 400 invalid_json', async () => {
      const res = await request(t.app).post('/v1/devices').set('Authorization', bearer('alice'));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_json');
    });

    it('refuses a body that is not application/json with 415 unsupported_media_type', async () => {
      const bodies: Array<[string, string]> = [
        ['text/plain', JSON.stringify({ token: FCM_TOKEN, platform: 'android' })],
        ['application/x-www-form-urlencoded', `token=${FCM_TOKEN}&platform=android`],
      ];
      for (const [type, body] of bodies) {
        const res = await request(t.app)
          .post('/v1/devices')
          .set('Authorization', bearer('alice'))
          .set('Content-Type', type)
          .send(body);
        expect(res.status).toBe(415);
        expect(res.body.error.code).toBe('unsupported_media_type');
      }
      expect(await deviceRows(t)).toEqual([]);
    });

    it('refuses a body over 16 KiB with 413 payload_too_large', async () => {
      const res = await register(t, 'alice', { token: 'x'.repeat(17_000), platform: 'web' });
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('payload_too_large');
      expect(await deviceRows(t)).toEqual([]);
    });

    it('counts registrations by platform and outcome, rejected ones too', async () => {
      await register(t, 'alice', { token: 'tok-1', platform: 'android' });
      await register(t, 'alice', { token: 'tok-2', platform: 'android' });
      await register(t, 'bob', { token: 'tok-1', platform: 'android' });
      await register(t, 'alice', { token: 'tok-3', platform: 'ios' });
      await register(t, 'alice', { token: 'bad token', platform: 'ios' });
      await register(t, 'alice', { token: 'tok-4', platform: 'windows' });
      await register(t, 'alice', { token: 'tok-5', platform: { os: 'web' } });
      await request(t.app)
        .post('/v1/devices')
        .set('Authorization', bearer('alice'))
        .set('Content-Type', 'application/json')
        .send('{oops');
      await request(t.app).post('/v1/devices').send({ token: 'tok-6', platform: 'web' });

      expect(await registrations(t)).toEqual({
        'android/created': 2,
        'android/updated': 1,
        'ios/created': 1,
        'ios/rejected': 1,
        'unknown/rejected': 2,
      });
      const scrape = await request(t.app).get('/metrics');
      expect(scrape.text).toContain(
        'herald_device_registrations_total{platform="android",outcome="created"} 2',
      );
    });
  });

  describe('GET /v1/devices', () => {
    beforeEach(async () => {
      t = await app();
    });

    it("lists the caller's own devices only", async () => {
      const a1 = await register(t, 'alice', { token: 'alice-1', platform: 'android' });
      const a2 = await register(t, 'alice', { token: 'alice-2', platform: 'web' });
      await register(t, 'bob', { token: 'bob-1', platform: 'ios' });

      const res = await request(t.app).get('/v1/devices').set('Authorization', bearer('alice'));

      expect(res.status).toBe(200);
      expect(
        res.body.devices.sort((x: { id: string }, y: { id: string }) => (x.id < y.id ? -1 : 1)),
      ).toEqual([a1.body, a2.body].sort((x, y) => (x.id < y.id ? -1 : 1)));
    });

    it('answers an empty list to a user without devices', async () => {
      const res = await request(t.app).get('/v1/devices').set('Authorization', bearer('nobody'));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ devices: [] });
    });
  });

  describe('DELETE /v1/devices/:id', () => {
    beforeEach(async () => {
      t = await app();
    });

    it("deletes one of the caller's devices with 204, and 404 the second time", async () => {
      const { body } = await register(t, 'alice', { token: FCM_TOKEN, platform: 'android' });
      const remove = () =>
        request(t.app).delete(`/v1/devices/${body.id}`).set('Authorization', bearer('alice'));

      const res = await remove();
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect(await deviceRows(t)).toEqual([]);

      const again = await remove();
      expect(again.status).toBe(404);
      expect(again.body.error.code).toBe('not_found');
    });

    it("answers 404 for another user's device and leaves it in place", async () => {
      const { body } = await register(t, 'alice', { token: FCM_TOKEN, platform: 'android' });

      const res = await request(t.app)
        .delete(`/v1/devices/${body.id}`)
        .set('Authorization', bearer('mallory'));

      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
      expect(await deviceRows(t)).toHaveLength(1);
    });

    it('answers 404 for an id that does not exist', async () => {
      const res = await request(t.app)
        .delete(`/v1/devices/${randomUUID()}`)
        .set('Authorization', bearer('alice'));
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    });
  });

  describe('client JWT', () => {
    it('is required on every device route, and checked before the body', async () => {
      t = await app();
      const attempts = [
        request(t.app).get('/v1/devices'),
        request(t.app).delete(`/v1/devices/${randomUUID()}`),
        request(t.app).post('/v1/devices').send({ token: FCM_TOKEN, platform: 'android' }),
        request(t.app).post('/v1/devices').set('Content-Type', 'application/json').send('{oops'),
        request(t.app).post('/v1/devices').set('Content-Type', 'text/plain').send('hello'),
        request(t.app).get('/v1/devices').set('Authorization', 'Basic YWxpY2U6c2VjcmV0'),
      ];
      for (const res of await Promise.all(attempts)) {
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('unauthorized');
        expect(res.body.error.message).toMatch(/Bearer/);
      }
      expect(await deviceRows(t)).toEqual([]);
    });

    const now = () => Math.floor(Date.now() / 1000);
    const refused: Array<[string, () => string, RegExp]> = [
      ['alg none', () => unsignedToken(claims('alice')), /none/],
      [
        'an expired token',
        () => signHs256({ sub: 'alice', exp: now() - 120 }, TEST_JWT_SECRET),
        /expired/,
      ],
      ['a bad signature', () => signHs256(claims('alice'), 'x'.repeat(40)), /signature/],
      ['a token without sub', () => signHs256({ exp: now() + 60 }, TEST_JWT_SECRET), /sub/],
      ['a token without exp', () => signHs256({ sub: 'alice' }, TEST_JWT_SECRET), /exp/],
      [
        'a token not valid yet',
        () => signHs256({ ...claims('alice'), nbf: now() + 600 }, TEST_JWT_SECRET),
        /nbf/,
      ],
      ['a malformed token', () => 'not.a.jwt', /well-formed/],
    ];

    it.each(refused)('refuses %s with 401 saying which check failed', async (_, token, why) => {
      t = await app();
      const jwt = token();
      const res = await request(t.app)
        .post('/v1/devices')
        .set('Authorization', `Bearer ${jwt}`)
        .send({ token: FCM_TOKEN, platform: 'android' });

      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
      expect(res.body.error.message).toMatch(why);
      expect(res.text).not.toContain(jwt);
      expect(await deviceRows(t)).toEqual([]);
      expect(await registrations(t)).toEqual({});
    });

    it('enforces JWT_ISSUER and JWT_AUDIENCE when they are set', async () => {
      t = await app({ JWT_ISSUER: 'https://id.example.com/', JWT_AUDIENCE: 'herald-app' });
      const send = (extra: Record<string, unknown>) =>
        request(t.app)
          .post('/v1/devices')
          .set('Authorization', bearer('alice', extra))
          .send({ token: FCM_TOKEN, platform: 'android' });
      const good = { iss: 'https://id.example.com/', aud: 'herald-app' };

      const wrongAudience = await send({ ...good, aud: 'another-app' });
      expect(wrongAudience.status).toBe(401);
      expect(wrongAudience.body.error.message).toMatch(/audience/);
      const wrongIssuer = await send({ ...good, iss: 'https://evil.example.com/' });
      expect(wrongIssuer.status).toBe(401);
      expect(wrongIssuer.body.error.message).toMatch(/issuer/);
      expect((await send(good)).status).toBe(201);
    });

    it('verifies RS256 tokens with JWT_PUBLIC_KEY and refuses algorithm confusion', async () => {
      const pair = rsaKeyPair();
      t = await app({ JWT_SECRET: undefined, JWT_PUBLIC_KEY: pair.publicPem });
      const send = (jwt: string) =>
        request(t.app)
          .post('/v1/devices')
          .set('Authorization', `Bearer ${jwt}`)
          .send({ token: FCM_TOKEN, platform: 'ios' });

      const confused = await send(hmacToken(claims('alice'), pair.publicPem));
      expect(confused.status).toBe(401);
      expect(confused.body.error.message).toMatch(/algorithm "HS256" is not allowed/);
      expect((await send(signHs256(claims('alice'), TEST_JWT_SECRET))).status).toBe(401);
      expect((await send(signWith(claims('alice'), pair.privateKey, 'RS256'))).status).toBe(201);
    });

    it('verifies ES256 tokens with an EC JWT_PUBLIC_KEY', async () => {
      const pair = ecKeyPair();
      t = await app({ JWT_SECRET: undefined, JWT_PUBLIC_KEY: pair.publicPem });
      const send = (jwt: string) =>
        request(t.app).get('/v1/devices').set('Authorization', `Bearer ${jwt}`);

      expect((await send(signWith(claims('alice'), pair.privateKey, 'ES256'))).status).toBe(200);
      const other = await send(signWith(claims('alice'), ecKeyPair().privateKey, 'ES256'));
      expect(other.status).toBe(401);
      expect(other.body.error.message).toMatch(/signature/);
      expect((await send(hmacToken(claims('alice'), pair.publicPem))).status).toBe(401);
    });

    it("verifies tokens against an identity provider's JWKS, refusing unknown kids", async () => {
      const pair = rsaKeyPair();
      const jwks = await startJwksServer([jwk(pair, 'key-1')]);
      closers.push(() => jwks.close());
      t = await app({ JWT_SECRET: undefined, JWT_JWKS_URI: jwks.uri });
      const send = (jwt: string) =>
        request(t.app)
          .post('/v1/devices')
          .set('Authorization', `Bearer ${jwt}`)
          .send({ token: FCM_TOKEN, platform: 'web' });

      const known = await send(signWith(claims('alice'), pair.privateKey, 'RS256', 'key-1'));
      expect(known.status).toBe(201);
      const unknown = await send(signWith(claims('alice'), rsaKeyPair().privateKey, 'RS256', 'k9'));
      expect(unknown.status).toBe(401);
      expect(unknown.body.error.message).toMatch(/kid/);
      const confused = await send(hmacToken(claims('alice'), pair.publicPem, 'key-1'));
      expect(confused.status).toBe(401);
      expect(jwks.hits).toBe(1);
    });
  });

  describe('rate limit', () => {
    it('answers 429 rate_limited with Retry-After once a user spent the minute', async () => {
      t = await app({ RATE_LIMIT_DEVICES_PER_MINUTE: '3' });
      const alice = bearer('alice');
      const created = await request(t.app)
        .post('/v1/devices')
        .set('Authorization', alice)
        .send({ token: FCM_TOKEN, platform: 'android' });
      expect(created.status).toBe(201);
      expect(created.headers['ratelimit']).toMatch(/r=2/);
      expect((await request(t.app).get('/v1/devices').set('Authorization', alice)).status).toBe(
        200,
      );
      const deleted = await request(t.app)
        .delete(`/v1/devices/${created.body.id}`)
        .set('Authorization', alice);
      expect(deleted.status).toBe(204);

      const limited = await request(t.app).get('/v1/devices').set('Authorization', alice);
      expect(limited.status).toBe(429);
      expect(limited.body.error.code).toBe('rate_limited');
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(limited.headers['ratelimit-policy']).toMatch(/q=3/);

      const bob = await request(t.app).get('/v1/devices').set('Authorization', bearer('bob'));
      expect(bob.status).toBe(200);
    });

    it('counts bad requests against the user and checks the JWT before the limit', async () => {
      t = await app({ RATE_LIMIT_DEVICES_PER_MINUTE: '2' });
      for (let i = 0; i < 2; i += 1) {
        const res = await register(t, 'alice', { token: 'has space', platform: 'web' });
        expect(res.status).toBe(422);
      }
      expect((await register(t, 'alice', { token: FCM_TOKEN, platform: 'web' })).status).toBe(429);

      const forged = await request(t.app)
        .get('/v1/devices')
        .set('Authorization', `Bearer ${signHs256(claims('alice'), 'y'.repeat(40))}`);
      expect(forged.status).toBe(401);
      expect(await deviceRows(t)).toEqual([]);
    });

    const redisUrl = process.env.TEST_REDIS_URL;
    (redisUrl ? it : it.skip)('shares counters between instances through Redis', async () => {
      const env = { RATE_LIMIT_REDIS_URL: redisUrl, RATE_LIMIT_DEVICES_PER_MINUTE: '4' };
      const first = await app(env);
      const second = await app(env);
      // A user of its own, so runs that share the Redis never share a counter.
      const user = bearer(`redis-test-${randomUUID()}`);
      const get = (instance: TestApp) =>
        request(instance.app).get('/v1/devices').set('Authorization', user);

      for (const instance of [first, second, first, second]) {
        expect((await get(instance)).status).toBe(200);
      }
      const limited = await get(first);
      expect(limited.status).toBe(429);
      expect(limited.headers['retry-after']).toMatch(/^\d+$/);
      expect((await get(second)).status).toBe(429);
    });
  });
});
