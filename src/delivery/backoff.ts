import { QUOTA_RETRY_AFTER_MS } from './fcm-outcome';

export interface RetryPolicy {
  /** Attempts in all, the first included; after the last, what still fails counts as failed. */
  maxAttempts: number;
  /** Delay before the second attempt; it doubles with each attempt after that. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** FCM asks for at least a minute after QUOTA_EXCEEDED. */
  quotaDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 1_000,
  maxDelayMs: 5 * 60_000,
  quotaDelayMs: QUOTA_RETRY_AFTER_MS,
};

/**
 * How long to wait before attempt `attempt + 1`: exponential, with jitter so that many failed
 * tokens do not all come back at the same moment, never shorter than the server asked for.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  hints: { retryAfterMs?: number; quotaExceeded?: boolean } = {},
  random: () => number = Math.random,
): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = exponential / 2 + (exponential / 2) * random();
  const floor = Math.max(hints.retryAfterMs ?? 0, hints.quotaExceeded ? policy.quotaDelayMs : 0);
  return Math.round(Math.max(jittered, floor));
}
