import { startEmulator, type FcmEmulator, type Latency } from '../../src/emulator';
import type { Database } from '../../src/db/connection';

/** MariaDB scenarios run only where TEST_MYSQL_URL names a server (CI always sets it). */
export const HAS_MYSQL = Boolean(process.env.TEST_MYSQL_URL);

/** `describe` when MariaDB is there; otherwise a skipped block whose name says why. */
export function describeWithMysql(name: string, body: () => void): void {
  if (HAS_MYSQL) describe(name, body);
  else describe.skip(`${name} [skipped: needs MariaDB, set TEST_MYSQL_URL]`, body);
}

/** An FCM emulator in the test process that counts every message it accepted, by token. */
export interface CountingEmulator {
  emulator: FcmEmulator;
  /** Token → how many times a message to it was accepted. */
  deliveries: Map<string, number>;
  delivered(tokens: readonly string[]): number;
  /** Tokens that received more than one message. */
  duplicates(): string[];
}

export async function startCountingEmulator(latency: Latency = 0): Promise<CountingEmulator> {
  const deliveries = new Map<string, number>();
  const emulator = await startEmulator({
    port: 0,
    record: false,
    latency,
    onMessage: (message) => {
      const key = message.token ?? message.topic ?? message.condition ?? '';
      deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
    },
  });
  return {
    emulator,
    deliveries,
    delivered: (tokens) => tokens.filter((token) => (deliveries.get(token) ?? 0) > 0).length,
    duplicates: () => [...deliveries].filter(([, n]) => n > 1).map(([token]) => token),
  };
}

/** Delivery jobs by state, and who holds the leased ones. */
export async function jobsSnapshot(db: Database): Promise<{
  total: number;
  leased: Array<{ id: string; notificationId: string; owner: string }>;
}> {
  const rows = await db('delivery_jobs').select('id', 'notification_id', 'state', 'lease_owner');
  return {
    total: rows.length,
    leased: rows
      .filter((row) => row.state === 'leased')
      .map((row) => ({
        id: String(row.id),
        notificationId: String(row.notification_id),
        owner: String(row.lease_owner),
      })),
  };
}

/** Notification statuses by webhook-id. */
export async function notificationsByWebhookId(
  db: Database,
): Promise<Map<string, { id: string; status: string }>> {
  const rows = await db('notifications').select('id', 'webhook_id', 'status');
  return new Map(rows.map((row) => [String(row.webhook_id), { id: row.id, status: row.status }]));
}
