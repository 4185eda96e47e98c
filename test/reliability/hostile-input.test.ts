import { createHmac, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Agent, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { signatureHeaders } from '../../src/auth/webhook-signature';
import { buildTestApp, TEST_JWT_SECRET, TEST_SOURCE, type TestApp } from '../helpers/app';
import { dialects } from '../helpers/database';

const RUNS = Number(process.env.HOSTILE_RUNS ?? 400);
const KNOWN_TYPES = [
  'chat.message.created',
  'topic.broadcast',
  'condition.broadcast',
  'notification.send',
];

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Header values Node's client will put on the wire: visible ASCII, spaces and latin-1. */
const headerText = (maxLength: number) =>
  fc.string({
    maxLength,
    unit: fc.oneof(
      fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
    ),
  });

/** Any JSON text, from a bare number to nested objects with strange keys and code points. */
const jsonText = fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value));

/** Bodies shaped like events: right or wrong types, data of any shape, sometimes valid. */
const eventText = fc
  .record(
    {
      type: fc.oneof(fc.constantFrom(...KNOWN_TYPES), fc.string({ unit: 'binary', maxLength: 40 })),
      timestamp: fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      ),
      data: fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.record(
          {
            tokens: fc.array(fc.string({ unit: 'binary', maxLength: 60 }), { maxLength: 5 }),
            userIds: fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.double()), {
              maxLength: 5,
            }),
            topic: fc.string({ unit: 'binary', maxLength: 40 }),
            condition: fc.string({ maxLength: 80 }),
            title: fc.string({ unit: 'grapheme', maxLength: 300 }),
            body: fc.string({ unit: 'grapheme', maxLength: 300 }),
            recipientUserId: fc.jsonValue({ maxDepth: 1 }),
            data: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 })),
          },
          { requiredKeys: [] },
        ),
      ),
    },
    { requiredKeys: [] },
  )
  .map((event) => JSON.stringify(event));

/** A few bodies that pass every check, so that accepted requests are in the mix too. */
const validEventText = fc
  .record({ user: fc.string({ minLength: 1, maxLength: 20 }), text: fc.string({ minLength: 1 }) })
  .filter(({ text }) => /\S/.test(text))
  .map(({ user, text }) =>
    JSON.stringify({
      type: 'notification.send',
      data: { userIds: [user], title: 'Hello', body: text },
    }),
  );

const webhookBody = fc.oneof(
  { weight: 3, arbitrary: eventText.map((text) => Buffer.from(text)) },
  { weight: 2, arbitrary: jsonText.map((text) => Buffer.from(text)) },
  { weight: 2, arbitrary: validEventText.map((text) => Buffer.from(text)) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)) },
  // Invalid UTF-8 inside an otherwise well-formed event.
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ minLength: 1, maxLength: 64 })
      .map((bytes) =>
        Buffer.concat([
          Buffer.from('{"type":"notification.send","data":{"tokens":["'),
          Buffer.from(bytes.map((b) => b | 0x80)),
          Buffer.from('"],"title":"t","body":"b"}}'),
        ]),
      ),
  },
  // Around and over the 64 KiB limit.
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 60 * 1024, max: 80 * 1024 })
      .map((size) =>
        Buffer.from(JSON.stringify({ type: 'topic.broadcast', pad: 'x'.repeat(size) })),
      ),
  },
);

const contentType = fc.option(
  fc.oneof(
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'APPLICATION/JSON',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset="',
    ),
    headerText(40),
  ),
  { nil: undefined },
);

const contentEncoding = fc.option(
  fc.oneof(fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'gzip, gzip'), headerText(12)),
  { nil: undefined },
);

type Signing = 'valid' | 'wrong-secret' | 'stale' | 'future' | 'garbage' | 'missing' | 'long-id';

const webhookRequest = fc.record({
  framed: fc.boolean(),
  source: fc.oneof(
    { weight: 6, arbitrary: fc.constant(TEST_SOURCE) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  ),
  id: fc.oneof(fc.uuid(), headerText(40)),
  signing: fc.constantFrom<Signing>(
    'valid',
    'valid',
    'valid',
    'wrong-secret',
    'stale',
    'future',
    'garbage',
    'missing',
    'long-id',
  ),
  garbage: headerText(120),
  body: webhookBody,
  contentType,
  contentEncoding,
  gzipBody: fc.boolean(),
  requestId: fc.option(headerText(120), { nil: undefined }),
});

function base64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString(
    'base64url',
  );
}

