const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
]);

const UNAVAILABLE_MESSAGE = new RegExp(
  [
    'Connection lost',
    'connect ECONNREFUSED',
    'Pool is closed',
    'Cannot enqueue',
    'Unable to acquire a connection',
  ].join('|'),
  'i',
);

/**
 * Whether an error means "the database is not answering now" rather than a bug. Duck-typed:
 * socket errors are made by Node itself, outside any vm realm (a test runner's), where they are
 * no `instanceof Error`. "Unable to acquire a connection" is knex once its pool was destroyed;
 * a `DatabaseTimeoutError` is a wait that Herald itself cut short (./deadline.ts).
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { name, code, message } = err as { name?: unknown; code?: unknown; message?: unknown };
  if (name === 'KnexTimeoutError' || name === 'DatabaseTimeoutError') return true;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  return typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message);
}

/** Whether an error is a unique-key violation (a row with that key already exists). */
export function isDuplicateKey(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return (
    code === 'ER_DUP_ENTRY' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}
