import type { RequestHandler } from 'express';
import type { Metrics } from '../metrics';
import type { RoutePatterns } from './route-patterns';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The method label: the usual seven, and `other` for the rest Node accepts (PROPFIND...). */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'other';
}

/**
 * Times every request into `herald_http_request_duration_seconds`, labelled by route pattern
 * (never the raw path), a bounded method and the status, so label sets stay few whatever
 * clients send.
 */
export function requestMetrics(metrics: Metrics, routes: RoutePatterns): RequestHandler {
  return (req, res, next) => {
    const stop = metrics.httpRequestDuration.startTimer();
    res.on('finish', () => {
      stop({
        method: methodLabel(req.method),
        route: routes.labelOf(req),
        status: String(res.statusCode),
      });
    });
    next();
  };
}
