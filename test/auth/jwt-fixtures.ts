import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt, { type Algorithm } from 'jsonwebtoken';

export const TEST_SECRET = 'a-test-secret-that-is-long-enough-0123456789';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public key as PEM text, the way JWT_PUBLIC_KEY carries it. */
  publicPem: string;
}

export function rsaKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKey, publicPem: pem(publicKey) };
}

export function ecKeyPair(namedCurve = 'P-256'): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
  return { privateKey, publicKey, publicPem: pem(publicKey) };
}

function pem(publicKey: KeyObject): string {
  return publicKey.export({ format: 'pem', type: 'spki' }).toString();
}

/** Claims of a token valid for an hour from `nowSeconds`, for user `sub`. */
export function claims(
  sub: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Record<string, unknown> {
  return { sub, iat: nowSeconds, exp: nowSeconds + 3600 };
}

export function signHs256(payload: Record<string, unknown>, secret = TEST_SECRET): string {
  return jwt.sign(payload, secret, { algorithm: 'HS256' });
}

export function signWith(
  payload: Record<string, unknown>,
  privateKey: KeyObject,
  algorithm: Algorithm,
  kid?: string,
): string {
  return jwt.sign(payload, privateKey, { algorithm, ...(kid === undefined ? {} : { keyid: kid }) });
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A token with `alg: none` and no signature, as an attacker would forge it. */
export function unsignedToken(payload: Record<string, unknown>, alg = 'none'): string {
  return `${base64url({ alg, typ: 'JWT' })}.${base64url(payload)}.`;
}

/** An HS256 token whose HMAC key is arbitrary text, such as a public key's PEM (alg confusion). */
export function hmacToken(payload: Record<string, unknown>, key: string, kid?: string): string {
  const header = { alg: 'HS256', typ: 'JWT', ...(kid === undefined ? {} : { kid }) };
  const input = `${base64url(header)}.${base64url(payload)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

/** A JWK of the public key, as an identity provider publishes it. */
export function jwk(pair: KeyPair, kid: string, extra: Record<string, unknown> = {}) {
  return { ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig', ...extra };
}

/**
 * An identity provider's JWKS endpoint on 127.0.0.1: serves whatever key set the test gives it,
 * or an error status, and counts how often it was asked.
 */
export interface JwksServer {
  uri: string;
  hits: number;
  keys: Array<Record<string, unknown>>;
  status: number;
  close(): Promise<void>;
}

export async function startJwksServer(keys: Array<Record<string, unknown>>): Promise<JwksServer> {
  const state: Omit<JwksServer, 'uri' | 'close'> = { hits: 0, keys, status: 200 };
  const server: Server = createServer((_req, res) => {
    state.hits += 1;
    if (state.status !== 200) {
      res.writeHead(state.status).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return Object.assign(state, {
    uri: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  });
}
