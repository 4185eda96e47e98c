import express, { type Express } from 'express';
import type { Config } from './config';
import type { Database } from './db/connection';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { PluginRegistry } from './plugins/registry';
import { createDevicesRouter } from './http/devices-router';
import { errorHandler, notFoundHandler } from './http/error-handler';
import { createNotificationsRouter } from './http/notifications-router';
import { createOpenApiRouter } from './http/openapi-router';
import { createOperationsRouter } from './http/operations-router';
import { useRequestLogging } from './http/request-logging';
import { requestMetrics } from './http/request-metrics';
import { RoutePatterns } from './http/route-patterns';
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

/** Builds the HTTP surface from its dependencies; nothing global, so tests build their own. */
export function createApp(deps: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // An API's answers are not cached; hashing every body for an ETag would be wasted work.
  app.set('etag', false);

  // The busiest routers first: a request walks the mounts in order, and the operations and
  // OpenAPI routers, mounted at the root, would otherwise be entered by every webhook.
  const mounts = [
    ['/v1/webhooks', createWebhooksRouter(deps)],
    ['/v1/devices', createDevicesRouter(deps)],
    ['/v1/notifications', createNotificationsRouter(deps)],
    ['', createOperationsRouter({ ...deps, metricsToken: deps.config.metricsToken })],
    ['', createOpenApiRouter()],
  ] as const;

  useRequestLogging(app, deps.logger);
  app.use(requestMetrics(deps.metrics, new RoutePatterns(mounts)));
  for (const [path, router] of mounts) app.use(path || '/', router);

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
