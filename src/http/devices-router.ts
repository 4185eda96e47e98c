import express, { Router, type Request, type RequestHandler } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import { z } from 'zod';
import type { AppDependencies } from '../app';
import { clientUserId, createClientJwtVerifier, requireClientJwt } from '../auth/client-jwt';
import { DevicesRepository, type Device } from '../db/devices-repository';
import { errors } from '../errors';
import { tokenPrefix } from '../logger';
import { createRateLimiter } from './rate-limit';

const PLATFORMS = ['android', 'ios', 'web'] as const;

const registrationSchema = z.object(
  {
    token: z
      .string({
        error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string'),
      })
      .min(1, 'must not be empty')
      .max(4096, 'must be at most 4096 characters')
      .regex(
        /^[\x21-\x7e]*$/,
        'must be printable ASCII (0x21 to 0x7E), without spaces or control characters',
      ),
    platform: z.enum(PLATFORMS, {
      error: (issue) =>
        issue.input === undefined ? 'is required' : `must be one of ${PLATFORMS.join(', ')}`,
    }),
  },
  { error: 'must be a JSON object with "token" and "platform"' },
);

/**
 * Device registration for client apps (API.md §5). Every request is checked in this order: the
 * client JWT (401), the caller's rate limit (429), then the body (415, 400, 422).
 */
export function createDevicesRouter(deps: AppDependencies): Router {
  const router = Router();
  const devices = new DevicesRepository(deps.db);
  const verifier = createClientJwtVerifier({
    key: deps.config.jwt.key,
    issuer: deps.config.jwt.issuer,
    audience: deps.config.jwt.audience,
    logger: deps.logger,
  });

  router.use(requireClientJwt(verifier));
  router.use(
    createRateLimiter({
      backend: deps.rateLimits,
      name: 'devices',
      perMinute: deps.config.rateLimits.devicesPerMinute,
      key: rateLimitKey,
    }),
  );

  router.post('/', requireJsonBody, express.json({ limit: '16kb' }), async (req, res) => {
    const userId = caller(req);
    const parsed = registrationSchema.safeParse(req.body);
    if (!parsed.success) {
      deps.metrics.deviceRegistrations.inc({
        platform: platformLabel(req.body),
        outcome: 'rejected',
      });
      throw errors.invalidDevice(
        parsed.error.issues.map((issue) => ({
          path: issue.path.join('.'),
          message: issue.message,
        })),
      );
    }

    const { token, platform } = parsed.data;
    const { device, created } = await devices
      .register(userId, token, platform)
      .catch((err: unknown) => Promise.reject(withoutSqlValues(err)));
    deps.metrics.deviceRegistrations.inc({ platform, outcome: created ? 'created' : 'updated' });
    req.log.info(
      { userId, deviceId: device.id, platform, tokenPrefix: tokenPrefix(token), created },
      created ? 'device registered' : 'device refreshed',
    );
    res.status(created ? 201 : 200).json(toBody(device));
  });

  router.get('/', async (req, res) => {
    const list = await devices.listForUser(caller(req));
    res.json({ devices: list.map(toBody) });
  });

  router.delete('/:id', async (req, res) => {
    const userId = caller(req);
    const deleted = await devices.deleteForUser(userId, req.params.id);
    if (!deleted) throw errors.notFound('You have no device with this id');

    req.log.info({ userId, deviceId: req.params.id }, 'device deleted');
    res.status(204).end();
  });

  return router;
}

/** Per user; the address only if a request ever got here without a verified JWT. */
function rateLimitKey(req: Request): string {
  const userId = clientUserId(req);
  if (userId !== undefined) return `user:${userId}`;
  return `ip:${ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown')}`;
}

function caller(req: Request): string {
  const userId = clientUserId(req);
  if (userId === undefined) throw new Error('device route reached without a verified client JWT');
  return userId;
}

/**
 * express.json() quietly skips bodies of other types; a registration without a JSON body must
 * say why it was refused instead.
 */
const requireJsonBody: RequestHandler = (req, _res, next) => {
  const length = req.get('content-length');
  const chunked = req.get('transfer-encoding') !== undefined;
  if (!chunked && (length === undefined || Number(length) === 0)) {
    throw errors.invalidJson('the body is empty; send {"token": "…", "platform": "…"}');
  }
  if (req.is('application/json') === false) throw errors.unsupportedMediaType();
  next();
};

/**
 * MySQL errors carry the whole statement with its values, the device token among them, in both
 * `message` and `sql`; the error handler logs 5xx errors whole. Keep what the driver said.
 */
function withoutSqlValues(err: unknown): unknown {
  if (!(err instanceof Error) || !('sql' in err)) return err;
  const sqlMessage = 'sqlMessage' in err ? String(err.sqlMessage) : 'query failed';
  const code = 'code' in err ? String(err.code) : undefined;
  return Object.assign(new Error(`device registration failed: ${sqlMessage}`), { code });
}

/** The platform label of a rejected registration, bounded to the known platforms. */
function platformLabel(body: unknown): string {
  const platform =
    typeof body === 'object' && body !== null && 'platform' in body ? body.platform : undefined;
  return PLATFORMS.find((known) => known === platform) ?? 'unknown';
}

function toBody(device: Device) {
  return {
    id: device.id,
    platform: device.platform,
    createdAt: device.createdAt.toISOString(),
    updatedAt: device.updatedAt.toISOString(),
  };
}
