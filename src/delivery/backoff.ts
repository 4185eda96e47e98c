import { QUOTA_RETRY_AFTER_MS, SDK_MAX_RETRY_DELAY_MS } from './fcm-outcome';

export interface RetryPolicy {
  /** Attempts in all, the first included; after the last, what still fails counts as failed. */
  maxAttempts: number;
  /** Delay before the second attempt; it doubles with each attempt after that. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** FCM asks for at least a minute after QUOTA_EXCEEDED. */
  quotaDelayMs: number;
  /**
   * Least wait after UNAVAILABLE. firebase-admin has already retried the 503 itself, waiting
   * out any `Retry-After` of up to a minute, so an UNAVAILABLE that reaches the dispatcher means
   * FCM asked for longer or kept failing through the SDK's retries. The SDK drops the header, so
   * the wait asked for cannot be read; the SDK's minute is the least it can have been.
   */
  unavailableDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 1_000,
  maxDelayMs: 5 * 60_000,
  quotaDelayMs: QUOTA_RETRY_AFTER_MS,
  unavailableDelayMs: SDK_MAX_RETRY_DELAY_MS,
};

/** What the failed sends of a page said about when to come back. */
export interface RetryHints {
  /** The longest `Retry-After` the sender could read. */
  retryAfterMs?: number;
  quotaExceeded?: boolean;
  unavailable?: boolean;
}

/**
 * How long to wait before attempt `attempt + 1`: exponential, with jitter so that many failed
 * tokens do not all come back at the same moment, never shorter than the server asked for.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  hints: RetryHints = {},
  random: () => number = Math.random,
): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = exponential / 2 + (exponential / 2) * random();
  const floor = Math.max(
    hints.retryAfterMs ?? 0,
    hints.quotaExceeded ? policy.quotaDelayMs : 0,
    hints.unavailable ? policy.unavailableDelayMs : 0,
  );
  return Math.round(Math.max(jittered, floor));
}
