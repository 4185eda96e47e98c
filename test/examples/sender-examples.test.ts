/**
 * The sender-side examples in examples/, run as a third party would run them, against a
 * gateway listening on a loopback port.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { newWebhookSecret } from '../../src/config';
import { run } from '../cli/cli-harness';
import { ROOT } from '../helpers/build-once';
import { buildTestApp, TEST_SOURCE, type TestApp } from '../helpers/app';

const NODE_EXAMPLE = join(ROOT, 'examples', 'send-webhook.js');
const SHELL_EXAMPLE = join(ROOT, 'examples', 'send-webhook.sh');

/** The app behind a server that answers its first `failures` requests 503 with Retry-After. */
async function serve(t: TestApp, failures = 0) {
  const seen: IncomingMessage['headers'][] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.headers);
    if (seen.length <= failures) {
      req.resume();
      res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1' });
      res.end('{"error": {"code": "unavailable", "message": "retry later"}}');
      return;
    }
    void t.app(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('the sender examples', () => {
  let t: TestApp;
  let front: Awaited<ReturnType<typeof serve>>;

  afterEach(async () => {
    await front?.close();
    await t?.close();
  });

  function env(secret: string | undefined): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '',
      HERALD_URL: front.url,
      HERALD_SOURCE: TEST_SOURCE,
      ...(secret === undefined ? {} : { HERALD_WEBHOOK_SECRET: secret }),
    };
  }

  it('examples/send-webhook.js signs with standardwebhooks and gets a 202', async () => {
    t = await buildTestApp('sqlite');
    front = await serve(t);

    const result = await run(process.execPath, [NODE_EXAMPLE], {
      env: env(t.webhookSecret),
      cwd: ROOT,
    });

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^202 \{"notificationId":"[^"]+","status":"queued"\}\n$/);
  });

  it('examples/send-webhook.js retries a 503 with the same webhook-id and body', async () => {
    t = await buildTestApp('sqlite');
    front = await serve(t, 1);

    const result = await run(process.execPath, [NODE_EXAMPLE], {
      env: env(t.webhookSecret),
      cwd: ROOT,
    });

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^202 /);
    expect(front.seen).toHaveLength(2);
    expect(front.seen[1]['webhook-id']).toBe(front.seen[0]['webhook-id']);
    expect(await t.db('notifications').count({ n: '*' })).toEqual([{ n: 1 }]);
  });

  it('examples/send-webhook.js exits 1 with the refusal of a wrong secret', async () => {
    t = await buildTestApp('sqlite');
    front = await serve(t);

    const wrong = await run(process.execPath, [NODE_EXAMPLE], {
      env: env(newWebhookSecret()),
      cwd: ROOT,
    });
    const missing = await run(process.execPath, [NODE_EXAMPLE], { env: env(undefined), cwd: ROOT });

    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/^401 .*invalid_signature/);
    expect(missing.code).toBe(2);
  });

  it('examples/send-webhook.sh signs with openssl and gets a 202 for any event', async () => {
    t = await buildTestApp('sqlite');
    front = await serve(t);
    const event = JSON.stringify({
      type: 'notification.send',
      data: { userIds: ['alice'], title: "Don't forget", body: 'Lunch at noon' },
    });

    const chat = await run('bash', [SHELL_EXAMPLE], { env: env(t.webhookSecret), cwd: ROOT });
    const direct = await run('bash', [SHELL_EXAMPLE, event], {
      env: env(t.webhookSecret),
      cwd: ROOT,
    });

    expect(chat.code).toBe(0);
    expect(JSON.parse(chat.stdout)).toMatchObject({ status: 'queued' });
    expect(direct.code).toBe(0);
    expect(JSON.parse(direct.stdout)).toMatchObject({ status: 'queued' });
    const types = await t.db('notifications').select('type').orderBy('type');
    expect(types).toEqual([{ type: 'chat.message.created' }, { type: 'notification.send' }]);
  });
});
