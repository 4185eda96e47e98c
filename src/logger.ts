import { IncomingMessage, ServerResponse } from 'node:http';
import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Keys whose values are blanked wherever they sit in a logged object (any case, nested up to
 * MAX_DEPTH levels).
 * Redaction is configuration, not discipline: a log call that forgets a secret still does not
 * leak it.
 */
const SECRET_KEYS = new Set(
  [
    'token',
    'tokens',
    'secret',
    'secrets',
    'password',
    'authorization',
    'proxy-authorization',
    'cookie',
    'set-cookie',
    'webhook-signature',
    'x-api-key',
    'jwt',
    'accessToken',
    'access_token',
    'refreshToken',
    'refresh_token',
    'idToken',
    'id_token',
    'apiKey',
    'api_key',
    'privateKey',
    'private_key',
    'clientSecret',
    'client_secret',
    'adminToken',
    'metricsToken',
    'jwtSecret',
    'webhookSecret',
    'webhookSecrets',
  ].map((key) => key.toLowerCase()),
);
const CENSORED = '[redacted]';
/** Deeper than this, objects are written as they are (log objects are a few levels at most). */
const MAX_DEPTH = 8;

const JWT = /\beyJ[\w-]{2,}\.[\w-]{2,}\.[\w-]*/g;
const WEBHOOK_SECRET = /\bwhsec_[A-Za-z0-9+/=]{4,}/g;
const BEARER = /\b([Bb]earer)\s+[\w.~+/=-]{8,}/g;
/** FCM tokens, API keys and the like: long runs without spaces or slashes. */
const OPAQUE = /[\w:-]{64,}/g;

/**
 * Shortens what looks like a JWT, a webhook secret, a bearer credential or a device token in
 * free text (messages, error messages and stacks), which redaction paths cannot reach.
 */
export function scrubSecrets(text: string): string {
  return text
    .replace(JWT, (jwt) => `${jwt.slice(0, 8)}…`)
    .replace(WEBHOOK_SECRET, 'whsec_…')
    .replace(BEARER, (_match, scheme: string) => `${scheme} …`)
    .replace(OPAQUE, (run) => `${run.slice(0, 8)}…`);
}

const SQL_STATEMENT = /^\s*(select|insert|update|delete|replace|with|create|alter|drop|pragma)\b/i;
/** Properties of driver errors that hold a statement or its values. */
const STATEMENT_KEYS = new Set(['sql', 'sqlMessage', 'parameters', 'bindings', 'values']);
/** Quoted literals in a database message long enough to be a token or a secret. */
const LONG_LITERAL = /'([^']{40,})'/g;

interface ErrorFields {
  message?: unknown;
  stack?: unknown;
  name?: unknown;
  sql?: unknown;
  sqlMessage?: unknown;
  cause?: unknown;
  errors?: unknown;
  code?: unknown;
}

/**
 * The message of a database error without its statement. knex writes the statement with its
 * values inlined (device tokens, message bodies) in front of the driver's message, and mysql2
 * repeats it in `sql`; the driver's own words (`sqlMessage`, or what follows knex's " - ") are
 * what an operator needs, with long quoted values shortened.
 */
function withoutStatement(err: ErrorFields, message: string): string {
  if (!fromStatement(err, message)) return message;

  let said: string;
  if (typeof err.sqlMessage === 'string') said = err.sqlMessage;
  else if (message.includes(' - ')) said = message.slice(message.lastIndexOf(' - ') + 3);
  else said = 'query failed';
  return said.replace(LONG_LITERAL, (_match, value: string) => `'${value.slice(0, 8)}…'`);
}

/** mysql2 errors carry `sql`; knex's message of any driver error is `<statement> - <message>`. */
function fromStatement(err: ErrorFields, message: string): boolean {
  if (typeof err.sql === 'string') return true;
  return 'code' in err && SQL_STATEMENT.test(message) && message.includes(' - ');
}

