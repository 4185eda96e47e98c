import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Paths pino blanks in every line. Redaction is configuration, not discipline: a log call that
 * forgets a secret still does not leak it.
 */
const REDACT = [
  'req.headers.authorization',
  'req.headers["webhook-signature"]',
  'req.headers.cookie',
  '*.token',
  '*.tokens',
  '*.secret',
  '*.password',
  '*.authorization',
  'token',
  'tokens',
  'secret',
  'password',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT, censor: '[redacted]' },
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
