import type { DevicesRepository } from '../db/devices-repository';
import type { Job } from '../db/job-queue';

export type Target =
  | { kind: 'token'; token: string }
  | { kind: 'topic'; topic: string }
  | { kind: 'condition'; condition: string };

/** A slice of a job's audience: one `sendEach` batch, and where the job resumes after it. */
export interface Page {
  targets: Target[];
  cursorAfter: string;
}

/** Where a users audience resumes: which user, after which of their devices. */
interface UsersCursor {
  user: number;
  afterId: string | null;
}

/**
 * Reads a job's audience a page at a time, from its cursor on. User audiences are resolved to
 * tokens now, at send time, a user at a time in id order, so a million devices never sit in
 * memory together and a device registered after the event was accepted is still reached.
 */
export async function* readPages(
  job: Job,
  devices: DevicesRepository,
  pageSize: number,
): AsyncGenerator<Page> {
  const { audience } = job.dispatch;
  switch (audience.kind) {
    case 'topic':
      if (job.cursor === null)
        yield { targets: [{ kind: 'topic', topic: audience.topic }], cursorAfter: 'done' };
      return;
    case 'condition':
      if (job.cursor === null) {
        yield {
          targets: [{ kind: 'condition', condition: audience.condition }],
          cursorAfter: 'done',
        };
      }
      return;
    case 'tokens': {
      const tokens = [...new Set(audience.tokens)];
      for (let start = Number(job.cursor ?? 0); start < tokens.length; start += pageSize) {
        const slice = tokens.slice(start, start + pageSize);
        yield {
          targets: slice.map((token) => ({ kind: 'token', token })),
          cursorAfter: String(start + slice.length),
        };
      }
      return;
    }
    case 'users': {
      // Several users' devices share a page, so a chat to a hundred people is one batch.
      const userIds = [...new Set(audience.userIds)];
      let position: UsersCursor = job.cursor
        ? (JSON.parse(job.cursor) as UsersCursor)
        : { user: 0, afterId: null };
      let targets: Target[] = [];
      while (position.user < userIds.length) {
        const limit = pageSize - targets.length;
        const rows = await devices.tokensPage(userIds[position.user], position.afterId, limit);
        for (const row of rows) targets.push({ kind: 'token', token: row.token });
        position =
          rows.length < limit
            ? { user: position.user + 1, afterId: null }
            : { user: position.user, afterId: rows[rows.length - 1].id };
        if (targets.length === pageSize) {
          yield { targets, cursorAfter: JSON.stringify(position) };
          targets = [];
        }
      }
      if (targets.length > 0) yield { targets, cursorAfter: JSON.stringify(position) };
      return;
    }
  }
}