/** JWTs a client might send, or an attacker: well signed with odd claims, forged, or noise. */
const jwtText = fc.oneof(
  fc
    .record(
      {
        header: fc.record(
          {
            alg: fc.oneof(
              fc.constantFrom('HS256', 'HS256', 'none', 'None', 'HS512', 'RS256', 'ES256'),
              fc.string({ maxLength: 10 }),
            ),
            typ: fc.constant('JWT'),
            kid: fc.string({ maxLength: 300 }),
          },
          { requiredKeys: ['alg'] },
        ),
        payload: fc.record(
          {
            sub: fc.oneof(
              fc.string({ unit: 'binary', maxLength: 40 }),
              fc.string({ minLength: 250, maxLength: 300 }),
              fc.integer(),
              fc.constant(null),
            ),
            exp: fc.oneof(
              fc.constant(Math.floor(Date.now() / 1000) + 3600),
              fc.integer(),
              fc.double(),
              fc.string({ maxLength: 12 }),
            ),
            nbf: fc.oneof(fc.integer(), fc.string({ maxLength: 5 })),
            aud: fc.jsonValue({ maxDepth: 1 }),
            iss: fc.jsonValue({ maxDepth: 1 }),
          },
          { requiredKeys: [] },
        ),
        signature: fc.constantFrom('right', 'wrong', 'empty'),
      },
      { requiredKeys: ['header', 'payload', 'signature'] },
    )
    .map(({ header, payload, signature }) => {
      const input = `${base64url(header)}.${base64url(payload)}`;
      const mac = createHmac('sha256', TEST_JWT_SECRET).update(input).digest('base64url');
      const sig = signature === 'right' ? mac : signature === 'wrong' ? mac.slice(1) + 'A' : '';
      return `${input}.${sig}`;
    }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 400 }),
  fc
    .uint8Array({ maxLength: 200 })
    .map((bytes) => `${base64url('{')}.${Buffer.from(bytes).toString('base64url')}.`),
);

