import type { Knex } from 'knex';
import type { Database } from './connection';
import { readTime } from './time';

export type NotificationStatus =
  'queued' | 'sending' | 'delivered' | 'partial' | 'failed' | 'no_targets';

export const FINAL_STATUSES: readonly NotificationStatus[] = [
  'delivered',
  'partial',
  'failed',
  'no_targets',
];

export interface Notification {
  id: string;
  source: string;
  type: string;
  plugin: string;
  status: NotificationStatus;
  createdAt: Date;
  updatedAt: Date;
  counts: { targeted: number; sent: number; failed: number; pruned: number };
  lastError: string | null;
}

export interface NotificationRow {
  id: string;
  source: string;
  webhook_id: string;
  body_hash: string;
  type: string;
  plugin: string;
  status: NotificationStatus;
  targeted: number;
  sent: number;
  failed: number;
  pruned: number;
  last_error: string | null;
  request_id: string | null;
  created_at: Date | number;
  updated_at: Date | number;
}

/** The status a notification ends in, from its counts once no job of it is left. */
export function finalStatus(counts: { targeted: number; sent: number }): NotificationStatus {
  if (counts.targeted === 0) return 'no_targets';
  if (counts.sent >= counts.targeted) return 'delivered';
  if (counts.sent === 0) return 'failed';
  return 'partial';
}

export class NotificationsRepository {
  constructor(private readonly db: Database) {}

  async get(id: string): Promise<Notification | undefined> {
    const row = await this.db<NotificationRow>('notifications').where({ id }).first();
    return row && toNotification(row);
  }

  /** The notification a source already created with this webhook-id, if any. */
  async findByWebhookId(
    source: string,
    webhookId: string,
    db: Knex = this.db,
  ): Promise<Pick<NotificationRow, 'id' | 'status' | 'body_hash'> | undefined> {
    return db<NotificationRow>('notifications')
      .select('id', 'status', 'body_hash')
      .where({ source, webhook_id: webhookId })
      .first();
  }
}

export function toNotification(row: NotificationRow): Notification {
  return {
    id: row.id,
    source: row.source,
    type: row.type,
    plugin: row.plugin,
    status: row.status,
    createdAt: readTime(row.created_at),
    updatedAt: readTime(row.updated_at),
    counts: {
      targeted: Number(row.targeted),
      sent: Number(row.sent),
      failed: Number(row.failed),
      pruned: Number(row.pruned),
    },
    lastError: row.last_error,
  };
}
