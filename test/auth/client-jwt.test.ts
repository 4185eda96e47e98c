import jwt from 'jsonwebtoken';
import {
  createClientJwtVerifier,
  JwtRejection,
  type ClientJwtOptions,
  type ClientJwtVerifier,
  type JwtRejectionReason,
} from '../../src/auth/client-jwt';
import {
  claims,
  ecKeyPair,
  hmacToken,
  jwk,
  rsaKeyPair,
  signHs256,
  signWith,
  startJwksServer,
  TEST_SECRET,
  unsignedToken,
  type JwksServer,
} from './jwt-fixtures';

const NOW = 1_800_000_000;
const now = () => NOW * 1000;

/** Verifies `token` and returns the reason it was refused, failing the test if it was not. */
async function rejection(verifier: ClientJwtVerifier, token: string): Promise<JwtRejection> {
  const err: unknown = await verifier.verify(token).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(err).toBeInstanceOf(JwtRejection);
  const refusal = err as JwtRejection;
  if (token.length > 8) expect(refusal.message).not.toContain(token);
  return refusal;
}

async function reason(verifier: ClientJwtVerifier, token: string): Promise<JwtRejectionReason> {
  return (await rejection(verifier, token)).reason;
}

describe('client JWT verification with an HS256 secret', () => {
  const options: ClientJwtOptions = {
    key: { kind: 'secret', secret: TEST_SECRET, algorithms: ['HS256'] },
    now,
  };
  const verifier = createClientJwtVerifier(options);

  it('accepts a signed, unexpired token and returns its sub as the user', async () => {
    await expect(verifier.verify(signHs256(claims('user-1', NOW)))).resolves.toEqual({
      userId: 'user-1',
    });
  });

  it('refuses an expired token, saying it expired', async () => {
    const token = signHs256({ sub: 'u', iat: NOW - 7200, exp: NOW - 3600 });
    const refusal = await rejection(verifier, token);
    expect(refusal.reason).toBe('expired');
    expect(refusal.message).toMatch(/expired/);
  });

  it('tolerates 30 seconds of clock skew on exp, and no more', async () => {
    await expect(verifier.verify(signHs256({ sub: 'u', exp: NOW - 20 }))).resolves.toEqual({
      userId: 'u',
    });
    expect(await reason(verifier, signHs256({ sub: 'u', exp: NOW - 31 }))).toBe('expired');
  });

  it('refuses a token that is not valid yet (nbf)', async () => {
    const token = signHs256({ ...claims('u', NOW), nbf: NOW + 600 });
    expect(await reason(verifier, token)).toBe('not_yet_valid');
  });

  it('refuses a token without exp', async () => {
    const refusal = await rejection(verifier, signHs256({ sub: 'u', iat: NOW }));
    expect(refusal.reason).toBe('missing_exp');
    expect(refusal.message).toMatch(/exp/);
  });

  it('refuses an exp that is not a number', async () => {
    const token = hmacToken({ sub: 'u', exp: 'tomorrow' }, TEST_SECRET);
    expect(await reason(verifier, token)).toBe('invalid_claims');
  });

  it('refuses a token without sub, or with an empty or non-string sub', async () => {
    for (const sub of [undefined, '', 42, ['u']]) {
      const refusal = await rejection(verifier, signHs256({ sub, exp: NOW + 60 }));
      expect(refusal.reason).toBe('missing_sub');
      expect(refusal.message).toMatch(/sub/);
    }
  });

  it('refuses a sub longer than the 255 characters a user id may have', async () => {
    const token = signHs256(claims('u'.repeat(256), NOW));
    expect(await reason(verifier, token)).toBe('invalid_claims');
    await expect(verifier.verify(signHs256(claims('u'.repeat(255), NOW)))).resolves.toBeTruthy();
  });

  it('refuses a token signed with another secret, saying the signature is bad', async () => {
    const token = signHs256(claims('u', NOW), 'another-secret-that-is-long-enough-000000');
    const refusal = await rejection(verifier, token);
    expect(refusal.reason).toBe('signature');
    expect(refusal.message).toMatch(/signature/);
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const [header, , signature] = signHs256(claims('alice', NOW)).split('.');
    const forged = Buffer.from(JSON.stringify(claims('mallory', NOW))).toString('base64url');
    expect(await reason(verifier, `${header}.${forged}.${signature}`)).toBe('signature');
  });

  it('refuses alg none in any spelling', async () => {
    for (const alg of ['none', 'None', 'NONE']) {
      const refusal = await rejection(verifier, unsignedToken(claims('u', NOW), alg));
      expect(refusal.reason).toBe('algorithm');
      expect(refusal.message).toMatch(/none/);
    }
  });

  it('refuses an HMAC algorithm other than the pinned HS256', async () => {
    const token = jwt.sign(claims('u', NOW), TEST_SECRET, { algorithm: 'HS512' });
    const refusal = await rejection(verifier, token);
    expect(refusal.reason).toBe('algorithm');
    expect(refusal.message).toContain('"HS512" is not allowed');
  });

  it('refuses anything that is not a compact JWT as malformed', async () => {
    const junk = ['', 'abc', 'a.b', 'a.b.c.d', 'not a jwt', '%%%.%%%.%%%', 'eyJhbGciOi.e30.'];
    for (const token of junk) expect(await reason(verifier, token)).toBe('malformed');
  });

  it('refuses a header that is not a JSON object with a string alg', async () => {
    const body = Buffer.from('{}').toString('base64url');
    for (const header of ['[1]', '{"alg":7}', 'null', '{"alg":"HS256","kid":5}']) {
      const token = `${Buffer.from(header).toString('base64url')}.${body}.sig`;
      expect(await reason(verifier, token)).toBe('malformed');
    }
  });
});

