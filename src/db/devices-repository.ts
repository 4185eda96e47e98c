import { createHash, randomUUID } from 'node:crypto';
import type { Database } from './connection';
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

export class DevicesRepository {
  constructor(private readonly db: Database) {}

  /**
   * Registers a token for a user in one atomic upsert, so two users racing for the same token
   * leave one row. A known token keeps its id and moves to the caller: a phone that changed
   * hands must stop notifying its old owner.
   */
  async register(
    userId: string,
    token: string,
    platform: Platform,
  ): Promise<{ device: Device; created: boolean }> {
    const now = new Date();
    const id = randomUUID();
    const hash = tokenHash(token);
    await this.db('devices')
      .insert({
        id,
        user_id: userId,
        token,
        token_hash: hash,
        platform,
        created_at: now,
        updated_at: now,
      })
      .onConflict('token_hash')
      .merge({ user_id: userId, platform, updated_at: now });

    const row = await this.db<DeviceRow>('devices').where({ token_hash: hash }).first();
    if (!row) throw new Error('device vanished right after its upsert');
    return { device: toDevice(row), created: row.id === id };
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

  /** Removes every device registered with one of these tokens; returns how many went. */
  async pruneTokens(tokens: readonly string[]): Promise<number> {
    if (tokens.length === 0) return 0;
    return this.db('devices').whereIn('token_hash', tokens.map(tokenHash)).delete();
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
