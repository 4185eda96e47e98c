import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { signatureHeaders } from '../../src/auth/webhook-signature';
import { newWebhookSecret } from '../../src/config';

export const SOURCE = 'shop';
export const JWT_SECRET = 'reliability-jwt-secret-that-is-at-least-32-bytes';
export const ADMIN_TOKEN = 'reliability-admin-token-0123456789';

/** One event of a run: its webhook-id, its body, and the one device token it goes to. */
export interface TestEvent {
  id: string;
  token: string;
  body: string;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * `count` `notification.send` events, each to one token of its own, so that what reached the
 * emulator says exactly which event was delivered and how often.
 */
export function makeEvents(count: number, prefix = randomBytes(4).toString('hex')): TestEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const token = `rel-${prefix}-${i}`;
    const body = JSON.stringify({
      type: 'notification.send',
      data: { tokens: [token], title: 'Order shipped', body: `Parcel ${i}`, data: { seq: `${i}` } },
    });
    return { id: `evt-${prefix}-${i}`, token, body };
  });
}

/** The environment every child gateway of these tests shares, over its own database. */
export function gatewayEnv(secret: string, extra: Record<string, string>): Record<string, string> {
  return {
    WEBHOOK_SECRETS: `${SOURCE}=${secret}`,
    JWT_SECRET,
    ADMIN_TOKEN,
    FIREBASE_PROJECT_ID: 'demo-herald',
    // The tests send thousands of events a minute from one source.
    RATE_LIMIT_WEBHOOKS_PER_MINUTE: '10000000',
    ...extra,
  };
}

export { newWebhookSecret };

/** A keep-alive HTTP client for one test, so thousands of requests reuse a few sockets. */
export class WebhookClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 32 });

  constructor(private readonly secret: string) {}

  /** POSTs the signed event; rejects only when no HTTP answer came (refused, reset, timeout). */
  send(baseUrl: string, event: TestEvent): Promise<Answer> {
    const headers = {
      ...signatureHeaders(this.secret, event.id, event.body),
      'content-type': 'application/json',
    };
    return this.post(`${baseUrl}/v1/webhooks/${SOURCE}`, headers, event.body);
  }

  get(url: string): Promise<Answer> {
    return this.call('GET', url, {}, undefined);
  }

  post(url: string, headers: Record<string, string>, body: string): Promise<Answer> {
    return this.call('POST', url, headers, body);
  }

  close(): void {
    this.agent.destroy();
  }

  private call(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method, headers, agent: this.agent, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 30 s`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** Runs `work` over every item with at most `concurrency` at once; settles every item. */
export async function forEachLimited<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      await work(items[index], index);
    }
  });
  await Promise.all(lanes);
}

/** Polls `check` until it returns true; fails with `what` once `timeoutMs` has passed. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
