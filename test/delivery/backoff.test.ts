import { DEFAULT_RETRY_POLICY, retryDelayMs, type RetryPolicy } from '../../src/delivery/backoff';
import { SDK_MAX_RETRY_DELAY_MS } from '../../src/delivery/fcm-outcome';

const POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 1_000,
  maxDelayMs: 10_000,
  quotaDelayMs: 60_000,
  unavailableDelayMs: 3_000,
};

describe('retryDelayMs', () => {
  it('doubles with each attempt, jittered between half and the whole of it', () => {
    for (const [attempt, full] of [
      [1, 1_000],
      [2, 2_000],
      [3, 4_000],
    ]) {
      expect(retryDelayMs(POLICY, attempt, {}, () => 0)).toBe(full / 2);
      expect(retryDelayMs(POLICY, attempt, {}, () => 0.999999)).toBe(full);
    }
  });

  it('never waits longer than maxDelayMs, however many attempts went before', () => {
    expect(retryDelayMs(POLICY, 5, {}, () => 0.999999)).toBe(10_000);
    expect(retryDelayMs(POLICY, 60, {}, () => 0.999999)).toBe(10_000);
  });

  it('waits at least what the server asked for in Retry-After', () => {
    expect(retryDelayMs(POLICY, 1, { retryAfterMs: 30_000 }, () => 0.5)).toBe(30_000);
    expect(retryDelayMs(POLICY, 4, { retryAfterMs: 10 }, () => 0)).toBe(4_000);
  });

  it('waits at least a minute after QUOTA_EXCEEDED with the default policy', () => {
    for (let attempt = 1; attempt < DEFAULT_RETRY_POLICY.maxAttempts; attempt += 1) {
      const delay = retryDelayMs(DEFAULT_RETRY_POLICY, attempt, { quotaExceeded: true });
      expect(delay).toBeGreaterThanOrEqual(60_000);
    }
  });

  it('waits at least unavailableDelayMs after UNAVAILABLE, and backs off past it', () => {
    expect(retryDelayMs(POLICY, 1, { unavailable: true }, () => 0.5)).toBe(3_000);
    expect(retryDelayMs(POLICY, 2, { unavailable: true }, () => 0.999999)).toBe(3_000);
    expect(retryDelayMs(POLICY, 4, { unavailable: true }, () => 0)).toBe(4_000);
    expect(retryDelayMs(POLICY, 1, { unavailable: false }, () => 0)).toBe(500);
  });

  it('takes the longest of the floors when several apply', () => {
    const hints = { unavailable: true, quotaExceeded: true, retryAfterMs: 5_000 };
    expect(retryDelayMs(POLICY, 1, hints, () => 0)).toBe(60_000);
    expect(retryDelayMs(POLICY, 1, { ...hints, quotaExceeded: false }, () => 0)).toBe(5_000);
  });

  it("waits at least the SDK's 60 s after UNAVAILABLE with the default policy", () => {
    expect(DEFAULT_RETRY_POLICY.unavailableDelayMs).toBe(SDK_MAX_RETRY_DELAY_MS);
    expect(SDK_MAX_RETRY_DELAY_MS).toBe(60_000);
    for (let attempt = 1; attempt < DEFAULT_RETRY_POLICY.maxAttempts; attempt += 1) {
      const delay = retryDelayMs(DEFAULT_RETRY_POLICY, attempt, { unavailable: true });
      expect(delay).toBeGreaterThanOrEqual(60_000);
    }
  });
});
