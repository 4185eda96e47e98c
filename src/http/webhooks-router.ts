import { createHash } from 'node:crypto';
import { finished } from 'node:stream';
import express, { Router, type Request, type RequestHandler } from 'express';
import type { AppDependencies } from '../app';
import { verifyWebhookSignature } from '../auth/webhook-signature';
import { NotificationsRepository } from '../db/notifications-repository';
import { errors } from '../errors';
import { decodeFailure } from './error-handler';
import { createRateLimiter } from './rate-limit';

export const WEBHOOK_BODY_LIMIT = 64 * 1024;

/** Tells a sender who signed the payload why a body that did not decode fails its signature. */
const AS_SENT = '(the body did not decode with its Content-Encoding, so it was checked as sent)';

interface UndecodedBody {
  /** Body-parser's error, answered by the error handler once the signature has passed. */
  error: unknown;
  /** The bytes as they arrived, still encoded. */
  received: Buffer;
}

interface WebhookLocals {
  source: string;
  secrets: readonly string[];
  undecoded?: UndecodedBody;
}

/**
 * `POST /v1/webhooks/:source` (API.md §4). The checks run in the documented order — source,
 * size, signature, rate limit, media type, JSON, idempotency, event — so an unsigned request
 * costs a source nothing of its rate limit and never reaches the parser.
 */
export function createWebhooksRouter(deps: AppDependencies): Router {
  const router = Router();
  const notifications = new NotificationsRepository(deps.db);
  const { webhookSecrets } = deps.config;

  // Every answer is counted, refusals included, under its source or `unknown`.
  const findSource: RequestHandler = (req, res, next) => {
    // Read now: an error leaving the router takes req.params with it before the answer.
    const source = String(req.params.source);
    const secrets = webhookSecrets.get(source);
    const label = secrets ? source : 'unknown';
    res.on('finish', () => {
      deps.metrics.webhookRequests.inc({ source: label, status: String(res.statusCode) });
    });
    if (!secrets) throw errors.unknownSource(source);
    res.locals.webhook = { source, secrets } satisfies WebhookLocals;
    next();
  };

  // Body-parser decodes Content-Encoding, and its limit applies to the decoded bytes.
  const parseBody = express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT });

  // A body that does not decode is kept as received and marked, not refused: the signature is
  // checked first (API.md §4), and the decode failure answered only to a signed request.
  const readBody: RequestHandler = (req, res, next) => {
    // As body-parser reads the header: empty is the same as none.
    const encoding = (req.get('content-encoding') || 'identity').toLowerCase();
    if (encoding === 'identity') {
      parseBody(req, res, next);
      return;
    }

    const received = keepReceived(req, WEBHOOK_BODY_LIMIT);
    parseBody(req, res, (err?: unknown) => {
      if (decodeFailure(err) === undefined) {
        received.stop();
        next(err);
        return;
      }
      received.whenEnded((ended) => {
        if (ended.error) return next(errors.incompleteBody());
        // Not decoded, there is no payload to measure: the bytes as received are held to the limit.
        if (ended.body === undefined) return next(errors.payloadTooLarge(WEBHOOK_BODY_LIMIT));
        (res.locals.webhook as WebhookLocals).undecoded = { error: err, received: ended.body };
        next();
      });
    });
  };

  const checkSignature: RequestHandler = (req, res, next) => {
    const { secrets, undecoded } = res.locals.webhook as WebhookLocals;
    const id = req.get('webhook-id');
    // Senders sign the decoded payload; when there is none, only a signature over the bytes as
    // received proves the secret, so no one without it learns more than this 401.
    const check = verifyWebhookSignature(
      {
        id,
        timestamp: req.get('webhook-timestamp'),
        signature: req.get('webhook-signature'),
        body: undecoded?.received ?? rawBody(req),
      },
      secrets,
    );
    if (!check.ok) {
      throw errors.invalidSignature(undecoded ? `${check.reason} ${AS_SENT}` : check.reason);
    }
    if (id !== undefined && id.length > 255) {
      throw errors.invalidSignature('webhook-id must be at most 255 characters');
    }
    next();
  };

  const rateLimit = createRateLimiter({
    backend: deps.rateLimits,
    name: 'webhooks',
    perMinute: deps.config.rateLimits.webhooksPerMinute,
    key: (req) => `source:${String(req.params.source)}`,
  });

  router.post('/:source', findSource, readBody, checkSignature, rateLimit, async (req, res) => {
    const { source, undecoded } = res.locals.webhook as WebhookLocals;
    const webhookId = req.get('webhook-id') as string;
    if (!req.is('application/json')) throw errors.unsupportedMediaType();
    if (undecoded) throw undecoded.error;
    const body = rawBody(req);
    const parsed = parseJson(body);
    const bodyHash = createHash('sha256').update(body).digest('hex');

    const checked = deps.plugins.validateEvent(parsed);
    if (!checked.ok) {
      // Idempotency comes before the event (API.md §4): a repeat of a stored webhook is
      // answered for what was stored, even when this body would not pass. Valid events learn
      // the same from the intake's unique key, without a lookup of their own.
      const existing = await notifications.findByWebhookId(source, webhookId);
      if (existing) {
        if (existing.body_hash !== bodyHash) throw errors.idempotencyConflict();
        res.status(200).json({ notificationId: existing.id, status: existing.status });
        return;
      }
      if (checked.code === 'unknown_event_type') {
        throw errors.unknownEventType(
          String((parsed as { type: unknown }).type),
          deps.plugins.eventTypes,
        );
      }
      throw errors.invalidEvent(checked.details);
    }
    const { plugin, event } = checked;
    const dispatches = plugin.plan(event);

    const result = await deps.intake.accept({
      source,
      webhookId,
      bodyHash,
      type: event.type,
      plugin: plugin.name,
      dispatches,
      requestId: req.id,
    });
    if (result.outcome === 'conflict') throw errors.idempotencyConflict();
    if (result.outcome === 'duplicate') {
      res.status(200).json({ notificationId: result.notificationId, status: result.status });
      return;
    }
    if (result.status === 'no_targets') {
      deps.metrics.notifications.inc({ plugin: plugin.name, status: 'no_targets' });
    }
    // Checked first: a level that writes nothing should not make the request's logger.
    if (deps.logger.isLevelEnabled('info')) {
      req.log.info(
        {
          notificationId: result.notificationId,
          source,
          type: event.type,
          dispatches: dispatches.length,
        },
        'event accepted',
      );
    }
    res.status(202).json({ notificationId: result.notificationId, status: 'queued' });
  });

  return router;
}

function rawBody(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw errors.invalidJson((err as Error).message);
  }
}

type Received = { error: Error; body?: undefined } | { error?: undefined; body?: Buffer };

/**
 * Copies an encoded body as it arrives, alongside body-parser, up to `limit` bytes. The copy is
 * only read when decoding fails; `body` is then undefined when more than `limit` arrived.
 */
function keepReceived(req: Request, limit: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  const keep = (chunk: Buffer) => {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  };
  req.on('data', keep);

  return {
    stop: () => req.off('data', keep),
    whenEnded: (callback: (received: Received) => void) => {
      finished(req, { writable: false }, (err) => {
        req.off('data', keep);
        if (err) callback({ error: err });
        else callback({ body: size > limit ? undefined : Buffer.concat(chunks) });
      });
    },
  };
}
