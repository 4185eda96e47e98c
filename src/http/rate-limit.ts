import type { Request, RequestHandler, Response } from 'express';
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

const WINDOW_SECONDS = 60;

interface RateLimitedRequest extends Request {
  /** What express-rate-limit found for this request; absent when its store could not answer. */
  rateLimit?: { remaining: number; resetTime?: Date };
}

/**
 * A per-minute limit on `key(req)`. Going over it is a 429 `rate_limited` with `Retry-After`.
 * Every answer the limit counted carries the IETF draft's headers (draft-ietf-httpapi-ratelimit-
 * headers-08), for example `RateLimit: "webhooks"; r=5999; t=42` and `RateLimit-Policy:
 * "webhooks"; q=6000; w=60`.
 *
 * express-rate-limit counts; Herald writes those two headers itself. The library's own draft-8
 * headers hash the key of every request into a partition key (`pk`, which the draft leaves
 * optional) and append through Express: 9 µs of the 180 µs a webhook took in the ingest bench.
 */
export function createRateLimiter(options: {
  backend: RateLimitBackend;
  name: string;
  perMinute: number;
  key: (req: Request) => string;
}): RequestHandler {
  const policy = `"${options.name}"; q=${options.perMinute}; w=${WINDOW_SECONDS}`;
  const secondsToReset = (req: Request) => {
    const reset = (req as RateLimitedRequest).rateLimit?.resetTime;
    if (!reset) return WINDOW_SECONDS;
    return Math.max(0, Math.ceil((reset.getTime() - Date.now()) / 1000));
  };
  const writeHeaders = (req: Request, res: Response) => {
    const counted = (req as RateLimitedRequest).rateLimit;
    if (!counted || res.headersSent) return;
    res.setHeader(
      'RateLimit',
      `"${options.name}"; r=${counted.remaining}; t=${secondsToReset(req)}`,
    );
    res.setHeader('RateLimit-Policy', policy);
  };

  const limiter = rateLimit({
    windowMs: WINDOW_SECONDS * 1000,
    limit: options.perMinute,
    standardHeaders: false,
    legacyHeaders: false,
    keyGenerator: options.key,
    store: options.backend.store(options.name),
    // A rate-limit store that cannot be reached must not take the gateway down with it.
    passOnStoreError: true,
    handler: (req, res, next) => {
      writeHeaders(req, res);
      next(errors.rateLimited(Math.max(1, secondsToReset(req))));
    },
  });
  return (req, res, next) => {
    void limiter(req, res, (err?: unknown) => {
      if (err === undefined) writeHeaders(req, res);
      next(err);
    });
  };
}
