import type { Knex } from 'knex';
import type { Audience, MessageTemplate } from '../plugins/contract';
import { isMysql, type Database } from './connection';
import { tokenHash } from './devices-repository';
import {
  finalStatus,
  type NotificationRow,
  type NotificationStatus,
} from './notifications-repository';

/**
 * Who a job delivers to: a plugin's audience, or users and tokens named together for one message,
 * which one job delivers so that a device both named and registered by a user hears once.
 */
export type JobAudience =
  Audience | { kind: 'users-and-tokens'; userIds: string[]; tokens: string[] };

/** What a job delivers: a plugin's dispatch, or several of one event merged. */
export interface JobDispatch {
  audience: JobAudience;
  message: MessageTemplate;
}

/** A delivery job as a worker holds it: one dispatch of one notification, maybe part-done. */
export interface Job {
  id: string;
  notificationId: string;
  plugin: string;
  dispatch: JobDispatch;
  /** Where a part-done job resumes (the dispatcher's own format), or null from the start. */
  cursor: string | null;
  /** 1 for the first try; a retry of failed tokens is a new job with the next number. */
  attempt: number;
  /** The request that accepted the event, carried into delivery logs. */
  requestId: string | null;
}

interface JobRow {
  id: number | string;
  notification_id: string;
  plugin: string;
  dispatch: string;
  cursor: string | null;
  attempt: number;
  state: 'queued' | 'leased';
  run_at: Date | number;
  lease_owner: string | null;
  lease_expires_at: Date | number | null;
  request_id: string | null;
  created_at: Date | number;
}

/** What one settled page of a job adds to its notification. */
export interface Progress {
  targeted: number;
  sent: number;
  failed: number;
  pruned: number;
  lastError?: string;
}

/** A job whose lease another worker now holds: its worker must stop and let go. */
export class LeaseLostError extends Error {
  constructor(jobId: string) {
    super(`lost the lease on delivery job ${jobId}`);
    this.name = 'LeaseLostError';
  }
}

export interface NewJob {
  notificationId: string;
  plugin: string;
  dispatch: JobDispatch;
  attempt?: number;
  runAt?: Date;
  requestId?: string | null;
}

export function jobRow(job: NewJob, now: Date) {
  return {
    notification_id: job.notificationId,
    plugin: job.plugin,
    dispatch: JSON.stringify(job.dispatch),
    cursor: null,
    attempt: job.attempt ?? 1,
    state: 'queued',
    run_at: job.runAt ?? now,
    lease_owner: null,
    lease_expires_at: null,
    request_id: job.requestId ?? null,
    created_at: now,
  };
}

/**
 * The durable queue of delivery jobs. Workers in any number of processes claim jobs under a
 * lease; on MySQL the claim skips rows another worker has locked, so none waits on another and
 * none claims a job twice. A job whose lease ran out (its worker died) goes back to the queue.
 *
 * Every transaction here takes its locks in one order, jobs before their notification, so two
 * of them never wait on each other in a circle.
 */
export class JobQueue {
  private readonly mysql: boolean;

  constructor(
    private readonly db: Database,
    readonly leaseMs: number,
  ) {
    this.mysql = isMysql(db);
  }

  async claim(owner: string, limit: number): Promise<Job[]> {
    const now = new Date();
    const rows = await this.transaction(async (trx) => {
      const query = trx<JobRow>('delivery_jobs')
        .where('state', 'queued')
        .andWhere('run_at', '<=', now)
        .orderBy('run_at')
        .limit(limit);
      const found = this.mysql ? await query.forUpdate().skipLocked() : await query;
      if (found.length === 0) return found;

      const ids = found.map((row) => row.id);
      await trx('delivery_jobs')
        .whereIn('id', ids)
        .update({ state: 'leased', lease_owner: owner, lease_expires_at: this.leaseEnd() });
      await trx('notifications')
        .whereIn('id', [...new Set(found.map((row) => row.notification_id))])
        .andWhere('status', 'queued')
        .update({ status: 'sending', updated_at: now });
      return found;
    });
    return rows.map(toJob);
  }

  /** Extends a held lease; false when the job is no longer this owner's. */
  async renew(jobId: string, owner: string): Promise<boolean> {
    const updated = await this.db('delivery_jobs')
      .where({ id: jobId, lease_owner: owner, state: 'leased' })
      .update({ lease_expires_at: this.leaseEnd() });
    return updated > 0;
  }

  /** Hands a held job back to the queue at once (a worker shutting down). */
  async release(jobId: string, owner: string): Promise<void> {
    await this.db('delivery_jobs')
      .where({ id: jobId, lease_owner: owner, state: 'leased' })
      .update({ state: 'queued', lease_owner: null, lease_expires_at: null });
  }

  /** Returns jobs whose lease ran out to the queue; how many it returned. */
  async reap(): Promise<number> {
    return this.db('delivery_jobs')
      .where('state', 'leased')
      .andWhere('lease_expires_at', '<', new Date())
      .update({ state: 'queued', lease_owner: null, lease_expires_at: null });
  }

