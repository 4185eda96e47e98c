/**
 * A database that stops answering without closing its connections (a network partition, a
 * server frozen in I/O) would hold a request forever: neither mysql2 nor knex bound a query
 * that was sent and never answered. Callers that answer someone bound their wait with these.
 */

/** The database took longer than its deadline; to callers, the same as an unreachable one. */
export class DatabaseTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';

  constructor(what: string, ms: number) {
    super(`${what} did not finish within ${ms} ms`);
    this.name = 'DatabaseTimeoutError';
  }
}

/** Whether `promise` settled within `ms`; it goes on either way, unobserved when late. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true as const,
        () => true as const,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
