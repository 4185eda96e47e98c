/**
 * Environment → one validated, frozen configuration. Every variable of API.md §2 is read
 * here and nowhere else; a wrong value throws a `ConfigError` naming the variable, and
 * `main` turns that into a non-zero exit.
 */
import { createPublicKey, randomBytes } from 'node:crypto';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export type DatabaseConfig =
  { client: 'mysql2'; url: string } | { client: 'better-sqlite3'; filename: string };

export type JwtKeyConfig =
  | { kind: 'secret'; secret: string; algorithms: ['HS256'] }
  | {
      kind: 'public-key';
      publicKey: string;
      algorithms: ['RS256'] | ['ES256'] | ['ES384'] | ['ES512'];
    }
  | { kind: 'jwks'; uri: string };

export interface Config {
  production: boolean;
  /** Variables that took a development default because they were unset (local mode). */
  localDefaults: readonly string[];
  port: number;
  host: string;
  database: DatabaseConfig;
  migrateOnStart: boolean;
  fcm: {
    projectId: string | undefined;
    credentialsFile: string | undefined;
    emulatorHost: string | undefined;
    /** Local mode: no Google credentials and no emulator given, so Herald starts its own. */
    startEmulator: boolean;
  };
  /** Source name → every secret that verifies its webhooks (several while rotating). */
  webhookSecrets: ReadonlyMap<string, readonly string[]>;
  jwt: { key: JwtKeyConfig | undefined; issuer: string | undefined; audience: string | undefined };
  adminToken: string | undefined;
  metricsToken: string | undefined;
  plugins: readonly string[];
  rateLimits: { webhooksPerMinute: number; devicesPerMinute: number; redisUrl: string | undefined };
  logLevel: string;
}

/** Development secrets used only in local mode; well known on purpose, so never in production. */
export const LOCAL_DEFAULTS = {
  webhookSource: 'demo',
  webhookSecret: 'whsec_' + Buffer.from('herald-local-development-secret!').toString('base64'),
  jwtSecret: 'herald-local-development-jwt-secret-change-me',
  adminToken: 'herald-local-admin-token',
  projectId: 'herald-local',
} as const;

export const DEFAULT_PLUGINS = ['chat', 'topic', 'condition', 'direct'] as const;

const EC_ALGORITHMS: Record<string, 'ES256' | 'ES384' | 'ES512'> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const SOURCE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env = process.env): Readonly<Config> {
  const production = env.NODE_ENV === 'production';
  const localDefaults: string[] = [];
  const value = (name: string): string | undefined => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  };
  const required = (name: string, why: string): void => {
    if (production && value(name) === undefined) {
      throw new ConfigError(name, `is required when NODE_ENV=production (${why})`);
    }
  };

  const credentialsFile = value('GOOGLE_APPLICATION_CREDENTIALS');
  const emulatorHost = value('FCM_EMULATOR_HOST');
  if (
    emulatorHost !== undefined &&
    !/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(emulatorHost)
  ) {
    throw new ConfigError('FCM_EMULATOR_HOST', `must be host:port, got "${emulatorHost}"`);
  }
  if (production && credentialsFile === undefined && emulatorHost === undefined) {
    throw new ConfigError(
      'GOOGLE_APPLICATION_CREDENTIALS',
      'is required when NODE_ENV=production: the path to a Firebase service-account JSON file ' +
        '(or set FCM_EMULATOR_HOST to send to an emulator)',
    );
  }
  const startEmulator = !production && credentialsFile === undefined && emulatorHost === undefined;
  if (startEmulator) localDefaults.push('FCM_EMULATOR_HOST');

  let webhookSecrets = parseWebhookSecrets(value('WEBHOOK_SECRETS'));
  required('WEBHOOK_SECRETS', 'comma-separated source=whsec_… pairs');
  if (webhookSecrets.size === 0) {
    webhookSecrets = new Map([[LOCAL_DEFAULTS.webhookSource, [LOCAL_DEFAULTS.webhookSecret]]]);
    localDefaults.push('WEBHOOK_SECRETS');
  }

  let jwtKey = parseJwtKey(value);
  if (jwtKey === undefined) {
    if (production) {
      throw new ConfigError(
        'JWT_SECRET',
        'one of JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URI is required when NODE_ENV=production',
      );
    }
    jwtKey = { kind: 'secret', secret: LOCAL_DEFAULTS.jwtSecret, algorithms: ['HS256'] };
    localDefaults.push('JWT_SECRET');
  }

  // The public development token exists only so that the README's walkthrough works with no
  // configuration at all. An operator who set a secret of their own (even with FCM still
  // defaulted) gets what API.md promises for an unset ADMIN_TOKEN: no admin API.
  const secretsDefaulted =
    localDefaults.includes('WEBHOOK_SECRETS') && localDefaults.includes('JWT_SECRET');
  let adminToken = value('ADMIN_TOKEN');
  if (adminToken === undefined && secretsDefaulted) {
    adminToken = LOCAL_DEFAULTS.adminToken;
    localDefaults.push('ADMIN_TOKEN');
  }
  if (adminToken !== undefined && adminToken.length < 16 && production) {
    throw new ConfigError('ADMIN_TOKEN', 'must be at least 16 characters');
  }

  const config: Config = {
    production,
    localDefaults,
    port: integer(value, 'PORT', 3000, 0, 65535),
    // Local mode runs with well-known secrets, so it only listens on this machine by default.
    host: value('HOST') ?? (localDefaults.length > 0 ? '127.0.0.1' : '0.0.0.0'),
    database: parseDatabaseUrl(value('DATABASE_URL') ?? 'sqlite:./data/herald.sqlite'),
    migrateOnStart: boolean(value, 'MIGRATE_ON_START', true),
    fcm: {
      projectId:
        value('FIREBASE_PROJECT_ID') ?? (startEmulator ? LOCAL_DEFAULTS.projectId : undefined),
      credentialsFile,
      emulatorHost,
      startEmulator,
    },
    webhookSecrets,
    jwt: { key: jwtKey, issuer: value('JWT_ISSUER'), audience: value('JWT_AUDIENCE') },
    adminToken,
    metricsToken: value('METRICS_TOKEN'),
    plugins: parseList(value('PLUGINS')) ?? [...DEFAULT_PLUGINS],
    rateLimits: {
      webhooksPerMinute: integer(value, 'RATE_LIMIT_WEBHOOKS_PER_MINUTE', 6000, 1, 10_000_000),
      devicesPerMinute: integer(value, 'RATE_LIMIT_DEVICES_PER_MINUTE', 60, 1, 10_000_000),
      redisUrl: redisUrl(value('RATE_LIMIT_REDIS_URL')),
    },
    logLevel: logLevel(value('LOG_LEVEL') ?? 'info'),
  };
  if (config.plugins.length === 0) throw new ConfigError('PLUGINS', 'names no plugin');
  return Object.freeze(config);
}

