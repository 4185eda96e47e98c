/**
 * What the bench does to a gateway from outside: sign and post events, and watch their
 * notifications settle in the database.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { signatureHeaders } from '../src/auth/webhook-signature';
import type { Database } from '../src/db/connection';
import { sleep } from './processes';

export const BENCH_SOURCE = 'bench';
export const BENCH_WEBHOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
export const BENCH_JWT_SECRET = randomBytes(32).toString('hex');

/** The gateway's environment for a bench run, over its own database and the emulator. */
export function gatewayEnv(databaseUrl: string, emulatorHost: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    FCM_EMULATOR_HOST: emulatorHost,
    FIREBASE_PROJECT_ID: 'demo-herald-bench',
    WEBHOOK_SECRETS: `${BENCH_SOURCE}=${BENCH_WEBHOOK_SECRET}`,
    JWT_SECRET: BENCH_JWT_SECRET,
    RATE_LIMIT_WEBHOOKS_PER_MINUTE: '10000000',
    RATE_LIMIT_DEVICES_PER_MINUTE: '10000000',
    LOG_LEVEL: 'warn',
  };
}

export interface BenchEvent {
  type: string;
  data: Record<string, unknown>;
}

/** Posts one signed event; the notification id of its 202, or an error naming the answer. */
export async function postEvent(gatewayUrl: string, event: BenchEvent): Promise<string> {
  const body = JSON.stringify(event);
  const res = await fetch(`${gatewayUrl}/v1/webhooks/${BENCH_SOURCE}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...signatureHeaders(BENCH_WEBHOOK_SECRET, `bench-${randomUUID()}`, body),
    },
    body,
  });
  const answer = await res.text();
  if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${answer}`);
  return (JSON.parse(answer) as { notificationId: string }).notificationId;
}

/** Posts every event, `parallel` at a time, in order; their notification ids. */
export async function postEvents(
  gatewayUrl: string,
  events: BenchEvent[],
  parallel: number,
): Promise<string[]> {
  const ids: string[] = new Array<string>(events.length);
  let next = 0;
  const lane = async () => {
    while (next < events.length) {
      const i = next;
      next += 1;
      ids[i] = await postEvent(gatewayUrl, events[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, events.length) }, lane));
  return ids;
}

const FINAL = ['delivered', 'partial', 'failed', 'no_targets'];

export interface Settled {
  sent: number;
  failed: number;
  pruned: number;
}

/**
 * Waits until every notification has its final status and adds up their counts. Polls the
 * database (not the gateway) so that watching costs the gateway nothing.
 */
export async function waitSettled(
  db: Database,
  ids: string[],
  timeoutMs: number,
  pollMs = 20,
): Promise<Settled> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await db('notifications')
      .whereIn('id', ids)
      .whereIn('status', FINAL)
      .select(
        db.raw('COUNT(*) AS n'),
        db.raw('COALESCE(SUM(sent), 0) AS sent'),
        db.raw('COALESCE(SUM(failed), 0) AS failed'),
        db.raw('COALESCE(SUM(pruned), 0) AS pruned'),
      );
    const counts = row as { n: number | string; sent: number; failed: number; pruned: number };
    if (Number(counts.n) === ids.length) {
      return {
        sent: Number(counts.sent),
        failed: Number(counts.failed),
        pruned: Number(counts.pruned),
      };
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${ids.length - Number(counts.n)} notifications not settled in ${timeoutMs} ms`,
      );
    }
    await sleep(pollMs);
  }
}