describe('client JWT verification with issuer and audience configured', () => {
  const verifier = createClientJwtVerifier({
    key: { kind: 'secret', secret: TEST_SECRET, algorithms: ['HS256'] },
    issuer: 'https://id.example.com/',
    audience: 'herald',
    now,
  });
  const valid = { ...claims('u', NOW), iss: 'https://id.example.com/', aud: 'herald' };

  it('accepts a token with the configured iss and aud (aud may be a list)', async () => {
    await expect(verifier.verify(signHs256(valid))).resolves.toEqual({ userId: 'u' });
    const listed = signHs256({ ...valid, aud: ['other', 'herald'] });
    await expect(verifier.verify(listed)).resolves.toEqual({ userId: 'u' });
  });

  it('refuses a token for another audience, or with none', async () => {
    const refusal = await rejection(verifier, signHs256({ ...valid, aud: 'someone-else' }));
    expect(refusal.reason).toBe('audience');
    expect(refusal.message).toMatch(/audience/);
    expect(await reason(verifier, signHs256({ ...valid, aud: undefined }))).toBe('audience');
  });

  it('refuses a token from another issuer, or with none', async () => {
    const refusal = await rejection(verifier, signHs256({ ...valid, iss: 'https://evil.test/' }));
    expect(refusal.reason).toBe('issuer');
    expect(refusal.message).toMatch(/issuer/);
    expect(await reason(verifier, signHs256({ ...valid, iss: undefined }))).toBe('issuer');
  });
});

describe('client JWT verification with an RS256 public key', () => {
  const pair = rsaKeyPair();
  const verifier = createClientJwtVerifier({
    key: { kind: 'public-key', publicKey: pair.publicPem, algorithms: ['RS256'] },
    now,
  });

  it('accepts a token signed with the matching private key', async () => {
    const token = signWith(claims('rsa-user', NOW), pair.privateKey, 'RS256');
    await expect(verifier.verify(token)).resolves.toEqual({ userId: 'rsa-user' });
  });

  it('refuses a token signed with another RSA key', async () => {
    const token = signWith(claims('u', NOW), rsaKeyPair().privateKey, 'RS256');
    expect(await reason(verifier, token)).toBe('signature');
  });

  it('refuses an HS256 token whose HMAC key is the public key (algorithm confusion)', async () => {
    const token = hmacToken(claims('u', NOW), pair.publicPem);
    const refusal = await rejection(verifier, token);
    expect(refusal.reason).toBe('algorithm');
    expect(refusal.message).toContain('accepts RS256');
  });

  it('refuses other RSA algorithms than the pinned RS256', async () => {
    for (const algorithm of ['RS512', 'PS256'] as const) {
      const token = signWith(claims('u', NOW), pair.privateKey, algorithm);
      expect(await reason(verifier, token)).toBe('algorithm');
    }
  });

  it('refuses an expired RS256 token', async () => {
    const token = signWith({ sub: 'u', exp: NOW - 3600 }, pair.privateKey, 'RS256');
    expect(await reason(verifier, token)).toBe('expired');
  });
});

