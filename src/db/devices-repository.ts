import { createHash, randomUUID } from 'node:crypto';
import type { Database } from './connection';
import { GroupCommit, type Pending } from './group-commit';
import { readTime } from './time';

export type Platform = 'android' | 'ios' | 'web';

export interface Device {
  id: string;
  userId: string;
  platform: Platform;
  createdAt: Date;
  updatedAt: Date;
}

interface DeviceRow {
  id: string;
  user_id: string;
  token: string;
  token_hash: string;
  platform: Platform;
  created_at: Date | number;
  updated_at: Date | number;
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

interface Registration {
  userId: string;
  token: string;
  platform: Platform;
}

export interface RegisterResult {
  device: Device;
  created: boolean;
}

export class DevicesRepository {
  private readonly registrations: GroupCommit<Registration, RegisterResult>;

  constructor(private readonly db: Database) {
    this.registrations = new GroupCommit((batch) => this.registerBatch(batch));
  }

  /**
   * Registers a token for a user. A known token keeps its id and moves to the caller: a phone
   * that changed hands must stop notifying its old owner. Registrations arriving together share
   * one upsert, and the unique token hash leaves one row however many users race for a token.
   */
  register(userId: string, token: string, platform: Platform): Promise<RegisterResult> {
    return this.registrations.submit({ userId, token, platform });
  }

  private async registerBatch(batch: Array<Pending<Registration, RegisterResult>>): Promise<void> {
    const now = new Date();
    const rows = batch.map(({ value }) => ({
      id: randomUUID(),
      user_id: value.userId,
      token: value.token,
      token_hash: tokenHash(value.token),
      platform: value.platform,
      created_at: now,
      updated_at: now,
    }));
    // Rows for one token in one batch apply in order, as if they had come one after another.
    await this.db('devices')
      .insert(rows)
      .onConflict('token_hash')
      .merge(['user_id', 'platform', 'updated_at']);

    const hashes = [...new Set(rows.map((row) => row.token_hash))];
    const stored = await this.db<DeviceRow>('devices').whereIn('token_hash', hashes);
    const byHash = new Map(stored.map((row) => [row.token_hash, row]));
    batch.forEach((item, i) => {
      const row = byHash.get(rows[i].token_hash);
      if (!row) item.reject(new Error('device vanished right after its upsert'));
      else item.resolve({ device: toDevice(row), created: row.id === rows[i].id });
    });
  }

  async listForUser(userId: string): Promise<Device[]> {
    const rows = await this.db<DeviceRow>('devices')
      .where({ user_id: userId })
      .orderBy('created_at')
      .orderBy('id');
    return rows.map(toDevice);
  }

  /** Removes one of the user's devices; false when the user has no device with that id. */
  async deleteForUser(userId: string, id: string): Promise<boolean> {
    const deleted = await this.db('devices').where({ id, user_id: userId }).delete();
    return deleted > 0;
  }

  /**
   * One page of the devices of several users, in the database's own (user id, device id) order,
   * after `after` (exclusive). Ordering and comparing in the database keeps the cursor true to
   * its collation, whatever order the user ids were given in.
   */
  async tokensPage(
    userIds: readonly string[],
    after: { userId: string; id: string } | null,
    limit: number,
  ): Promise<Array<{ id: string; userId: string; token: string }>> {
    const query = this.db<DeviceRow>('devices')
      .select('id', 'user_id', 'token')
      .whereIn('user_id', userIds)
      .orderBy('user_id')
      .orderBy('id')
      .limit(limit);
    if (after !== null) {
      query.andWhere((position) =>
        position
          .where('user_id', '>', after.userId)
          .orWhere((same) => same.where('user_id', after.userId).andWhere('id', '>', after.id)),
      );
    }
    const rows = await query;
    return rows.map((row) => ({ id: row.id, userId: row.user_id, token: row.token }));
  }
}

function toDevice(row: DeviceRow): Device {
  return {
    id: row.id,
    userId: row.user_id,
    platform: row.platform,
    createdAt: readTime(row.created_at),
    updatedAt: readTime(row.updated_at),
  };
}
