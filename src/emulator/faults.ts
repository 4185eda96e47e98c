/**
 * Fault injection: which `messages:send` requests the emulator refuses on purpose.
 *
 * Request-level faults (the next N requests, a share of all requests) stand for an outage and
 * are decided before the message is read, as a failing front end would. Token faults stand for
 * what FCM knows about one device and are decided after the message passed validation.
 */
import type { FcmErrorCode } from './fcm-errors';

export interface FaultOptions {
  /** Seconds for a `Retry-After` header; sent only on 429 and 503 answers. */
  retryAfterSeconds?: number;
}

export interface TokenFaultOptions extends FaultOptions {
  /** Fail only this many sends to the token, then let it through. Unset: fail for good. */
  times?: number;
}

export interface ShareFaultOptions extends FaultOptions {
  /** Reseeds the random source so that which requests fail is the same on every run. */
  seed?: number;
}

/** A decision to refuse one request. */
export interface Fault {
  code: FcmErrorCode;
  retryAfterSeconds?: number;
}

interface CountedFault extends Fault {
  remaining: number;
}

interface ShareFault extends FaultOptions {
  share: number;
  codes: FcmErrorCode[];
}

/** mulberry32: small, fast and good enough to spread faults evenly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function withRetryAfter(code: FcmErrorCode, options: FaultOptions): Fault {
  return options.retryAfterSeconds === undefined
    ? { code }
    : { code, retryAfterSeconds: options.retryAfterSeconds };
}

export class FaultPlan {
  private random: () => number;
  private readonly next: CountedFault[] = [];
  private share: ShareFault | undefined;
  private readonly tokens = new Map<string, CountedFault>();

  constructor(private readonly defaultSeed: number) {
    this.random = seededRandom(defaultSeed);
  }

  failToken(token: string, code: FcmErrorCode, options: TokenFaultOptions = {}): void {
    const remaining = options.times ?? Number.POSITIVE_INFINITY;
    if (remaining <= 0) {
      this.tokens.delete(token);
      return;
    }
    this.tokens.set(token, { ...withRetryAfter(code, options), remaining });
  }

  failShare(share: number, codes: FcmErrorCode[], options: ShareFaultOptions = {}): void {
    if (!(share >= 0 && share <= 1)) {
      throw new RangeError('share must be between 0 and 1');
    }
    if (codes.length === 0) {
      throw new RangeError('failShare needs at least one error code');
    }
    if (options.seed !== undefined) {
      this.random = seededRandom(options.seed);
    }
    this.share = share === 0 ? undefined : { share, codes: [...codes], ...options };
  }

  failNext(count: number, code: FcmErrorCode, options: FaultOptions = {}): void {
    if (count > 0) {
      this.next.push({ ...withRetryAfter(code, options), remaining: count });
    }
  }

  clear(): void {
    this.next.length = 0;
    this.share = undefined;
    this.tokens.clear();
    this.random = seededRandom(this.defaultSeed);
  }

  /** Request-level faults, consumed in this order: queued "next N", then the random share. */
  takeRequestFault(): Fault | undefined {
    const queued = this.next[0];
    if (queued) {
      queued.remaining -= 1;
      if (queued.remaining <= 0) {
        this.next.shift();
      }
      return withRetryAfter(queued.code, queued);
    }

    const share = this.share;
    if (share && this.random() < share.share) {
      const code = share.codes[Math.floor(this.random() * share.codes.length)];
      return code === undefined ? undefined : withRetryAfter(code, share);
    }
    return undefined;
  }

  takeTokenFault(token: string): Fault | undefined {
    if (this.tokens.size === 0) {
      return undefined;
    }
    const fault = this.tokens.get(token);
    if (!fault) {
      return undefined;
    }

    fault.remaining -= 1;
    if (fault.remaining <= 0) {
      this.tokens.delete(token);
    }
    return withRetryAfter(fault.code, fault);
  }

  /** For topic management, which answers per token rather than per request. */
  peekTokenFault(token: string): FcmErrorCode | undefined {
    return this.tokens.get(token)?.code;
  }
}
