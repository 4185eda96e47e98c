/**
 * Zod schemas for the fields most notification types share. Messages are written to end up
 * after a path in a 422 detail, as in `{"path": "data.userIds[0]", "message": "must be a string"}`.
 */
import { z } from 'zod';

export const LIMITS = {
  identifierLength: 256,
  /** Users or tokens in one event; more belongs in a topic. */
  audienceSize: 10_000,
  titleLength: 256,
  bodyLength: 4096,
  imageUrlLength: 2048,
} as const;

/** FCM's own rule for topic names. */
export const TOPIC_NAME = /^[a-zA-Z0-9\-_.~%]{1,900}$/;
const TOPIC_PREFIX = '/topics/';
/** API.md §5: a device token is 1 to 4096 printable ASCII characters without spaces. */
const DEVICE_TOKEN = /^[\x21-\x7e]{1,4096}$/;
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const NOT_BLANK = /\S/;

/**
 * A user, conversation or other identifier: a string, or a whole number turned into one.
 * Numbers past 2^53 are refused rather than converted, because JSON parsing already rounded them
 * and the string would name someone else.
 */
export const identifier = z.preprocess(
  (value) => (typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value),
  z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? 'is required'
          : typeof issue.input === 'number'
            ? 'must be a string or a whole number below 2^53'
            : 'must be a string',
    })
    .min(1, 'must not be empty')
    .max(LIMITS.identifierLength, `must be at most ${LIMITS.identifierLength} characters`)
    .refine((value) => !CONTROL_CHARACTER.test(value), 'must not contain control characters'),
);

/** A list of up to `LIMITS.audienceSize` entries (users or tokens of one event). */
export const listOf = <T extends z.ZodType>(entry: T) =>
  z.array(entry).max(LIMITS.audienceSize, `must have at most ${LIMITS.audienceSize} entries`);

/** A non-empty list of identifiers. */
export const identifierList = listOf(identifier).min(1, 'must not be empty');

/** A notification title: non-blank, up to `LIMITS.titleLength` characters. */
export const title = z
  .string()
  .max(LIMITS.titleLength, `must be at most ${LIMITS.titleLength} characters`)
  .regex(NOT_BLANK, 'must not be empty');

/** A notification body: non-blank, up to `LIMITS.bodyLength` characters. */
export const body = z
  .string()
  .max(LIMITS.bodyLength, `must be at most ${LIMITS.bodyLength} characters`)
  .regex(NOT_BLANK, 'must not be empty');

/** An image shown with the notification; FCM fetches it, so only https with a host will do. */
export const imageUrl = z
  .string()
  .max(LIMITS.imageUrlLength, `must be at most ${LIMITS.imageUrlLength} characters`)
  .refine(isHttpsUrl, 'must be an https URL');

function isHttpsUrl(value: string): boolean {
  if (!/^https:\/\/[^\s/?#]/i.test(value) || /\s/.test(value)) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && url.hostname !== '';
  } catch {
    return false;
  }
}

const RESERVED_DATA_KEYS = new Set(['from', 'notification', 'message_type']);
const RESERVED_DATA_PREFIXES = ['google', 'gcm'];

/**
 * Why FCM would refuse `key` in a message's `data`, or undefined when it is fine. Case is
 * ignored: FCM does not say whether `From` or `GCM_x` pass, and a refusal here is cheaper than
 * one from FCM after the event was accepted.
 */
export function dataKeyProblem(key: string): string | undefined {
  if (key === '') return 'is an empty key';
  const lower = key.toLowerCase();
  if (RESERVED_DATA_KEYS.has(lower)) return 'is a key FCM reserves';
  if (RESERVED_DATA_PREFIXES.some((prefix) => lower.startsWith(prefix))) {
    return 'is reserved by FCM (keys starting with "google" or "gcm")';
  }
  return undefined;
}

/** The `data` map of a message: string values under keys FCM accepts. */
export const dataMap = z.record(
  z.string().superRefine((key, ctx) => {
    const problem = dataKeyProblem(key);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  z.string('must be a string (FCM data values are strings)'),
);

/** A device registration token (API.md §5). */
export const deviceToken = z
  .string()
  .regex(DEVICE_TOKEN, 'must be 1 to 4096 printable ASCII characters without spaces');

/** An FCM topic name; the `/topics/` prefix FCM's own SDKs accept is taken off. */
export const topicName = z
  .string()
  .transform((value) => (value.startsWith(TOPIC_PREFIX) ? value.slice(TOPIC_PREFIX.length) : value))
  .pipe(z.string().regex(TOPIC_NAME, 'must be 1 to 900 characters of a-z, A-Z, 0-9 and -_.~%'));