/** The verb and table of a failed statement, enough to find the query without its values. */
function statementSummary(err: ErrorFields, message: string): string | undefined {
  const sql = typeof err.sql === 'string' ? err.sql : SQL_STATEMENT.test(message) ? message : '';
  const verb = SQL_STATEMENT.exec(sql)?.[1]?.toLowerCase();
  if (!verb) return undefined;
  const table = /\b(?:into|from|update|table)\s+[`"[]?([\w.]+)/i.exec(sql)?.[1];
  return table ? `${verb} ${table}` : verb;
}

/**
 * pino's `err` serializer for every Herald logger: the usual type, message, stack and own
 * fields, minus database statements and their values, with secrets in free text shortened.
 */
export function serializeError(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const err = value as ErrorFields;
  if (typeof err.message !== 'string') return value;

  const raw = err.message;
  const message = withoutStatement(err, raw);
  const out: Record<string, unknown> = {
    type: value instanceof Error ? value.constructor.name : String(err.name ?? 'Error'),
    message: scrubSecrets(message),
  };
  const query = message === raw ? undefined : statementSummary(err, raw);
  if (query) out.query = query;
  if (typeof err.stack === 'string') {
    // V8 writes the stack's first line when it is first read: often after knex changed the message.
    const stack = query && raw !== '' ? err.stack.split(raw).join(message) : err.stack;
    out.stack = scrubSecrets(stack);
  }

  for (const [key, field] of Object.entries(value)) {
    if (STATEMENT_KEYS.has(key) || key in out || key === 'cause' || key === 'errors') continue;
    out[key] = field instanceof Error ? serializeError(field, depth + 1) : redactSecrets(field, 1);
  }
  if (depth < 5 && err.cause !== undefined) out.cause = serializeError(err.cause, depth + 1);
  if (depth < 5 && Array.isArray(err.errors)) {
    out.errors = err.errors.map((inner: unknown) => serializeError(inner, depth + 1));
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * A log object with secret keys blanked and free text scrubbed, copied only where something
 * changed (the caller's object stays its own). Plain objects and arrays are walked; errors,
 * requests and the like are left to their serializers. pino's own `redact` was measured at
 * about 80 µs a line with wildcard paths for these keys; this walk costs a few µs.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (depth > MAX_DEPTH) return value;

  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item: unknown, i) => {
      const clean = redactSecrets(item, depth + 1);
      if (clean === item) return;
      copy ??= [...value];
      copy[i] = clean;
    });
    return copy ?? value;
  }
  if (!isPlainObject(value)) return value;

  let copy: Record<string, unknown> | undefined;
  for (const [key, field] of Object.entries(value)) {
    const clean = SECRET_KEYS.has(key.toLowerCase()) ? CENSORED : redactSecrets(field, depth + 1);
    if (clean === field) continue;
    copy ??= { ...value };
    copy[key] = clean;
  }
  return copy ?? value;
}

/** Requests and responses are written as their method and path, or their status: no headers. */
function serializeRequest(value: unknown): unknown {
  if (!(value instanceof IncomingMessage)) return value;
  const url = (value as { originalUrl?: string }).originalUrl ?? value.url ?? '/';
  const path = url.split('?')[0];
  return { method: value.method, path: path.length > 200 ? `${path.slice(0, 200)}…` : path };
}

function serializeResponse(value: unknown): unknown {
  return value instanceof ServerResponse ? { statusCode: value.statusCode } : value;
}

/**
 * The one way Herald makes a root logger: the redaction, the serializers and the free text
 * scrubber are inherited by every child (the request loggers included), so no log line carries
 * a whole token, JWT or secret. The query string of a request is never written: nothing in Herald's API
 * takes one, so it could only hold junk or a credential put in the wrong place. Tests pass an
 * in-memory `destination` to read the lines.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      serializers: { err: serializeError, req: serializeRequest, res: serializeResponse },
      formatters: { log: (object) => redactSecrets(object) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((arg) => (typeof arg === 'string' ? scrubSecrets(arg) : arg));
          method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
      base: { service: 'herald' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** The first characters of a device token: enough to trace it in logs, too little to use it. */
export function tokenPrefix(token: string): string {
  return token.length <= 12 ? `${token.slice(0, 4)}…` : `${token.slice(0, 8)}…`;
}

export type { Logger };
