import { Router, type RequestHandler } from 'express';
import type { AppDependencies } from '../app';
import { bearerMatches } from '../auth/bearer';
import { NotificationsRepository } from '../db/notifications-repository';
import { errors } from '../errors';

/**
 * The admin API (API.md §6). Without ADMIN_TOKEN every admin path answers 404, as if it did
 * not exist; with it, a missing or wrong bearer token is a 401.
 */
export function createNotificationsRouter(deps: AppDependencies): Router {
  const router = Router();
  const notifications = new NotificationsRepository(deps.db);
  const { adminToken } = deps.config;

  const requireAdmin: RequestHandler = (req, _res, next) => {
    if (adminToken === undefined) throw errors.notFound();
    if (!bearerMatches(req.get('authorization'), adminToken)) {
      throw errors.unauthorized('This admin path needs "Authorization: Bearer <ADMIN_TOKEN>"');
    }
    next();
  };

  router.get('/:id', requireAdmin, async (req, res) => {
    const notification = await notifications.get(String(req.params.id));
    if (!notification) throw errors.notFound('No notification has this id');
    res.json(notification);
  });

  return router;
}
