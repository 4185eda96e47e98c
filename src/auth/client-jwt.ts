/**
 * Client JWTs (API.md §5): the bearer token a mobile or web app sends to manage its devices.
 * The key comes from configuration (an HS256 secret, an RS256/ES256 public key or an identity
 * provider's JWKS) and pins the algorithm, so a token never chooses how it is checked.
 */
import { createPublicKey, createSecretKey } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import jwt, { type Algorithm, type JwtPayload } from 'jsonwebtoken';
import type { JwtKeyConfig } from '../config';
import { errors } from '../errors';
import type { Logger } from '../logger';
import { bearerToken } from './bearer';
import {
  JWKS_ALGORITHMS,
  JwksKeySet,
  type JwksKeySetOptions,
  type SigningKey,
} from './jwks-key-set';

/** Which check a token failed; logged, and spelled out for the client in the 401 message. */
export type JwtRejectionReason =
  | 'not_configured'
  | 'malformed'
  | 'algorithm'
  | 'unknown_kid'
  | 'keys_unavailable'
  | 'signature'
  | 'expired'
  | 'not_yet_valid'
  | 'audience'
  | 'issuer'
  | 'missing_exp'
  | 'missing_sub'
  | 'invalid_claims';

export class JwtRejection extends Error {
  constructor(
    readonly reason: JwtRejectionReason,
    message: string,
  ) {
    super(message);
    this.name = 'JwtRejection';
  }
}

export interface ClientIdentity {
  /** The token's `sub`: the user whose devices these are. */
  userId: string;
}

export interface ClientJwtVerifier {
  /** Resolves to the caller's identity, or rejects with a `JwtRejection` naming the check. */
  verify(token: string): Promise<ClientIdentity>;
}

export interface ClientJwtOptions {
  /** Undefined refuses every token: there is nothing to check them with. */
  key: JwtKeyConfig | undefined;
  issuer?: string;
  audience?: string;
  /** Leeway for `exp` and `nbf` between our clock and the issuer's. */
  clockToleranceSeconds?: number;
  logger?: Logger;
  /** Cache and refresh settings of a JWKS key source. */
  jwks?: Omit<JwksKeySetOptions, 'uri' | 'logger' | 'now'>;
  now?: () => number;
}

/** User ids are stored in a 255-character column. */
const MAX_SUB_LENGTH = 255;
const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

interface KeySource {
  algorithms: readonly Algorithm[];
  resolve(kid: string | undefined): Promise<SigningKey>;
}

export function createClientJwtVerifier(options: ClientJwtOptions): ClientJwtVerifier {
  const now = options.now ?? Date.now;
  const source = keySource(options, now);
  const clockTolerance = options.clockToleranceSeconds ?? 30;

  return {
    async verify(token) {
      if (source === undefined) {
        throw new JwtRejection(
          'not_configured',
          'Client JWTs are not accepted: set JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URI',
        );
      }
      const header = readHeader(token);
      checkAlgorithm(header.alg, source.algorithms);
      const signingKey = await source.resolve(header.kid);
      checkAlgorithm(header.alg, [signingKey.algorithm]);

      let payload: string | JwtPayload;
      try {
        payload = jwt.verify(token, signingKey.key, {
          algorithms: [signingKey.algorithm],
          issuer: options.issuer,
          audience: options.audience,
          clockTolerance,
          clockTimestamp: Math.floor(now() / 1000),
        });
      } catch (err) {
        throw fromLibrary(err, options);
      }
      return identity(payload);
    },
  };
}

/**
 * Middleware that admits only requests with a valid client JWT; every refusal is a 401
 * `unauthorized` saying which check failed. Read the caller with `clientUserId(req)`.
 */
export function requireClientJwt(verifier: ClientJwtVerifier): RequestHandler {
  return async (req, _res, next) => {
    const token = bearerToken(req.get('authorization'));
    if (token === undefined) {
      throw errors.unauthorized('Send the client JWT as "Authorization: Bearer <JWT>"');
    }

    try {
      identities.set(req, await verifier.verify(token));
    } catch (err) {
      if (!(err instanceof JwtRejection)) throw err;
      req.log.info({ reason: err.reason }, 'client JWT refused');
      throw errors.unauthorized(err.message);
    }
    next();
  };
}

const identities = new WeakMap<Request, ClientIdentity>();

/** The `sub` of the request's verified JWT, or undefined before `requireClientJwt` ran. */
export function clientUserId(req: Request): string | undefined {
  return identities.get(req)?.userId;
}

