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

/**
 * Where an audience of users (and maybe tokens) resumes: the first user id (by position in the
 * job's list) of the group of users being read, and the last device read of that group;
 * `token` once the users are done and the named tokens are being sent.
 */
interface DevicesCursor {
  user: number;
  after: { userId: string; id: string } | null;
  token?: number;
}

/** Users whose devices one query reads: few enough for a short `IN` list, many enough that
 * an audience of users with a device or two each still fills a page per query. */
const USERS_PER_QUERY = 500;

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
    case 'tokens':
      yield* tokenPages(audience.tokens, Number(job.cursor ?? 0), pageSize, String);
      return;
    case 'users':
      yield* userPages(audience.userIds, new Set(), readCursor(job.cursor), devices, pageSize);
      return;
    case 'users-and-tokens': {
      // The named tokens go last and the users' devices skip them, so each device hears once.
      const tokens = [...new Set(audience.tokens)];
      const cursor = readCursor(job.cursor);
      if (cursor.token === undefined) {
        yield* userPages(audience.userIds, new Set(tokens), cursor, devices, pageSize);
      }
      const user = new Set(audience.userIds).size;
      yield* tokenPages(tokens, cursor.token ?? 0, pageSize, (token) =>
        JSON.stringify({ user, after: null, token } satisfies DevicesCursor),
      );
      return;
    }
  }
}

function readCursor(cursor: string | null): DevicesCursor {
  return cursor ? (JSON.parse(cursor) as DevicesCursor) : { user: 0, after: null };
}

function* tokenPages(
  given: readonly string[],
  from: number,
  pageSize: number,
  cursorAt: (next: number) => string,
): Generator<Page> {
  const tokens = [...new Set(given)];
  for (let start = from; start < tokens.length; start += pageSize) {
    const slice = tokens.slice(start, start + pageSize);
    yield {
      targets: slice.map((token) => ({ kind: 'token', token })),
      cursorAfter: cursorAt(start + slice.length),
    };
  }
}

/** Every device of every user, except those whose token is in `skip`. */
async function* userPages(
  given: readonly string[],
  skip: ReadonlySet<string>,
  from: DevicesCursor,
  devices: DevicesRepository,
  pageSize: number,
): AsyncGenerator<Page> {
  // Several users' devices share a page, so a chat to a hundred people is one batch.
  const userIds = [...new Set(given)];
  let position: DevicesCursor = { user: from.user, after: from.after };
  let targets: Target[] = [];
  while (position.user < userIds.length) {
    const group = userIds.slice(position.user, position.user + USERS_PER_QUERY);
    const limit = pageSize - targets.length;
    const rows = await devices.tokensPage(group, position.after, limit);
    for (const row of rows) {
      if (!skip.has(row.token)) targets.push({ kind: 'token', token: row.token });
    }
    const last = rows[rows.length - 1];
    position =
      rows.length < limit
        ? { user: position.user + group.length, after: null }
        : { user: position.user, after: { userId: last.userId, id: last.id } };
    if (targets.length === pageSize) {
      yield { targets, cursorAfter: JSON.stringify(position) };
      targets = [];
    }
  }
  if (targets.length > 0) yield { targets, cursorAfter: JSON.stringify(position) };
}