describe('client JWT verification with an ES256 public key', () => {
  const pair = ecKeyPair();
  const verifier = createClientJwtVerifier({
    key: { kind: 'public-key', publicKey: pair.publicPem, algorithms: ['ES256'] },
    now,
  });

  it('accepts a token signed with the matching private key', async () => {
    const token = signWith(claims('ec-user', NOW), pair.privateKey, 'ES256');
    await expect(verifier.verify(token)).resolves.toEqual({ userId: 'ec-user' });
  });

  it('refuses a token signed with another EC key', async () => {
    const token = signWith(claims('u', NOW), ecKeyPair().privateKey, 'ES256');
    expect(await reason(verifier, token)).toBe('signature');
  });

  it('refuses RS256 and HS256 tokens', async () => {
    const rs = signWith(claims('u', NOW), rsaKeyPair().privateKey, 'RS256');
    expect(await reason(verifier, rs)).toBe('algorithm');
    expect(await reason(verifier, hmacToken(claims('u', NOW), pair.publicPem))).toBe('algorithm');
  });
});

describe('client JWT verification with a JWKS endpoint', () => {
  const first = rsaKeyPair();
  const second = rsaKeyPair();
  const ec = ecKeyPair();
  let server: JwksServer;
  let clock: number;

  beforeEach(async () => {
    server = await startJwksServer([jwk(first, 'k1', { alg: 'RS256' }), jwk(ec, 'e1')]);
    clock = NOW * 1000;
  });
  afterEach(() => server.close());

  function verifierFor(jwks?: ClientJwtOptions['jwks']): ClientJwtVerifier {
    return createClientJwtVerifier({
      key: { kind: 'jwks', uri: server.uri },
      now: () => clock,
      jwks,
    });
  }

  it('accepts RS256 and ES256 tokens whose kid is in the set, fetching the set once', async () => {
    const verifier = verifierFor();
    const rs = signWith(claims('rs', NOW), first.privateKey, 'RS256', 'k1');
    const es = signWith(claims('es', NOW), ec.privateKey, 'ES256', 'e1');

    await expect(verifier.verify(rs)).resolves.toEqual({ userId: 'rs' });
    await expect(verifier.verify(es)).resolves.toEqual({ userId: 'es' });
    await expect(verifier.verify(rs)).resolves.toEqual({ userId: 'rs' });
    expect(server.hits).toBe(1);
  });

  it('shares one fetch between requests that arrive together', async () => {
    const verifier = verifierFor();
    const token = signWith(claims('u', NOW), first.privateKey, 'RS256', 'k1');
    await Promise.all(Array.from({ length: 10 }, () => verifier.verify(token)));
    expect(server.hits).toBe(1);
  });

  it('refuses an unknown kid and asks the provider at most once per cooldown', async () => {
    const verifier = verifierFor({ cooldownMs: 30_000 });
    for (let i = 0; i < 50; i += 1) {
      const token = signWith(claims('u', NOW), second.privateKey, 'RS256', `random-${i}`);
      const refusal = await rejection(verifier, token);
      expect(refusal.reason).toBe('unknown_kid');
      expect(refusal.message).toMatch(/kid/);
    }
    expect(server.hits).toBe(1);

    clock += 30_000;
    const token = signWith(claims('u', NOW), second.privateKey, 'RS256', 'random-later');
    expect(await reason(verifier, token)).toBe('unknown_kid');
    expect(server.hits).toBe(2);
  });

  it('picks up a rotated key once the cooldown has passed', async () => {
    const verifier = verifierFor({ cooldownMs: 30_000 });
    const old = signWith(claims('u', NOW), first.privateKey, 'RS256', 'k1');
    const rotated = signWith(claims('u', NOW), second.privateKey, 'RS256', 'k2');
    await expect(verifier.verify(old)).resolves.toEqual({ userId: 'u' });

    server.keys = [jwk(second, 'k2')];
    expect(await reason(verifier, rotated)).toBe('unknown_kid');

    clock += 31_000;
    await expect(verifier.verify(rotated)).resolves.toEqual({ userId: 'u' });
    expect(server.hits).toBe(2);
    expect(await reason(verifier, old)).toBe('unknown_kid');
  });

  it('refetches the set when it is older than its max age and drops retired keys', async () => {
    const verifier = verifierFor({ maxAgeMs: 600_000 });
    const old = signWith(claims('u', NOW), first.privateKey, 'RS256', 'k1');
    await expect(verifier.verify(old)).resolves.toBeTruthy();

    server.keys = [jwk(second, 'k2')];
    clock += 600_000;
    expect(await reason(verifier, old)).toBe('unknown_kid');
    expect(server.hits).toBe(2);
  });

  it('keeps using the last good set while the provider is down', async () => {
    const verifier = verifierFor({ maxAgeMs: 600_000 });
    const token = signWith(claims('u', NOW), first.privateKey, 'RS256', 'k1');
    await expect(verifier.verify(token)).resolves.toBeTruthy();

    server.status = 503;
    clock += 700_000;
    await expect(verifier.verify(token)).resolves.toBeTruthy();
    expect(server.hits).toBe(2);
  });

  it('refuses every token while no key set could ever be fetched', async () => {
    server.status = 500;
    const verifier = verifierFor();
    const token = signWith(claims('u', NOW), first.privateKey, 'RS256', 'k1');
    const refusal = await rejection(verifier, token);
    expect(refusal.reason).toBe('keys_unavailable');
    expect(refusal.message).toContain('JWT_JWKS_URI');
  });

  it('pins each key to its own algorithm', async () => {
    const verifier = verifierFor();
    const wrongAlg = signWith(claims('u', NOW), first.privateKey, 'RS512', 'k1');
    expect(await reason(verifier, wrongAlg)).toBe('algorithm');
    const ecAsRsa = signWith(claims('u', NOW), first.privateKey, 'RS256', 'e1');
    expect(await reason(verifier, ecAsRsa)).toBe('algorithm');
  });

  it('refuses HS256 and alg none before asking the provider anything', async () => {
    const verifier = verifierFor();
    expect(await reason(verifier, hmacToken(claims('u', NOW), first.publicPem, 'k1'))).toBe(
      'algorithm',
    );
    expect(await reason(verifier, unsignedToken(claims('u', NOW)))).toBe('algorithm');
    expect(server.hits).toBe(0);
  });

  it('uses the only key for a token without kid, and refuses it among several keys', async () => {
    const token = signWith(claims('u', NOW), first.privateKey, 'RS256');
    expect(await reason(verifierFor(), token)).toBe('unknown_kid');

    server.keys = [jwk(first, 'k1')];
    await expect(verifierFor().verify(token)).resolves.toEqual({ userId: 'u' });
  });

  it('ignores keys meant for encryption and keys whose alg does not fit them', async () => {
    server.keys = [jwk(first, 'enc', { use: 'enc' }), jwk(second, 'odd', { alg: 'ES256' })];
    const verifier = verifierFor();
    const enc = signWith(claims('u', NOW), first.privateKey, 'RS256', 'enc');
    expect(await reason(verifier, enc)).toBe('keys_unavailable');
  });

  it('checks exp, sub, iss and aud of JWKS tokens like any other', async () => {
    const verifier = createClientJwtVerifier({
      key: { kind: 'jwks', uri: server.uri },
      issuer: 'idp',
      audience: 'herald',
      now: () => clock,
    });
    const sign = (payload: Record<string, unknown>) =>
      signWith(payload, first.privateKey, 'RS256', 'k1');
    const good = { ...claims('u', NOW), iss: 'idp', aud: 'herald' };

    await expect(verifier.verify(sign(good))).resolves.toEqual({ userId: 'u' });
    expect(await reason(verifier, sign({ ...good, exp: NOW - 100 }))).toBe('expired');
    expect(await reason(verifier, sign({ ...good, sub: undefined }))).toBe('missing_sub');
    expect(await reason(verifier, sign({ ...good, iss: 'other' }))).toBe('issuer');
    expect(await reason(verifier, sign({ ...good, aud: 'other' }))).toBe('audience');
  });
});