/** Tokens that pass, so that registrations succeed often enough to test the other side. */
const validJwt = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 30 }).map((sub) => {
  const payload = { sub, exp: Math.floor(Date.now() / 1000) + 3600 };
  const input = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url(payload)}`;
  return `${input}.${createHmac('sha256', TEST_JWT_SECRET).update(input).digest('base64url')}`;
});

const validDeviceBody = fc
  .record({
    token: fc.stringMatching(/^[\x21-\x7e]{1,200}$/),
    platform: fc.constantFrom('android', 'ios', 'web'),
  })
  .map((body) => Buffer.from(JSON.stringify(body)));

const deviceBody = fc.oneof(
  validDeviceBody,
  fc
    .record(
      {
        token: fc.oneof(
          fc.string({ unit: 'binary', maxLength: 80 }),
          fc.string({ minLength: 4090, maxLength: 4100 }),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        platform: fc.oneof(fc.constantFrom('android', 'ios', 'web'), fc.jsonValue({ maxDepth: 1 })),
      },
      { requiredKeys: [] },
    )
    .map((body) => Buffer.from(JSON.stringify(body))),
  jsonText.map((text) => Buffer.from(text)),
  fc.uint8Array({ maxLength: 1024 }).map((bytes) => Buffer.from(bytes)),
  fc
    .integer({ min: 15 * 1024, max: 20 * 1024 })
    .map((size) => Buffer.from(`{"token":"${'a'.repeat(size)}","platform":"web"}`)),
);

const deviceRequest = fc.record({
  /** Half the requests are framed properly, so that the JWT and the body decide. */
  framed: fc.boolean(),
  /** Acts on a device registered earlier in the run (by its owner), when there is one. */
  known: fc.option(fc.nat(), { nil: undefined }),
  method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'DELETE'),
  id: fc.oneof(fc.uuid(), fc.string({ unit: 'binary', maxLength: 50 })),
  scheme: fc.constantFrom('Bearer ', 'Bearer ', 'bearer ', 'Basic ', '', 'Bearer  '),
  jwt: fc.oneof(validJwt, jwtText),
  body: deviceBody,
  requestId: fc.option(headerText(120), { nil: undefined }),
  contentType,
  contentEncoding,
});

/** Bytes on the socket itself: request heads with lying lengths, cut-off bodies, noise. */
const rawRequest = fc.record({
  head: fc.constantFrom(
    'POST /v1/webhooks/shop HTTP/1.1',
    'POST /v1/devices HTTP/1.1',
    'GET /v1/devices HTTP/1.1',
    'POST /v1/webhooks/shop HTTP/1.0',
    'PUT /v1/webhooks/shop HTTP/1.1',
  ),
  headers: fc.array(
    fc.oneof(
      fc.integer({ min: 0, max: 200_000 }).map((n) => `Content-Length: ${n}`),
      fc.constantFrom(
        'Transfer-Encoding: chunked',
        'Content-Type: application/json',
        'Content-Encoding: gzip',
        'Expect: 100-continue',
        'Authorization: Bearer x.y.z',
        'Content-Length: -1',
        'Content-Length: 1, 2',
      ),
      fc.string({ unit: 'binary-ascii', maxLength: 60 }),
    ),
    { maxLength: 6 },
  ),
  body: fc.uint8Array({ maxLength: 512 }),
});

describe.each(dialects())('hostile input on %s', (dialect) => {
  let t: TestApp;
  let server: Server;
  let base: string;
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });

  beforeAll(async () => {
    t = await buildTestApp(dialect, { env: { RATE_LIMIT_DEVICES_PER_MINUTE: '1000000' } });
    server = t.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    agent.destroy();
    await new Promise((resolve) => server?.close(resolve));
    await t?.close();
  });

  function send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: Buffer,
  ): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request(`${base}${path}`, { method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  async function rowCounts(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const table of ['notifications', 'delivery_jobs', 'devices']) {
      const [row] = await t.db(table).count({ n: '*' });
      counts[table] = Number(row.n);
    }
    return counts;
  }

  /** An error answer is API.md's JSON shape and carries no stack trace. */
  function expectErrorShape(reply: Reply): void {
    if (reply.status < 400) return;
    expect(reply.body).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
    if (reply.headers['content-type']?.toString().includes('application/json')) {
      const parsed = JSON.parse(reply.body) as { error?: { code?: unknown; message?: unknown } };
      expect(typeof parsed.error?.code).toBe('string');
      expect(typeof parsed.error?.message).toBe('string');
    }
  }

  it('never answers a webhook with a 5xx, and stores an event only when it answers 202', async () => {
    const seen: Record<number, number> = {};
    await fc.assert(
      fc.asyncProperty(webhookRequest, async (r) => {
        const now = Math.floor(Date.now() / 1000);
        const id = r.signing === 'long-id' ? 'x'.repeat(300) : r.id || randomUUID();
        const signed = (secret: string, timestamp: number) =>
          signatureHeaders(secret, id, r.body.toString('latin1'), timestamp);
        let headers: Record<string, string> = {};
        if (r.signing === 'valid' || r.signing === 'long-id') {
          headers = signed(t.webhookSecret, now);
        } else if (r.signing === 'wrong-secret') {
          headers = signed(
            'whsec_' + Buffer.from('not-the-secret-at-all!').toString('base64'),
            now,
          );
        } else if (r.signing === 'stale' || r.signing === 'future') {
          headers = signed(t.webhookSecret, now + (r.signing === 'stale' ? -400 : 400));
        } else if (r.signing === 'garbage') {
          headers = {
            'webhook-id': id,
            'webhook-timestamp': String(now),
            'webhook-signature': r.garbage,
          };
        }
        // The signature covers the bytes after decoding, so a gzip body is signed before zipping.
        let body = r.body;
        if (r.framed) {
          headers['content-type'] = 'application/json';
        } else {
          if (r.contentEncoding !== undefined) headers['content-encoding'] = r.contentEncoding;
          if (r.contentEncoding === 'gzip' && r.gzipBody) body = gzipSync(r.body);
          if (r.contentType !== undefined) headers['content-type'] = r.contentType;
        }
        if (r.requestId !== undefined) headers['x-request-id'] = r.requestId;
        headers['content-length'] = String(body.length);

        const before = await rowCounts();
        const reply = await send(
          'POST',
          `/v1/webhooks/${encodeURIComponent(r.source)}`,
          headers,
          body,
        );
        const after = await rowCounts();
        seen[reply.status] = (seen[reply.status] ?? 0) + 1;

        expect(reply.status).toBeLessThan(500);
        expectErrorShape(reply);
        if (reply.status === 202) {
          expect(after.notifications).toBe(before.notifications + 1);
        } else {
          expect(after).toEqual(before);
        }
      }),
      { numRuns: RUNS },
    );
    // The mix reached every layer: refusals of each kind and some acceptances.
    expect(Object.keys(seen).map(Number)).toEqual(
      expect.arrayContaining([202, 400, 401, 413, 415, 422]),
    );
    expect((await send('GET', '/readyz', {})).status).toBe(200);
  }, 120_000);

  it('never answers a device request with a 5xx, and writes a device only on 200 or 201', async () => {
    const seen: Record<number, number> = {};
    const registered: Array<{ id: string; jwt: string }> = [];
    await fc.assert(
      fc.asyncProperty(deviceRequest, async (r) => {
        const known = r.known === undefined ? undefined : registered[r.known % registered.length];
        const jwt = known?.jwt ?? r.jwt;
        const headers: Record<string, string> = {
          authorization: `${r.framed ? 'Bearer ' : r.scheme}${jwt}`,
        };
        if (r.framed) {
          headers['content-type'] = 'application/json';
        } else {
          if (r.contentType !== undefined) headers['content-type'] = r.contentType;
          if (r.contentEncoding !== undefined) headers['content-encoding'] = r.contentEncoding;
        }
        if (r.requestId !== undefined) headers['x-request-id'] = r.requestId;
        const id = known?.id ?? r.id;
        const path =
          r.method === 'DELETE' ? `/v1/devices/${encodeURIComponent(id)}` : '/v1/devices';
        const body = r.method === 'POST' ? r.body : undefined;
        if (body) headers['content-length'] = String(body.length);

        const before = await rowCounts();
        const reply = await send(r.method, path, headers, body);
        const after = await rowCounts();
        seen[reply.status] = (seen[reply.status] ?? 0) + 1;

        expect(reply.status).toBeLessThan(500);
        expectErrorShape(reply);
        const devices = after.devices - before.devices;
        if (reply.status === 201) {
          expect(devices).toBe(1);
          registered.push({ id: (JSON.parse(reply.body) as { id: string }).id, jwt });
        } else {
          expect(devices).toBe(reply.status === 204 ? -1 : 0);
        }
        expect({ ...after, devices: 0 }).toEqual({ ...before, devices: 0 });
      }),
      { numRuns: RUNS },
    );
    expect(Object.keys(seen).map(Number)).toEqual(
      expect.arrayContaining([200, 201, 204, 401, 404, 415, 422]),
    );
    expect((await send('GET', '/readyz', {})).status).toBe(200);
  }, 120_000);

  it('never answers malformed HTTP with a 5xx nor writes a row for it', async () => {
    const port = (server.address() as AddressInfo).port;
    const before = await rowCounts();
    await fc.assert(
      fc.asyncProperty(rawRequest, async (r) => {
        const head = [r.head, 'Host: 127.0.0.1', ...r.headers].join('\r\n');
        const answer = await new Promise<string>((resolve) => {
          const chunks: Buffer[] = [];
          const socket = connect(port, '127.0.0.1');
          // A server still waiting for promised bytes gets the end of the stream instead.
          socket.setTimeout(2_000, () => socket.destroy());
          socket.on('data', (chunk: Buffer) => chunks.push(chunk));
          socket.on('error', () => undefined);
          socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
          socket.end(Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), r.body]));
        });
        for (const status of answer.matchAll(/^HTTP\/1\.[01] (\d{3})/gm)) {
          expect(Number(status[1])).toBeLessThan(500);
        }
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
    expect(await rowCounts()).toEqual(before);
    expect((await send('GET', '/readyz', {})).status).toBe(200);
  }, 120_000);
});