export function parseDatabaseUrl(url: string): DatabaseConfig {
  if (url.startsWith('sqlite:')) {
    const filename = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (filename === '')
      throw new ConfigError(
        'DATABASE_URL',
        'sqlite: needs a path, e.g. sqlite:./data/herald.sqlite',
      );
    return { client: 'better-sqlite3', filename };
  }
  if (url.startsWith('mysql://')) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError('DATABASE_URL', 'is not a valid mysql:// URL');
    }
    if (parsed.pathname.length <= 1) {
      throw new ConfigError('DATABASE_URL', 'must name a database: mysql://user:pass@host:port/db');
    }
    return { client: 'mysql2', url };
  }
  throw new ConfigError('DATABASE_URL', 'must start with mysql:// or sqlite:');
}

function parseWebhookSecrets(raw: string | undefined): Map<string, string[]> {
  const secrets = new Map<string, string[]>();
  for (const pair of parseList(raw) ?? []) {
    const eq = pair.indexOf('=');
    const source = pair.slice(0, eq).trim();
    const secret = pair.slice(eq + 1).trim();
    if (eq <= 0 || !SOURCE_NAME.test(source)) {
      throw new ConfigError(
        'WEBHOOK_SECRETS',
        'each entry must be source=whsec_… with a source of letters, digits, - or _',
      );
    }
    const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : undefined;
    if (key === undefined || key.length < 16) {
      throw new ConfigError(
        'WEBHOOK_SECRETS',
        `the secret of "${source}" must be whsec_ followed by at least 16 base64 bytes`,
      );
    }
    secrets.set(source, [...(secrets.get(source) ?? []), secret]);
  }
  return secrets;
}

function parseJwtKey(value: (name: string) => string | undefined): JwtKeyConfig | undefined {
  const set = ['JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_JWKS_URI'].filter(
    (name) => value(name) !== undefined,
  );
  if (set.length > 1) {
    throw new ConfigError(
      set[1],
      `only one JWT key source may be set, but ${set.join(' and ')} are`,
    );
  }
  const secret = value('JWT_SECRET');
  if (secret !== undefined) {
    if (Buffer.byteLength(secret) < 32)
      throw new ConfigError('JWT_SECRET', 'must be at least 32 bytes');
    return { kind: 'secret', secret, algorithms: ['HS256'] };
  }
  const pem = value('JWT_PUBLIC_KEY')?.replace(/\\n/g, '\n');
  if (pem !== undefined) {
    let key;
    try {
      key = createPublicKey(pem);
    } catch {
      throw new ConfigError('JWT_PUBLIC_KEY', 'is not a PEM public key');
    }
    if (key.asymmetricKeyType === 'rsa') {
      return { kind: 'public-key', publicKey: pem, algorithms: ['RS256'] };
    }
    // An EC key signs with the one algorithm of its curve; any other would refuse every token.
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const algorithm = EC_ALGORITHMS[curve ?? ''];
    if (key.asymmetricKeyType === 'ec' && algorithm) {
      return { kind: 'public-key', publicKey: pem, algorithms: [algorithm] };
    }
    throw new ConfigError(
      'JWT_PUBLIC_KEY',
      `must be an RSA key or an EC key on P-256, P-384 or P-521, not ${key.asymmetricKeyType} ${curve ?? ''}`.trim(),
    );
  }
  const uri = value('JWT_JWKS_URI');
  if (uri !== undefined) {
    if (!/^https?:\/\//.test(uri)) throw new ConfigError('JWT_JWKS_URI', 'must be an http(s) URL');
    return { kind: 'jwks', uri };
  }
  return undefined;
}

function parseList(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function integer(
  value: (name: string) => string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = value(name);
  if (raw === undefined) return fallback;
  const parsed = Number(raw);
  if (!/^\d+$/.test(raw) || parsed < min || parsed > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return parsed;
}

function boolean(
  value: (name: string) => string | undefined,
  name: string,
  fallback: boolean,
): boolean {
  const raw = value(name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['true', '1', 'yes'].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function redisUrl(raw: string | undefined): string | undefined {
  if (raw !== undefined && !/^rediss?:\/\//.test(raw)) {
    throw new ConfigError('RATE_LIMIT_REDIS_URL', 'must start with redis:// or rediss://');
  }
  return raw;
}

function logLevel(raw: string): string {
  if (!LOG_LEVELS.includes(raw))
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  return raw;
}

/** A random 32-byte Standard Webhooks secret, for `herald` and for tests. */
export function newWebhookSecret(): string {
  return 'whsec_' + randomBytes(32).toString('base64');
}
