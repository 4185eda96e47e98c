import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Express, RequestHandler } from 'express';
import type { Level } from 'pino';
import type { Logger } from '../logger';

declare module 'node:http' {
  interface IncomingMessage {
    /** The request id: the caller's `x-request-id` when it is sane, else a new UUID. */
    id: string;
    /** The gateway's logger with `reqId` bound, made on first use. */
    readonly log: Logger;
  }
}

export const REQUEST_ID_HEADER = 'x-request-id';

/** An incoming id is reused only when it is short and plain, so it cannot forge log lines. */
const SANE_REQUEST_ID = /^[\w.:-]{1,100}$/;

/** Probes and scrapes come every few seconds; their successes would drown the other lines. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

const REQUEST_LOGGER = Symbol('herald.requestLogger');

interface LoggedRequest extends IncomingMessage {
  [REQUEST_LOGGER]?: Logger;
}

function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers[REQUEST_ID_HEADER];
  const id = typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

function isQuiet(req: IncomingMessage): boolean {
  const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  const query = url.indexOf('?');
  return QUIET_PATHS.has(query === -1 ? url : url.slice(0, query));
}

/** 5xx are errors; successful probes and scrapes are debug; the rest, 4xx included, info. */
function levelOf(req: IncomingMessage, res: ServerResponse): Level {
  if (res.statusCode >= 500) return 'error';
  if (res.statusCode < 400 && isQuiet(req)) return 'debug';
  return 'info';
}

/**
 * One log line per answered request, `request answered`, under a request id that the response
 * returns in `x-request-id` and that the delivery logs of an accepted event carry as `reqId`;
 * every line a handler writes through `req.log` carries `reqId` too. The line holds the method
 * and path of the request, the status of the response and `responseTime` in milliseconds (the
 * logger's serializers write no header), and `aborted: true` when the client went away first.
 *
 * It costs one listener and no logger per request: `req.log` is a getter on the app's request
 * prototype that makes its child logger only when a handler writes a line, and the answer's
 * line is written straight to the root logger, only at a level that is enabled. pino-http,
 * which this replaces, built two child loggers for every request whatever the level: 37 µs of
 * the 247 µs of CPU a webhook took in the ingest bench.
 */
export function useRequestLogging(app: Express, logger: Logger): void {
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: LoggedRequest): Logger {
      this[REQUEST_LOGGER] ??= logger.child({ reqId: this.id });
      return this[REQUEST_LOGGER];
    },
  });
  app.use(requestLogging(logger));
}

function requestLogging(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const id = requestId(req, res);
    const started = Date.now();
    req.id = id;
    // A response emits `close` last, whether it finished or its client went away first.
    res.once('close', () => {
      // Below 500 the level is info or debug: a logger above info writes neither.
      if (res.statusCode < 500 && !logger.isLevelEnabled('info')) return;
      const level = levelOf(req, res);
      if (!logger.isLevelEnabled(level)) return;
      const line: Record<string, unknown> = {
        reqId: id,
        req,
        res,
        responseTime: Date.now() - started,
      };
      if (!res.writableFinished) line.aborted = true;
      logger[level](line, 'request answered');
    });
    next();
  };
}
