import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { Algorithm } from 'jsonwebtoken';
import { z } from 'zod';
import type { Logger } from '../logger';

/** One verification key of the provider's set, with the single algorithm it may verify. */
export interface SigningKey {
  key: KeyObject;
  algorithm: Algorithm;
}

export type KeyLookup =
  | { found: true; signingKey: SigningKey }
  | { found: false; reason: 'unknown_kid' | 'ambiguous' | 'unavailable' };

export interface JwksKeySetOptions {
  uri: string;
  logger?: Logger;
  /** How long a fetched set is trusted before it is fetched again. */
  maxAgeMs?: number;
  /**
   * The least time between two fetches, whatever asks for them: a stream of tokens with random
   * `kid`s costs the provider at most one request per cooldown.
   */
  cooldownMs?: number;
  timeoutMs?: number;
  now?: () => number;
}

const MAX_BODY_CHARS = 1_000_000;

const keySetSchema = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });

const RSA_ALGORITHMS: readonly Algorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const EC_ALGORITHMS: Readonly<Record<string, Algorithm>> = {
  'P-256': 'ES256',
  'P-384': 'ES384',
  'P-521': 'ES512',
};

/** Every algorithm a key of a JWKS may carry; anything else in a token header is refused early. */
export const JWKS_ALGORITHMS: readonly Algorithm[] = [
  ...RSA_ALGORITHMS,
  ...Object.values(EC_ALGORITHMS),
];

/**
 * An identity provider's JSON Web Key Set, fetched on first use, refreshed when older than
 * `maxAgeMs` or when a token names a `kid` it does not hold (a rotation), never more often than
 * once per `cooldownMs`. When the provider cannot be reached the last good set stays in use.
 */
export class JwksKeySet {
  private readonly maxAgeMs: number;
  private readonly cooldownMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private keys: { byKid: Map<string, SigningKey>; all: SigningKey[] } | undefined;
  private fetchedAt = 0;
  private lastAttemptAt: number | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(private readonly options: JwksKeySetOptions) {
    this.maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
    this.cooldownMs = options.cooldownMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  async lookup(kid: string | undefined): Promise<KeyLookup> {
    if (this.keys === undefined || this.now() - this.fetchedAt >= this.maxAgeMs) {
      await this.refresh();
    }
    let result = this.find(kid);
    if (!result.found && result.reason === 'unknown_kid') {
      await this.refresh();
      result = this.find(kid);
    }
    return result;
  }

  private find(kid: string | undefined): KeyLookup {
    if (this.keys === undefined) return { found: false, reason: 'unavailable' };

    if (kid === undefined) {
      const only = this.keys.all.length === 1 ? this.keys.all[0] : undefined;
      return only ? { found: true, signingKey: only } : { found: false, reason: 'ambiguous' };
    }
    const signingKey = this.keys.byKid.get(kid);
    return signingKey ? { found: true, signingKey } : { found: false, reason: 'unknown_kid' };
  }

  /** Fetches the set unless a fetch is running (then waits for it) or the cooldown forbids it. */
  private async refresh(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const now = this.now();
    if (this.lastAttemptAt !== undefined && now - this.lastAttemptAt < this.cooldownMs) return;

    this.lastAttemptAt = now;
    this.inFlight = this.fetchKeys()
      .then((keys) => {
        this.keys = keys;
        this.fetchedAt = this.now();
      })
      .catch((err: unknown) => {
        this.options.logger?.warn(
          { err, uri: this.options.uri, staleKeys: this.keys !== undefined },
          'JWKS fetch failed',
        );
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  private async fetchKeys(): Promise<{ byKid: Map<string, SigningKey>; all: SigningKey[] }> {
    const response = await fetch(this.options.uri, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!response.ok) throw new Error(`JWKS endpoint answered ${response.status}`);
    const text = await response.text();
    if (text.length > MAX_BODY_CHARS) throw new Error('JWKS document is too large');

    const parsed = keySetSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error('JWKS document has no "keys" array');

    const byKid = new Map<string, SigningKey>();
    const all: SigningKey[] = [];
    for (const jwk of parsed.data.keys) {
      const signingKey = toSigningKey(jwk);
      if (signingKey === undefined) continue;
      all.push(signingKey);
      if (typeof jwk.kid === 'string' && jwk.kid !== '') byKid.set(jwk.kid, signingKey);
    }
    if (all.length === 0) throw new Error('JWKS document holds no usable signing key');
    return { byKid, all };
  }
}

/**
 * A JWK as a public key pinned to one algorithm: its own `alg` when it names one that fits the
 * key, else the usual one for its type. Keys for encryption, symmetric keys and keys whose `alg`
 * does not fit are skipped, so no token can choose how it is checked.
 */
function toSigningKey(jwk: Record<string, unknown>): SigningKey | undefined {
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined;

  let algorithm: Algorithm | undefined;
  if (jwk.kty === 'RSA') {
    algorithm = jwk.alg === undefined ? 'RS256' : RSA_ALGORITHMS.find((alg) => alg === jwk.alg);
  } else if (jwk.kty === 'EC' && typeof jwk.crv === 'string') {
    const fitting = EC_ALGORITHMS[jwk.crv];
    algorithm = jwk.alg === undefined || jwk.alg === fitting ? fitting : undefined;
  }
  if (algorithm === undefined) return undefined;

  try {
    const key = createPublicKey({ key: publicPart(jwk), format: 'jwk' });
    return { key, algorithm };
  } catch {
    return undefined;
  }
}

/** Only the public members, so a private key published by mistake still yields a public one. */
function publicPart(jwk: Record<string, unknown>): JsonWebKey {
  const pick = (name: string): string | undefined => {
    const value = jwk[name];
    return typeof value === 'string' ? value : undefined;
  };
  return jwk.kty === 'RSA'
    ? { kty: 'RSA', n: pick('n'), e: pick('e') }
    : { kty: 'EC', crv: pick('crv'), x: pick('x'), y: pick('y') };
}
