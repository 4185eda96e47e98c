import { createLogger, type Logger } from '../../src/logger';

export interface LogLine {
  level: number;
  msg?: string;
  err?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface CapturedLogs {
  logger: Logger;
  /** Every line written so far, parsed. */
  lines(): LogLine[];
  /** Every line written so far, as written. */
  text(): string;
}

/** Herald's own logger writing into memory, so a test can read exactly what would be logged. */
export function captureLogs(level = 'debug'): CapturedLogs {
  const written: string[] = [];
  const logger = createLogger(level, { write: (line: string) => void written.push(line) });
  return {
    logger,
    lines: () => written.map((line) => JSON.parse(line) as LogLine),
    text: () => written.join(''),
  };
}

export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;
