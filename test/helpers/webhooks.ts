import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { signatureHeaders } from '../../src/auth/webhook-signature';
import { tokenHash } from '../../src/db/devices-repository';
import { FINAL_STATUSES, type NotificationStatus } from '../../src/db/notifications-repository';
import { TEST_ADMIN_TOKEN, TEST_SOURCE, type TestApp } from './app';
import { waitFor } from './wait';

export interface PostOptions {
  /** The webhook-id; a fresh one by default. */
  id?: string;
  /** Signing secret; the test source's by default. */
  secret?: string;
  source?: string;
  /** Seconds since the epoch to sign with; now by default. */
  timestamp?: number;
  /** `null` sends no Content-Type at all. */
  contentType?: string | null;
}

export function newWebhookId(): string {
  return `msg_${randomUUID()}`;
}

/** POSTs `event` (sent as JSON, or as it is when a string) with valid Standard Webhooks headers. */
export function postWebhook(t: TestApp, event: object | string, options: PostOptions = {}) {
  const body = typeof event === 'string' ? event : JSON.stringify(event);
  const id = options.id ?? newWebhookId();
  const req = request(t.app)
    .post(`/v1/webhooks/${options.source ?? TEST_SOURCE}`)
    .set(signatureHeaders(options.secret ?? t.webhookSecret, id, body, options.timestamp));
  const { contentType = 'application/json' } = options;
  return contentType === null
    ? req.send(Buffer.from(body))
    : req.set('content-type', contentType).send(body);
}

/** A `notification.send` event (direct plugin). */
export function directEvent(target: { userIds?: unknown[]; tokens?: string[] }, extra = {}) {
  return {
    type: 'notification.send',
    data: { ...target, title: 'Your parcel', body: 'It has arrived', ...extra },
  };
}

/** A `chat.message.created` event to one user. */
export function chatEvent(recipientUserId: unknown, extra: Record<string, unknown> = {}) {
  return {
    type: 'chat.message.created',
    data: {
      recipientUserId,
      senderName: 'Ada',
      messagePreview: 'See you at eight?',
      conversationId: 'conv-1',
      ...extra,
    },
  };
}

export interface NotificationView {
  id: string;
  source: string;
  type: string;
  plugin: string;
  status: NotificationStatus;
  createdAt: string;
  updatedAt: string;
  counts: { targeted: number; sent: number; failed: number; pruned: number };
  lastError: string | null;
}

/** The admin API's view of a notification. */
export async function getNotification(t: TestApp, id: string): Promise<NotificationView> {
  const res = await request(t.app)
    .get(`/v1/notifications/${id}`)
    .set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`);
  if (res.status !== 200) throw new Error(`admin API answered ${res.status} for ${id}`);
  return res.body as NotificationView;
}

/** Waits, through the admin API, until the notification has its final status. */
export function settled(t: TestApp, id: string, timeoutMs = 15_000): Promise<NotificationView> {
  return waitFor(
    () => getNotification(t, id),
    (view) => FINAL_STATUSES.includes(view.status),
    { timeoutMs, what: `notification ${id} to settle` },
  );
}

/**
 * Registers devices straight in the database, many at once: the device API (and its per-user
 * rate limit) is not what these tests are about.
 */
export async function addDevices(t: TestApp, userId: string, tokens: string[]): Promise<void> {
  const now = new Date();
  const rows = tokens.map((token) => ({
    id: randomUUID(),
    user_id: userId,
    token,
    token_hash: tokenHash(token),
    platform: 'android',
    created_at: now,
    updated_at: now,
  }));
  for (let start = 0; start < rows.length; start += 200) {
    await t.db('devices').insert(rows.slice(start, start + 200));
  }
}

/** Rows in the tables an event writes to. */
export async function storedRows(t: TestApp): Promise<{ notifications: number; jobs: number }> {
  const count = async (table: string) => {
    const [row] = await t.db(table).count<{ n: number | string }[]>({ n: '*' });
    return Number(row.n);
  };
  return { notifications: await count('notifications'), jobs: await count('delivery_jobs') };
}

/** Tokens the emulator accepted a message for, in arrival order. */
export function receivedTokens(t: TestApp): string[] {
  return t.emulator.received.flatMap((message) => (message.token ? [message.token] : []));
}