function keySource(options: ClientJwtOptions, now: () => number): KeySource | undefined {
  const config = options.key;
  if (config === undefined) return undefined;
  if (config.kind === 'secret') {
    const key = createSecretKey(Buffer.from(config.secret));
    const signingKey: SigningKey = { key, algorithm: 'HS256' };
    return { algorithms: config.algorithms, resolve: async () => signingKey };
  }
  if (config.kind === 'public-key') {
    const [algorithm] = config.algorithms;
    const signingKey: SigningKey = { key: createPublicKey(config.publicKey), algorithm };
    return { algorithms: config.algorithms, resolve: async () => signingKey };
  }

  const keySet = new JwksKeySet({ ...options.jwks, uri: config.uri, logger: options.logger, now });
  return {
    algorithms: JWKS_ALGORITHMS,
    async resolve(kid) {
      const lookup = await keySet.lookup(kid);
      if (lookup.found) return lookup.signingKey;
      switch (lookup.reason) {
        case 'unavailable':
          throw new JwtRejection(
            'keys_unavailable',
            "The identity provider's signing keys (JWT_JWKS_URI) could not be fetched; retry later",
          );
        case 'ambiguous':
          throw new JwtRejection(
            'unknown_kid',
            "The JWT has no kid header and the identity provider's key set holds several keys",
          );
        default:
          throw new JwtRejection(
            'unknown_kid',
            "The JWT's kid names no key of the identity provider's key set",
          );
      }
    },
  };
}

function readHeader(token: string): { alg: string; kid: string | undefined } {
  // Made only when thrown: an Error's stack costs more than the rest of a passing check.
  const malformed = () =>
    new JwtRejection('malformed', 'The bearer token is not a well-formed JWT');
  if (!COMPACT_JWT.test(token)) throw malformed();

  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString());
  } catch {
    throw malformed();
  }
  if (typeof header !== 'object' || header === null) throw malformed();

  const { alg, kid } = header as { alg?: unknown; kid?: unknown };
  if (typeof alg !== 'string') throw malformed();
  if (kid !== undefined && (typeof kid !== 'string' || kid.length > 256)) throw malformed();
  return { alg, kid };
}

function checkAlgorithm(alg: string, allowed: readonly Algorithm[]): void {
  if (alg.toLowerCase() === 'none') {
    throw new JwtRejection('algorithm', 'The JWT is unsigned (alg "none"), which is never allowed');
  }
  if (!allowed.some((algorithm) => algorithm === alg)) {
    const shown = /^[A-Za-z0-9]{1,16}$/.test(alg) ? `"${alg}"` : 'in its header';
    throw new JwtRejection(
      'algorithm',
      `The JWT algorithm ${shown} is not allowed; this gateway accepts ${allowed.join(', ')}`,
    );
  }
}

function fromLibrary(err: unknown, options: ClientJwtOptions): JwtRejection {
  if (err instanceof jwt.TokenExpiredError) {
    return new JwtRejection('expired', 'The JWT has expired (exp); get a fresh one');
  }
  if (err instanceof jwt.NotBeforeError) {
    return new JwtRejection('not_yet_valid', 'The JWT is not valid yet (nbf)');
  }

  const message = err instanceof Error ? err.message : '';
  if (message === 'invalid signature') {
    return new JwtRejection('signature', 'The JWT signature does not match the configured key');
  }
  if (message.startsWith('jwt audience invalid')) {
    return new JwtRejection('audience', `The JWT audience (aud) is not "${options.audience}"`);
  }
  if (message.startsWith('jwt issuer invalid')) {
    return new JwtRejection('issuer', `The JWT issuer (iss) is not "${options.issuer}"`);
  }
  if (message === 'invalid exp value' || message === 'invalid nbf value') {
    return new JwtRejection('invalid_claims', 'The JWT exp and nbf claims must be numbers');
  }
  const algorithmMessages = ['invalid algorithm', 'secretOrPublicKey must be', '"alg" parameter'];
  if (algorithmMessages.some((start) => message.startsWith(start))) {
    return new JwtRejection('algorithm', 'The JWT algorithm does not fit the configured key');
  }
  return new JwtRejection('malformed', 'The bearer token is not a well-formed JWT');
}

function identity(payload: string | JwtPayload): ClientIdentity {
  if (typeof payload !== 'object' || payload === null) {
    throw new JwtRejection('malformed', 'The JWT payload is not a JSON object');
  }
  if (payload.exp === undefined) {
    throw new JwtRejection('missing_exp', 'The JWT has no expiry (exp claim); tokens must expire');
  }

  const { sub } = payload;
  if (typeof sub !== 'string' || sub === '') {
    throw new JwtRejection('missing_sub', 'The JWT has no subject (sub claim) naming the user');
  }
  if (sub.length > MAX_SUB_LENGTH) {
    throw new JwtRejection(
      'invalid_claims',
      `The JWT subject (sub) is longer than ${MAX_SUB_LENGTH} characters`,
    );
  }
  return { userId: sub };
}
