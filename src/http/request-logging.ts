import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../logger';

export const REQUEST_ID_HEADER = 'x-request-id';

/** An incoming id is reused only when it is short and plain, so it cannot forge log lines. */
const SANE_REQUEST_ID = /^[\w.:-]{1,100}$/;

/** Probes and scrapes come every few seconds; their successes would drown the other lines. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers[REQUEST_ID_HEADER];
  const id = typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

function isQuiet(req: IncomingMessage): boolean {
  const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  return QUIET_PATHS.has(url.split('?')[0]);
}

/**
 * One log line per answered request, under a request id that the response returns in
 * `x-request-id` and that the delivery logs of an accepted event carry as `reqId`; every line a
 * handler writes through `req.log` carries `reqId` too. 5xx are errors, 4xx and the rest info.
 * The serializers (method and path of the request, status of the response, the cleaned `err`)
 * are the logger's own, not pino-http's defaults, which would write every header.
 */
export function requestLogging(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    genReqId: requestId,
    quietReqLogger: true,
    wrapSerializers: false,
    customLogLevel: (req, res, err) => {
      if (err || res.statusCode >= 500) return 'error';
      if (res.statusCode < 400 && isQuiet(req)) return 'debug';
      return 'info';
    },
    customSuccessMessage: () => 'request answered',
    customErrorMessage: () => 'request answered',
    // The error handler has logged the error itself; pino-http would add a stand-in with a stack.
    customErrorObject: (_req, res, error, line: Record<string, unknown>) =>
      error.message === `failed with status code ${res.statusCode}`
        ? { ...line, err: undefined }
        : line,
  });
}
