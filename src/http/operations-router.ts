import { Router } from 'express';
import { isReady, type Database } from '../db/connection';
import { errors } from '../errors';
import type { Metrics } from '../metrics';
import { bearerMatches } from '../auth/bearer';

/** Liveness, readiness and the Prometheus scrape (API.md §8). */
export function createOperationsRouter(deps: {
  db: Database;
  metrics: Metrics;
  metricsToken: string | undefined;
}): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const ready = await isReady(deps.db);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready' });
  });

  router.get('/metrics', async (req, res) => {
    if (
      deps.metricsToken !== undefined &&
      !bearerMatches(req.get('authorization'), deps.metricsToken)
    ) {
      throw errors.unauthorized('GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>"');
    }
    res.set('Content-Type', deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });

  return router;
}
