import type { Request, RequestHandler } from 'express';
import { rateLimit, type Store } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import { errors } from '../errors';

/**
 * Where rate-limit counters live: in each process's memory by default, or in Redis when
 * RATE_LIMIT_REDIS_URL is set, so several instances share one budget per key.
 */
export interface RateLimitBackend {
  /** A store for one limiter, or undefined for express-rate-limit's memory store. */
  store(prefix: string): Store | undefined;
  close(): Promise<void>;
}

export const memoryRateLimits: RateLimitBackend = {
  store: () => undefined,
  close: async () => undefined,
};

export async function redisRateLimits(url: string): Promise<RateLimitBackend> {
  // Loaded only when asked for: the client keeps timers alive from the moment it is imported.
  const { createClient } = await import('redis');
  const client = createClient({ url });
  await client.connect();
  return {
    store: (prefix) =>
      new RedisStore({
        prefix: `herald:rl:${prefix}:`,
        sendCommand: (...args: string[]) => client.sendCommand(args),
      }),
    close: async () => {
      await client.quit();
    },
  };
}

/**
 * A per-minute limit on `key(req)`. Going over it is a 429 `rate_limited` with `Retry-After`
 * and the standard `RateLimit` headers.
 */
export function createRateLimiter(options: {
  backend: RateLimitBackend;
  name: string;
  perMinute: number;
  key: (req: Request) => string;
}): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: options.perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: options.name,
    keyGenerator: options.key,
    store: options.backend.store(options.name),
    // A rate-limit store that cannot be reached must not take the gateway down with it.
    passOnStoreError: true,
    handler: (req, _res, next) => {
      const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = reset ? Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000)) : 60;
      next(errors.rateLimited(seconds));
    },
  });
}
