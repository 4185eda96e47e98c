import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Dispatch } from '../plugins/contract';
import type { Database } from './connection';
import { isDuplicateKey } from './errors';
import { GroupCommit, type Pending as CommitItem } from './group-commit';
import { insertRows } from './insert-rows';
import { jobRow, type JobAudience, type JobDispatch } from './job-queue';
import { NotificationsRepository, type NotificationStatus } from './notifications-repository';

/** A validated event, ready to be stored with its jobs. */
export interface Acceptance {
  source: string;
  webhookId: string;
  bodyHash: string;
  type: string;
  plugin: string;
  dispatches: Dispatch[];
  requestId?: string;
}

export type IntakeResult =
  | { outcome: 'accepted'; notificationId: string; status: NotificationStatus }
  | { outcome: 'duplicate'; notificationId: string; status: NotificationStatus }
  | { outcome: 'conflict' };

type Pending = CommitItem<Acceptance, IntakeResult>;

/**
 * Stores accepted events durably: each notification row with its delivery jobs, committed
 * before anyone is told "accepted", several requests' events in one transaction.
 */
export class EventIntake {
  private readonly commits: GroupCommit<Acceptance, IntakeResult>;
  private readonly notifications: NotificationsRepository;

  constructor(
    private readonly db: Database,
    private readonly options: { maxBatch?: number; onAccepted?: () => void } = {},
  ) {
    this.commits = new GroupCommit((batch) => this.commitBatch(batch), options.maxBatch);
    this.notifications = new NotificationsRepository(db);
  }

  accept(acceptance: Acceptance): Promise<IntakeResult> {
    return this.commits.submit(acceptance);
  }

  private async commitBatch(batch: Pending[]): Promise<void> {
    // The same webhook twice in one batch: the first decides, the others answer after it.
    const leaders = new Map<string, Pending>();
    const followers: Pending[] = [];
    for (const item of batch) {
      const key = webhookKey(item.value);
      if (leaders.has(key)) followers.push(item);
      else leaders.set(key, item);
    }

    const results = new Map<Pending, IntakeResult>();
    try {
      const ids = await this.insertAll([...leaders.values()].map((item) => item.value));
      [...leaders.values()].forEach((item, i) =>
        results.set(item, { outcome: 'accepted', notificationId: ids[i], status: statusOf(item) }),
      );
    } catch (err) {
      if (!isDuplicateKey(err)) {
        for (const item of batch) item.reject(err);
        return;
      }
      // Someone else stored one of these webhook ids first: settle them one at a time.
      for (const item of leaders.values()) {
        try {
          results.set(item, await this.acceptOne(item.value));
        } catch (oneErr) {
          item.reject(oneErr);
        }
      }
    }

    for (const [item, result] of results) item.resolve(result);
    for (const item of followers) {
      const leader = leaders.get(webhookKey(item.value)) as Pending;
      const decided = results.get(leader);
      if (decided && decided.outcome !== 'conflict') {
        item.resolve(answerRepeat(decided, leader.value, item.value));
      } else {
        // Nothing of ours was stored for this id: compare with whatever is.
        this.acceptOne(item.value).then(item.resolve, item.reject);
      }
    }
    if (results.size > 0) this.options.onAccepted?.();
  }

  private async acceptOne(acceptance: Acceptance): Promise<IntakeResult> {
    try {
      const [id] = await this.insertAll([acceptance]);
      return { outcome: 'accepted', notificationId: id, status: statusOfAcceptance(acceptance) };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const existing = await this.notifications.findByWebhookId(
        acceptance.source,
        acceptance.webhookId,
      );
      if (!existing) throw err;
      return existing.body_hash === acceptance.bodyHash
        ? { outcome: 'duplicate', notificationId: existing.id, status: existing.status }
        : { outcome: 'conflict' };
    }
  }

  private async insertAll(acceptances: Acceptance[]): Promise<string[]> {
    const now = new Date();
    const ids = acceptances.map(() => randomUUID());
    await this.db.transaction(async (trx: Knex.Transaction) => {
      await insertRows(
        trx,
        'notifications',
        acceptances.map((a, i) => ({
          id: ids[i],
          source: a.source,
          webhook_id: a.webhookId,
          body_hash: a.bodyHash,
          type: a.type,
          plugin: a.plugin,
          status: statusOfAcceptance(a),
          request_id: a.requestId ?? null,
          created_at: now,
          updated_at: now,
        })),
      );
      const jobs = acceptances.flatMap((a, i) =>
        jobDispatches(a.dispatches).map((dispatch) =>
          jobRow(
            { notificationId: ids[i], plugin: a.plugin, dispatch, requestId: a.requestId },
            now,
          ),
        ),
      );
      // Big audiences make big rows: insert in slices to stay under packet limits.
      for (let start = 0; start < jobs.length; start += 100) {
        await insertRows(trx, 'delivery_jobs', jobs.slice(start, start + 100));
      }
    });
    return ids;
  }
}

/**
 * The jobs of one event: its dispatches, except that the users and tokens of dispatches with the
 * same message become one audience. A device that is both named by its token and registered by
 * a named user then hears the message once, whichever worker takes the job.
 */
export function jobDispatches(dispatches: readonly Dispatch[]): JobDispatch[] {
  const jobs: JobDispatch[] = [];
  const devices = new Map<string, { at: number; userIds: Set<string>; tokens: Set<string> }>();
  for (const { audience, message } of dispatches) {
    if (audience.kind !== 'users' && audience.kind !== 'tokens') {
      jobs.push({ audience, message });
      continue;
    }

    // One dispatch needs no grouping key: most events have one, and their message can be long.
    const key = dispatches.length === 1 ? '' : JSON.stringify(message);
    let group = devices.get(key);
    if (!group) {
      group = { at: jobs.length, userIds: new Set(), tokens: new Set() };
      devices.set(key, group);
      jobs.push({ audience, message });
    }
    const into = audience.kind === 'users' ? group.userIds : group.tokens;
    for (const id of audience.kind === 'users' ? audience.userIds : audience.tokens) into.add(id);
  }

  for (const { at, userIds, tokens } of devices.values()) {
    jobs[at] = { audience: devicesAudience([...userIds], [...tokens]), message: jobs[at].message };
  }
  return jobs;
}

function devicesAudience(userIds: string[], tokens: string[]): JobAudience {
  if (tokens.length === 0) return { kind: 'users', userIds };
  if (userIds.length === 0) return { kind: 'tokens', tokens };
  return { kind: 'users-and-tokens', userIds, tokens };
}

function statusOfAcceptance(acceptance: Acceptance): NotificationStatus {
  return acceptance.dispatches.length === 0 ? 'no_targets' : 'queued';
}

function statusOf(item: Pending): NotificationStatus {
  return statusOfAcceptance(item.value);
}

function webhookKey(acceptance: Acceptance): string {
  return `${acceptance.source}\n${acceptance.webhookId}`;
}

function answerRepeat(
  decided: Exclude<IntakeResult, { outcome: 'conflict' }>,
  first: Acceptance,
  again: Acceptance,
): IntakeResult {
  if (first.bodyHash !== again.bodyHash) return { outcome: 'conflict' };
  return { outcome: 'duplicate', notificationId: decided.notificationId, status: decided.status };
}
