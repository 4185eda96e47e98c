import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, LOCAL_DEFAULTS, loadConfig, newWebhookSecret } from '../src/config';

const secret = newWebhookSecret();
const production = {
  NODE_ENV: 'production',
  GOOGLE_APPLICATION_CREDENTIALS: '/etc/herald/service-account.json',
  WEBHOOK_SECRETS: `shop=${secret}`,
  JWT_SECRET: 'a-production-secret-of-at-least-32-bytes!',
};
const ecPublicKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('the configuration was accepted');
}

describe('loadConfig', () => {
  it('runs in local mode with no environment at all, saying which defaults it took', () => {
    const config = loadConfig({});
    expect(config.production).toBe(false);
    expect(config.localDefaults).toEqual([
      'FCM_EMULATOR_HOST',
      'WEBHOOK_SECRETS',
      'JWT_SECRET',
      'ADMIN_TOKEN',
    ]);
    expect(config.fcm.startEmulator).toBe(true);
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(3000);
    expect(config.database).toEqual({ client: 'better-sqlite3', filename: './data/herald.sqlite' });
    expect(config.webhookSecrets.get('demo')).toEqual([LOCAL_DEFAULTS.webhookSecret]);
    expect(config.adminToken).toBe(LOCAL_DEFAULTS.adminToken);
    expect(config.plugins).toEqual(['chat', 'topic', 'condition', 'direct']);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('disables the admin API when both secrets are set and only FCM takes a default', () => {
    const { WEBHOOK_SECRETS, JWT_SECRET } = production;
    const config = loadConfig({ WEBHOOK_SECRETS, JWT_SECRET });
    expect(config.localDefaults).toEqual(['FCM_EMULATOR_HOST']);
    expect(config.adminToken).toBeUndefined();
  });

  it.each([
    ['WEBHOOK_SECRETS', { WEBHOOK_SECRETS: `shop=${secret}` }],
    ['JWT_SECRET', { JWT_SECRET: production.JWT_SECRET }],
    ['JWT_PUBLIC_KEY', { JWT_PUBLIC_KEY: ecPublicKey }],
    ['JWT_JWKS_URI', { JWT_JWKS_URI: 'https://login.example.com/jwks.json' }],
  ])('gives no development admin token once %s alone is configured', (_, env) => {
    const config = loadConfig(env);
    expect(config.adminToken).toBeUndefined();
    expect(config.localDefaults).not.toContain('ADMIN_TOKEN');
  });

  it('gives the development admin token whenever both secrets took their defaults', () => {
    const config = loadConfig({ FCM_EMULATOR_HOST: '127.0.0.1:9099', PORT: '4000' });
    expect(config.adminToken).toBe(LOCAL_DEFAULTS.adminToken);
    expect(config.localDefaults).toEqual(['WEBHOOK_SECRETS', 'JWT_SECRET', 'ADMIN_TOKEN']);
  });

  it('keeps an ADMIN_TOKEN the operator set, in local mode too', () => {
    const config = loadConfig({ ADMIN_TOKEN: 'an-admin-token-of-my-own' });
    expect(config.adminToken).toBe('an-admin-token-of-my-own');
    expect(config.localDefaults).not.toContain('ADMIN_TOKEN');
  });

  it('takes every production setting from the environment with no fallback', () => {
    const config = loadConfig({ ...production, ADMIN_TOKEN: 'an-admin-token-long-enough' });
    expect(config.localDefaults).toEqual([]);
    expect(config.host).toBe('0.0.0.0');
    expect(config.fcm.startEmulator).toBe(false);
    expect(config.jwt.key).toEqual({
      kind: 'secret',
      secret: production.JWT_SECRET,
      algorithms: ['HS256'],
    });
  });

  it.each([['GOOGLE_APPLICATION_CREDENTIALS'], ['WEBHOOK_SECRETS'], ['JWT_SECRET']])(
    'refuses to start in production without %s, naming it',
    (name) => {
      const env: Record<string, string> = { ...production };
      delete env[name];
      expect(refusal(env).variable).toBe(name);
    },
  );

  it('keeps every secret of a source listed twice, for rotation', () => {
    const next = newWebhookSecret();
    const config = loadConfig({ WEBHOOK_SECRETS: `shop=${secret}, shop=${next},crm=${next}` });
    expect(config.webhookSecrets.get('shop')).toEqual([secret, next]);
    expect(config.webhookSecrets.get('crm')).toEqual([next]);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'postgres://x/y' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'mysql://root@localhost' }, 'DATABASE_URL'],
    [{ MIGRATE_ON_START: 'maybe' }, 'MIGRATE_ON_START'],
    [{ WEBHOOK_SECRETS: 'shop' }, 'WEBHOOK_SECRETS'],
    [{ WEBHOOK_SECRETS: 'shop=plain-secret' }, 'WEBHOOK_SECRETS'],
    [{ JWT_SECRET: 'too-short' }, 'JWT_SECRET'],
    [{ JWT_PUBLIC_KEY: 'not a key' }, 'JWT_PUBLIC_KEY'],
    [{ JWT_JWKS_URI: 'ftp://idp/keys' }, 'JWT_JWKS_URI'],
    [{ FCM_EMULATOR_HOST: 'localhost' }, 'FCM_EMULATOR_HOST'],
    [{ RATE_LIMIT_WEBHOOKS_PER_MINUTE: '0' }, 'RATE_LIMIT_WEBHOOKS_PER_MINUTE'],
    [{ RATE_LIMIT_DEVICES_PER_MINUTE: '-5' }, 'RATE_LIMIT_DEVICES_PER_MINUTE'],
    [{ RATE_LIMIT_REDIS_URL: 'http://redis' }, 'RATE_LIMIT_REDIS_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ PLUGINS: ' , ' }, 'PLUGINS'],
  ])('refuses %j, naming %s', (env, name) => {
    const error = refusal(env);
    expect(error.variable).toBe(name);
    expect(error.message.startsWith(`${name}:`)).toBe(true);
  });

  it('refuses two JWT key sources at once', () => {
    const error = refusal({ JWT_SECRET: production.JWT_SECRET, JWT_JWKS_URI: 'https://idp/jwks' });
    expect(error.message).toMatch(/only one JWT key source/);
  });

  it('pins the algorithm to the public key: RS256 for RSA, ES256/ES384 by EC curve', () => {
    const pem = (key: ReturnType<typeof generateKeyPairSync>['publicKey']) =>
      key.export({ type: 'spki', format: 'pem' }).toString();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const algorithms = (publicKey: string) => {
      const key = loadConfig({ JWT_PUBLIC_KEY: publicKey }).jwt.key;
      return key?.kind === 'public-key' ? key.algorithms : undefined;
    };
    expect(algorithms(pem(rsa.publicKey))).toEqual(['RS256']);
    expect(algorithms(pem(p256.publicKey))).toEqual(['ES256']);
    expect(algorithms(pem(p384.publicKey))).toEqual(['ES384']);
    expect(algorithms(pem(rsa.publicKey).replace(/\n/g, '\\n'))).toEqual(['RS256']);
  });
});
