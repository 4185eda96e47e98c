import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { Config } from './config';
import type { Database } from './db/connection';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { PluginRegistry } from './plugins/registry';
import { createDevicesRouter } from './http/devices-router';
import { errorHandler, notFoundHandler } from './http/error-handler';
import { createNotificationsRouter } from './http/notifications-router';
import { createOperationsRouter } from './http/operations-router';
import { createWebhooksRouter } from './http/webhooks-router';
import type { EventIntake } from './db/event-intake';
import type { RateLimitBackend } from './http/rate-limit';

export interface AppDependencies {
  config: Config;
  db: Database;
  logger: Logger;
  metrics: Metrics;
  plugins: PluginRegistry;
  intake: EventIntake;
  rateLimits: RateLimitBackend;
}

const REQUEST_ID = /^[\w.:-]{1,100}$/;

/** Builds the HTTP surface from its dependencies; nothing global, so tests build their own. */
export function createApp(deps: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: (req: IncomingMessage, res: ServerResponse) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'info',
      serializers: {
        req: (req: { method: string; url: string; id: unknown }) => ({
          id: req.id,
          method: req.method,
          url: req.url,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use((req, res, next) => {
    const stop = deps.metrics.httpRequestDuration.startTimer();
    res.on('finish', () => {
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      stop({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  });

  app.use(createOperationsRouter({ ...deps, metricsToken: deps.config.metricsToken }));
  app.use('/v1/webhooks', createWebhooksRouter(deps));
  app.use('/v1/devices', createDevicesRouter(deps));
  app.use('/v1/notifications', createNotificationsRouter(deps));

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
