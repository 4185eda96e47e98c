import { createHmac, timingSafeEqual } from 'node:crypto';

/** Standard Webhooks allows five minutes of clock difference, either way. */
export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;

export interface SignedRequest {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  body: Buffer;
}

/** Why a webhook's signature was refused, said so that the sender can fix it. */
export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks a Standard Webhooks signature: HMAC-SHA256 over `id.timestamp.body` with any of the
 * source's secrets (several while one is being rotated), against any of the `v1,` signatures
 * in the header. Every comparison runs in constant time.
 */
export function verifyWebhookSignature(
  request: SignedRequest,
  secrets: readonly string[],
  nowSeconds = Math.floor(Date.now() / 1000),
): SignatureCheck {
  const { id, timestamp, signature } = request;
  if (!id || !timestamp || !signature) {
    return {
      ok: false,
      reason: 'webhook-id, webhook-timestamp and webhook-signature headers are all required',
    };
  }
  if (!/^\d{1,12}$/.test(timestamp)) {
    return { ok: false, reason: 'webhook-timestamp must be whole seconds since the epoch' };
  }
  if (Math.abs(nowSeconds - Number(timestamp)) > TIMESTAMP_TOLERANCE_SECONDS) {
    return { ok: false, reason: 'webhook-timestamp is more than 5 minutes away from now' };
  }

  const given = signature
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3), 'base64'));
  if (given.length === 0) {
    return { ok: false, reason: 'webhook-signature has no v1,<base64> signature' };
  }

  for (const secret of secrets) {
    const expected = sign(secret, id, timestamp, request.body);
    for (const candidate of given) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) {
        return { ok: true };
      }
    }
  }
  return { ok: false, reason: 'no signature matches the body with any secret of this source' };
}

/** The raw HMAC of one message; `signatureHeader` formats it the way senders send it. */
export function sign(secret: string, id: string, timestamp: string, body: Buffer | string): Buffer {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
}

/** Standard Webhooks headers for a body, as a sender (or a test) produces them. */
export function signatureHeaders(
  secret: string,
  id: string,
  body: string,
  timestamp = Math.floor(Date.now() / 1000),
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const ts = String(timestamp);
  return {
    'webhook-id': id,
    'webhook-timestamp': ts,
    'webhook-signature': `v1,${sign(secret, id, ts, body).toString('base64')}`,
  };
}