  /**
   * Records one settled page in one transaction: the notification's counts, the job's new
   * cursor, the retry job for its retryable tokens, and the removal of every device whose token
   * FCM declared dead (so `pruned` counts exactly the devices removed). Refused with
   * `LeaseLostError` when the job is no longer this owner's, so a worker that lost its lease
   * changes nothing.
   */
  async recordProgress(
    job: Job,
    owner: string,
    progress: Progress & { cursor: string | null; retry?: NewJob; deadTokens?: string[] },
  ): Promise<void> {
    await this.transaction(async (trx) => {
      const held = await trx('delivery_jobs')
        .where({ id: job.id, lease_owner: owner, state: 'leased' })
        .update({ cursor: progress.cursor, lease_expires_at: this.leaseEnd() });
      if (held === 0) throw new LeaseLostError(job.id);

      const dead = progress.deadTokens ?? [];
      if (dead.length > 0) await trx('devices').whereIn('token_hash', dead.map(tokenHash)).delete();
      if (progress.retry) await trx('delivery_jobs').insert(jobRow(progress.retry, new Date()));
      await addProgress(trx, job.notificationId, progress);
    });
  }

  /**
   * Removes a finished job. When it was its notification's last, the notification takes its
   * final status, which is returned (undefined while other jobs remain).
   */
  async finish(job: Job, owner: string): Promise<NotificationStatus | undefined> {
    return this.transaction(async (trx) => {
      const deleted = await trx('delivery_jobs').where({ id: job.id, lease_owner: owner }).delete();
      if (deleted === 0) throw new LeaseLostError(job.id);

      // Counting under the notification's lock makes the last of several finishing jobs see the
      // others gone, so exactly one of them settles the final status.
      const notification = await lockNotification(trx, job.notificationId, this.mysql);
      if (!notification) return undefined;

      const left = await trx('delivery_jobs')
        .where({ notification_id: job.notificationId })
        .count<{ n: number | string }[]>({ n: '*' });
      if (Number(left[0].n) > 0) return undefined;

      const status = finalStatus({
        targeted: Number(notification.targeted),
        sent: Number(notification.sent),
      });
      await trx('notifications')
        .where({ id: job.notificationId })
        .update({ status, updated_at: new Date() });
      return status;
    });
  }

  /** Jobs by state, for the queue gauge: ready, scheduled (waiting to retry) and leased. */
  async depth(): Promise<Record<string, number>> {
    const now = new Date();
    const rows = await this.db('delivery_jobs')
      .select(
        this.db.raw(
          "CASE WHEN state = 'leased' THEN 'leased' WHEN run_at > ? THEN 'scheduled' " +
            "ELSE 'ready' END AS bucket",
          [now],
        ),
      )
      .count<{ bucket: string; n: number | string }[]>({ n: '*' })
      .groupBy('bucket');
    const depth: Record<string, number> = { ready: 0, scheduled: 0, leased: 0 };
    for (const row of rows) depth[row.bucket] = Number(row.n);
    return depth;
  }

  /**
   * A transaction, run again when InnoDB picks it as a deadlock's victim: the victim is rolled
   * back whole, so nothing of the first run remains. (MySQL sessions run at READ COMMITTED, see
   * `openDatabase`, which keeps the claim's locks to the rows it takes; this covers the rest.)
   */
  private async transaction<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.db.transaction(work);
      } catch (err) {
        if (attempt >= DEADLOCK_ATTEMPTS || !isDeadlock(err)) throw err;
      }
    }
  }

  private leaseEnd(): Date {
    return new Date(Date.now() + this.leaseMs);
  }
}

const DEADLOCK_ATTEMPTS = 3;

function isDeadlock(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === 'ER_LOCK_DEADLOCK';
}

async function lockNotification(
  trx: Knex.Transaction,
  id: string,
  mysql: boolean,
): Promise<Pick<NotificationRow, 'targeted' | 'sent'> | undefined> {
  const query = trx<NotificationRow>('notifications').select('targeted', 'sent').where({ id });
  return mysql ? query.forUpdate().first() : query.first();
}

async function addProgress(trx: Knex.Transaction, id: string, progress: Progress): Promise<void> {
  const changes: Record<string, unknown> = {
    targeted: trx.raw('targeted + ?', [progress.targeted]),
    sent: trx.raw('sent + ?', [progress.sent]),
    failed: trx.raw('failed + ?', [progress.failed]),
    pruned: trx.raw('pruned + ?', [progress.pruned]),
    updated_at: new Date(),
  };
  if (progress.lastError !== undefined) changes.last_error = progress.lastError.slice(0, 1000);
  await trx('notifications').where({ id }).update(changes);
}

function toJob(row: JobRow): Job {
  return {
    id: String(row.id),
    notificationId: row.notification_id,
    plugin: row.plugin,
    dispatch: JSON.parse(row.dispatch) as JobDispatch,
    cursor: row.cursor,
    attempt: Number(row.attempt),
    requestId: row.request_id,
  };
}
