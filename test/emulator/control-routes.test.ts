import { startEmulator, type FcmEmulator } from '../../src/emulator';

interface Answer {
  status: number;
  body: unknown;
}

async function request(
  emulator: FcmEmulator,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: 'Bearer test' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function sendTo(emulator: FcmEmulator, token: string): Promise<number> {
  const answer = await request(emulator, 'POST', '/v1/projects/demo/messages:send', {
    message: { token },
  });
  return answer.status;
}

describe('FCM emulator control endpoints', () => {
  let emulator: FcmEmulator;

  beforeEach(async () => {
    emulator = await startEmulator();
  });

  afterEach(async () => {
    await emulator.close();
  });

  it('reports health', async () => {
    expect(await request(emulator, 'GET', '/__emulator/health')).toEqual({
      status: 200,
      body: { ok: true },
    });
  });

  it('lists received messages and clears them', async () => {
    await sendTo(emulator, 'token-a');
    const listed = await request(emulator, 'GET', '/__emulator/messages');
    const cleared = await request(emulator, 'DELETE', '/__emulator/messages');
    const after = await request(emulator, 'GET', '/__emulator/messages');

    expect(listed.body).toEqual({
      messages: [expect.objectContaining({ token: 'token-a', message: { token: 'token-a' } })],
    });
    expect(cleared.status).toBe(204);
    expect(after.body).toEqual({ messages: [] });
  });

  it('reports counters', async () => {
    await sendTo(emulator, 'token-a');
    const stats = await request(emulator, 'GET', '/__emulator/stats');

    expect(stats.body).toEqual({
      requests: 1,
      accepted: 1,
      validateOnly: 0,
      refused: 0,
      refusedByCode: {},
      oauthTokenRequests: 0,
      topicManagementRequests: 0,
      recorded: 1,
    });
  });

  it('fails chosen tokens, for good or a number of times', async () => {
    const set = await request(emulator, 'POST', '/__emulator/faults/token', {
      tokens: ['dead-1', 'dead-2'],
      errorCode: 'UNREGISTERED',
    });
    await request(emulator, 'POST', '/__emulator/faults/token', {
      token: 'flaky',
      errorCode: 'UNAVAILABLE',
      times: 1,
    });

    expect(set.status).toBe(204);
    expect(await sendTo(emulator, 'dead-1')).toBe(404);
    expect(await sendTo(emulator, 'dead-2')).toBe(404);
    expect(await sendTo(emulator, 'flaky')).toBe(503);
    expect(await sendTo(emulator, 'flaky')).toBe(200);
  });

  it('fails the next requests', async () => {
    await request(emulator, 'POST', '/__emulator/faults/next', {
      count: 1,
      errorCode: 'INTERNAL',
    });

    expect(await sendTo(emulator, 't')).toBe(500);
    expect(await sendTo(emulator, 't')).toBe(200);
  });

  it('fails a share of requests and clears faults on DELETE', async () => {
    await request(emulator, 'POST', '/__emulator/faults/share', {
      share: 1,
      errorCodes: ['QUOTA_EXCEEDED'],
      seed: 7,
    });
    expect(await sendTo(emulator, 't')).toBe(429);

    expect((await request(emulator, 'DELETE', '/__emulator/faults')).status).toBe(204);
    expect(await sendTo(emulator, 't')).toBe(200);
  });

  it('sets latency and resets everything', async () => {
    expect((await request(emulator, 'POST', '/__emulator/latency', { ms: 1 })).status).toBe(204);
    expect(
      (await request(emulator, 'POST', '/__emulator/latency', { minMs: 1, maxMs: 2 })).status,
    ).toBe(204);
    await request(emulator, 'POST', '/__emulator/faults/token', {
      token: 'dead',
      errorCode: 'UNREGISTERED',
    });
    await sendTo(emulator, 'dead');

    expect((await request(emulator, 'POST', '/__emulator/reset')).status).toBe(204);
    expect(emulator.stats()).toMatchObject({ requests: 0, refused: 0 });
    expect(await sendTo(emulator, 'dead')).toBe(200);
  });

  it('lists topic subscriptions', async () => {
    await request(emulator, 'POST', '/iid/v1:batchAdd', {
      to: '/topics/news',
      registration_tokens: ['a'],
    });

    expect((await request(emulator, 'GET', '/__emulator/topics')).body).toEqual({
      topics: { news: ['a'] },
    });
  });

  it.each([
    ['/__emulator/faults/token', { token: 't', errorCode: 'NOT_A_CODE' }],
    ['/__emulator/faults/token', { errorCode: 'UNREGISTERED' }],
    ['/__emulator/faults/share', { share: 2, errorCodes: ['INTERNAL'] }],
    ['/__emulator/faults/share', { share: 0.5, errorCodes: [] }],
    ['/__emulator/faults/next', { errorCode: 'INTERNAL' }],
    ['/__emulator/latency', { minMs: 5, maxMs: 1 }],
    ['/__emulator/latency', ['not', 'an', 'object']],
  ])('refuses a bad body for %s', async (path, body) => {
    const answer = await request(emulator, 'POST', path, body);

    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { code: 400, message: expect.any(String) } });
  });

  it('answers 404 for an unknown control endpoint', async () => {
    expect((await request(emulator, 'GET', '/__emulator/nothing')).status).toBe(404);
  });
});
