export interface WaitOptions {
  /** Gives up after this long (default 10 s). */
  timeoutMs?: number;
  /** Time between two probes (default 20 ms). */
  intervalMs?: number;
  /** What is awaited, for the message when it never comes. */
  what?: string;
}

/**
 * Probes until `done` holds for what the probe returns, and returns that. A wait, never an
 * assertion: the test asserts on the value afterwards, so a slow machine only waits longer.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  done: (value: T) => boolean,
  options: WaitOptions = {},
): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 20, what = 'the condition' } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`waited ${timeoutMs} ms for ${what}; last saw ${JSON.stringify(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
