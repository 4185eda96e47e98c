import { startEmulator, type FcmEmulator } from '../../src/emulator';

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

const FCM_ERROR = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const BAD_REQUEST = 'type.googleapis.com/google.rpc.BadRequest';

async function call(
  emulator: FcmEmulator,
  path: string,
  body?: unknown,
  init: { method?: string; auth?: boolean; raw?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.auth !== false) {
    headers.authorization = 'Bearer test-token';
  }
  const hasBody = body !== undefined || init.raw !== undefined;
  const response = await fetch(`${emulator.url}${path}`, {
    method: init.method ?? (hasBody ? 'POST' : 'GET'),
    headers,
    body: init.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : null,
  };
}

function send(emulator: FcmEmulator, message: unknown, extra: object = {}): Promise<Answer> {
  return call(emulator, '/v1/projects/demo-test/messages:send', { message, ...extra });
}

describe('FCM emulator', () => {
  let emulator: FcmEmulator;

  beforeEach(async () => {
    emulator = await startEmulator();
  });

  afterEach(async () => {
    await emulator.close();
  });

  describe('messages:send', () => {
    it('accepts a token message and answers with its resource name', async () => {
      const message = { token: 'device-token-1', notification: { title: 'Hi', body: 'there' } };
      const answer = await send(emulator, message);

      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({
        name: expect.stringMatching(/^projects\/demo-test\/messages\/.+/),
      });
      expect(emulator.host).toBe(`127.0.0.1:${emulator.port}`);
      const [received] = emulator.received;
      expect(received).toMatchObject({ project: 'demo-test', token: 'device-token-1', message });
      expect((answer.body as { name: string }).name).toBe(received?.name);
    });

    it('records a topic without its /topics/ prefix and a condition as given', async () => {
      await send(emulator, { topic: '/topics/news', data: { a: 'b' } });
      await send(emulator, { condition: "'a' in topics && 'b' in topics" });

      expect(emulator.received.map((m) => m.topic ?? m.condition)).toEqual([
        'news',
        "'a' in topics && 'b' in topics",
      ]);
    });

    it('answers validate_only with the fixed dry-run id and records nothing', async () => {
      const answer = await send(emulator, { token: 't' }, { validate_only: true });

      expect(answer.body).toEqual({ name: 'projects/demo-test/messages/fake_message_id' });
      expect(emulator.received).toHaveLength(0);
      expect(emulator.stats()).toMatchObject({ accepted: 1, validateOnly: 1 });
    });

    it('refuses a request without a bearer token as Google does', async () => {
      const answer = await call(
        emulator,
        '/v1/projects/p/messages:send',
        { message: { token: 't' } },
        {
          auth: false,
        },
      );

      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
    });

    it('answers unknown paths with a Google-shaped 404', async () => {
      const answer = await call(emulator, '/v1/nothing/here', {});

      expect(answer.status).toBe(404);
      expect(answer.body).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
    });
  });

  describe('validation', () => {
    it('refuses an empty token with the invalid-registration-token answer', async () => {
      const answer = await send(emulator, { token: '' });

      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({
        error: {
          code: 400,
          message: 'The registration token is not a valid FCM registration token',
          status: 'INVALID_ARGUMENT',
          details: [
            { '@type': FCM_ERROR, errorCode: 'INVALID_ARGUMENT' },
            {
              '@type': BAD_REQUEST,
              fieldViolations: [
                {
                  field: 'message.token',
                  description: 'The registration token is not a valid FCM registration token',
                },
              ],
            },
          ],
        },
      });
    });

    it('refuses a message without a target', async () => {
      const answer = await send(emulator, { notification: { title: 'x' } });

      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({
        error: {
          message: 'Recipient of the message is not set.',
          status: 'INVALID_ARGUMENT',
          details: [
            { '@type': FCM_ERROR, errorCode: 'INVALID_ARGUMENT' },
            { '@type': BAD_REQUEST, fieldViolations: [{ field: 'message' }] },
          ],
        },
      });
    });

    it('refuses two targets at once with a parse error that has no FcmError detail', async () => {
      const answer = await send(emulator, { token: 't', topic: 'news' });

      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({
        error: {
          code: 400,
          message:
            "Invalid value at 'message' (oneof), oneof field 'target' is already set. " +
            "Cannot set 'topic'",
          status: 'INVALID_ARGUMENT',
          details: [
            {
              '@type': BAD_REQUEST,
              fieldViolations: [
                {
                  field: 'message',
                  description:
                    "Invalid value at 'message' (oneof), oneof field 'target' is already set. " +
                    "Cannot set 'topic'",
                },
              ],
            },
          ],
        },
      });
    });

    it('refuses a data value that is not a string, naming its index', async () => {
      const answer = await send(emulator, { token: 't', data: { a: 'ok', b: 12 } });

      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({
        error: {
          code: 400,
          message: "Invalid value at 'message.data[1].value' (TYPE_STRING), 12",
          status: 'INVALID_ARGUMENT',
          details: [
            {
              '@type': BAD_REQUEST,
              fieldViolations: [
                {
                  field: 'message.data[1].value',
                  description: "Invalid value at 'message.data[1].value' (TYPE_STRING), 12",
                },
              ],
            },
          ],
        },
      });
    });

    it.each(['from', 'notification', 'message_type', 'google.x', 'gcm.notification.title'])(
      'refuses the reserved data key %s',
      async (key) => {
        const answer = await send(emulator, { token: 't', data: { [key]: 'v' } });

        expect(answer.status).toBe(400);
        expect(answer.body).toMatchObject({
          error: {
            message: `Invalid data payload key: ${key}`,
            details: [
              { errorCode: 'INVALID_ARGUMENT' },
              { fieldViolations: [{ field: 'message.data' }] },
            ],
          },
        });
      },
    );

    it('refuses a payload over 4096 bytes and accepts one just under', async () => {
      const tooBig = await send(emulator, { token: 't', data: { k: 'x'.repeat(4096) } });
      const fits = await send(emulator, { token: 't', data: { k: 'x'.repeat(4095) } });

      expect(tooBig.status).toBe(400);
      expect(tooBig.body).toMatchObject({ error: { status: 'INVALID_ARGUMENT' } });
      expect(fits.status).toBe(200);
    });

    it.each(['bad topic', 'a/b', '/topics/', 'é'])('refuses the topic name %p', async (topic) => {
      const answer = await send(emulator, { topic });

      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({
        error: {
          details: [
            { errorCode: 'INVALID_ARGUMENT' },
            { fieldViolations: [{ field: 'message.topic' }] },
          ],
        },
      });
    });

    it('refuses a condition with more than five topics', async () => {
      const condition = ['a', 'b', 'c', 'd', 'e', 'f'].map((t) => `'${t}' in topics`).join(' || ');
      const answer = await send(emulator, { condition });

      expect(answer.status).toBe(400);
    });

    it('refuses a body that is not JSON', async () => {
      const answer = await call(emulator, '/v1/projects/p/messages:send', undefined, {
        raw: '{nope',
      });

      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ error: { status: 'INVALID_ARGUMENT' } });
    });

    it('counts refusals per error code', async () => {
      await send(emulator, { token: '' });
      await send(emulator, { token: 'ok' });
      emulator.failToken('dead', 'UNREGISTERED');
      await send(emulator, { token: 'dead' });

      expect(emulator.stats()).toMatchObject({
        requests: 3,
        accepted: 1,
        refused: 2,
        refusedByCode: { INVALID_ARGUMENT: 1, UNREGISTERED: 1 },
      });
    });
  });

  describe('fault injection', () => {
    it.each([
      ['UNREGISTERED', 404, 'NOT_FOUND'],
      ['SENDER_ID_MISMATCH', 403, 'PERMISSION_DENIED'],
      ['INVALID_ARGUMENT', 400, 'INVALID_ARGUMENT'],
      ['QUOTA_EXCEEDED', 429, 'RESOURCE_EXHAUSTED'],
      ['UNAVAILABLE', 503, 'UNAVAILABLE'],
      ['INTERNAL', 500, 'INTERNAL'],
      ['THIRD_PARTY_AUTH_ERROR', 401, 'UNAUTHENTICATED'],
    ] as const)(
      'answers a token failed with %s as Google does (%i %s)',
      async (code, http, status) => {
        emulator.failToken('tok', code);
        const answer = await send(emulator, { token: 'tok' });

        expect(answer.status).toBe(http);
        expect(answer.body).toMatchObject({
          error: {
            code: http,
            status,
            details: expect.arrayContaining([{ '@type': FCM_ERROR, errorCode: code }]),
          },
        });
      },
    );

    it('fails a token for good unless told how many times', async () => {
      emulator.failToken('dead', 'UNREGISTERED');
      const statuses = [];
      for (let i = 0; i < 3; i += 1) {
        statuses.push((await send(emulator, { token: 'dead' })).status);
      }

      expect(statuses).toEqual([404, 404, 404]);
      expect((await send(emulator, { token: 'other' })).status).toBe(200);
    });

    it('fails a token for the next N sends, then lets it through', async () => {
      emulator.failToken('flaky', 'UNAVAILABLE', { times: 2, retryAfterSeconds: 3 });
      const first = await send(emulator, { token: 'flaky' });
      const second = await send(emulator, { token: 'flaky' });
      const third = await send(emulator, { token: 'flaky' });

      expect([first.status, second.status, third.status]).toEqual([503, 503, 200]);
      expect(first.headers.get('retry-after')).toBe('3');
    });

    it('fails the next N requests whatever they carry', async () => {
      emulator.failNext(2, 'QUOTA_EXCEEDED', { retryAfterSeconds: 30 });
      const answers = [];
      for (let i = 0; i < 3; i += 1) {
        answers.push(await send(emulator, { token: `t${i}` }));
      }

      expect(answers.map((a) => a.status)).toEqual([429, 429, 200]);
      expect(answers[0]?.headers.get('retry-after')).toBe('30');
    });

    it('sends Retry-After only on 429 and 503 answers', async () => {
      emulator.failNext(1, 'INTERNAL', { retryAfterSeconds: 5 });
      const answer = await send(emulator, { token: 't' });

      expect(answer.status).toBe(500);
      expect(answer.headers.get('retry-after')).toBeNull();
    });

    it('fails a seeded share of requests the same way on every run', async () => {
      const run = async (): Promise<number[]> => {
        emulator.failShare(0.3, ['UNAVAILABLE', 'INTERNAL'], { seed: 42 });
        const statuses = [];
        for (let i = 0; i < 200; i += 1) {
          statuses.push((await send(emulator, { token: `t${i}` })).status);
        }
        return statuses;
      };

      const first = await run();
      const second = await run();
      const failed = first.filter((status) => status !== 200);

      expect(second).toEqual(first);
      expect(failed.length).toBeGreaterThan(40);
      expect(failed.length).toBeLessThan(80);
      expect(new Set(failed)).toEqual(new Set([503, 500]));
    });

    it('stops failing a share when set to zero', async () => {
      emulator.failShare(1, 'INTERNAL');
      expect((await send(emulator, { token: 't' })).status).toBe(500);

      emulator.failShare(0, 'INTERNAL');
      expect((await send(emulator, { token: 't' })).status).toBe(200);
    });

    it('still answers, and correctly, with artificial latency', async () => {
      emulator.setLatency({ minMs: 1, maxMs: 5 });
      emulator.failNext(1, 'UNAVAILABLE');

      expect((await send(emulator, { token: 't' })).status).toBe(503);
      expect((await send(emulator, { token: 't' })).status).toBe(200);
    });

    it('clears faults, record and counters on reset', async () => {
      emulator.failToken('dead', 'UNREGISTERED');
      emulator.failNext(5, 'INTERNAL');
      emulator.failShare(1, 'INTERNAL');
      await send(emulator, { token: 'x' });
      emulator.reset();

      expect((await send(emulator, { token: 'dead' })).status).toBe(200);
      expect(emulator.stats()).toMatchObject({ requests: 1, accepted: 1, refused: 0 });
      expect(emulator.received).toHaveLength(1);
    });
  });

  describe('recording', () => {
    it('keeps only the newest messages when bounded', async () => {
      const bounded = await startEmulator({ maxRecorded: 3 });
      try {
        for (let i = 0; i < 5; i += 1) {
          await send(bounded, { token: `t${i}` });
        }

        expect(bounded.received.map((m) => m.token)).toEqual(['t2', 't3', 't4']);
        expect(bounded.stats().accepted).toBe(5);
      } finally {
        await bounded.close();
      }
    });

    it('keeps only counters when recording is off', async () => {
      const counting = await startEmulator({ record: false });
      try {
        await send(counting, { token: 't' });

        expect(counting.received).toEqual([]);
        expect(counting.stats()).toMatchObject({ accepted: 1, recorded: 0 });
      } finally {
        await counting.close();
      }
    });

    it('hands each accepted message to onMessage and logs only a token prefix', async () => {
      const seen: string[] = [];
      const lines: object[] = [];
      const logger = { info: (obj: object) => lines.push(obj) };
      const hooked = await startEmulator({
        onMessage: (m) => seen.push(m.token ?? ''),
        logger,
        logMessages: true,
      });
      try {
        await send(hooked, { token: 'abcdefghijklmnopqrstuvwxyz' });

        expect(seen).toEqual(['abcdefghijklmnopqrstuvwxyz']);
        expect(JSON.stringify(lines)).not.toContain('abcdefghijklmnopqrstuvwxyz');
        expect(lines).toContainEqual(expect.objectContaining({ tokenPrefix: 'abcdefgh…' }));
      } finally {
        await hooked.close();
      }
    });
  });

  describe('OAuth token endpoint', () => {
    it('answers in the shape of oauth2.googleapis.com/token and counts the call', async () => {
      const answer = await call(emulator, '/token', undefined, {
        raw: 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=x',
      });

      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({
        access_token: expect.any(String),
        expires_in: expect.any(Number),
        token_type: 'Bearer',
      });
      expect(emulator.stats().oauthTokenRequests).toBe(1);
    });
  });

  describe('topic management', () => {
    it('subscribes tokens, answering per token as the Instance ID API does', async () => {
      emulator.failToken('dead', 'UNREGISTERED');
      const answer = await call(emulator, '/iid/v1:batchAdd', {
        to: '/topics/news',
        registration_tokens: ['a', 'dead', '', 'b'],
      });

      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({
        results: [{}, { error: 'NOT_FOUND' }, { error: 'INVALID_ARGUMENT' }, {}],
      });
      expect(emulator.subscriptions()).toEqual({ news: ['a', 'b'] });
      expect(emulator.stats().topicManagementRequests).toBe(1);
    });

    it('unsubscribes tokens', async () => {
      await call(emulator, '/iid/v1:batchAdd', {
        to: '/topics/news',
        registration_tokens: ['a', 'b'],
      });
      await call(emulator, '/iid/v1:batchRemove', {
        to: '/topics/news',
        registration_tokens: ['a'],
      });

      expect(emulator.subscriptions()).toEqual({ news: ['b'] });
    });

    it('refuses a malformed topic or an empty token list', async () => {
      const badTopic = await call(emulator, '/iid/v1:batchAdd', {
        to: 'news',
        registration_tokens: ['a'],
      });
      const noTokens = await call(emulator, '/iid/v1:batchAdd', {
        to: '/topics/news',
        registration_tokens: [],
      });

      expect([badTopic.status, noTokens.status]).toEqual([400, 400]);
      expect(badTopic.body).toEqual({ error: 'INVALID_ARGUMENT' });
    });
  });
});
