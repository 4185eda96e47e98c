/**
 * The checks FCM makes on a `messages:send` request before it accepts a message, in the order
 * Google appears to make them: the request's shape first, then the target, then the payload.
 */
import { invalidArgument, invalidToken, parseError, type FcmFailure } from './fcm-errors';

/** FCM's limit on the payload (keys and values of `data` plus the notification's text). */
export const MAX_PAYLOAD_BYTES = 4096;

const TOPIC_PATTERN = /^(\/topics\/)?[a-zA-Z0-9\-_.~%]+$/;
const RESERVED_DATA_KEYS = new Set(['from', 'notification', 'message_type']);
const RESERVED_DATA_PREFIXES = ['google.', 'gcm.'];
const MAX_CONDITION_TOPICS = 5;

export type MessageTarget =
  | { kind: 'token'; token: string }
  | { kind: 'topic'; topic: string }
  | { kind: 'condition'; condition: string };

export interface SendRequest {
  message: Record<string, unknown>;
  target: MessageTarget;
  validateOnly: boolean;
}

export type Validation = { ok: true; request: SendRequest } | { ok: false; failure: FcmFailure };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function refuse(failure: FcmFailure): Validation {
  return { ok: false, failure };
}

/** Checks a parsed request body; `body` is whatever JSON.parse gave. */
export function validateSendRequest(body: unknown): Validation {
  if (!isObject(body) || !isObject(body.message)) {
    return refuse(invalidArgument('Recipient of the message is not set.', 'message'));
  }

  const message = body.message;
  const validateOnly = body.validate_only === true || body.validateOnly === true;
  const targetKeys = (['token', 'topic', 'condition'] as const).filter(
    (key) => message[key] !== undefined,
  );
  if (targetKeys.length > 1) {
    return refuse(
      parseError(
        `Invalid value at 'message' (oneof), oneof field 'target' is already set. ` +
          `Cannot set '${targetKeys[1]}'`,
        'message',
      ),
    );
  }

  const dataFailure = checkDataTypes(message.data);
  if (dataFailure) {
    return refuse(dataFailure);
  }

  const target = readTarget(message, targetKeys[0]);
  if ('httpStatus' in target) {
    return refuse(target);
  }

  const payloadFailure = checkPayload(message);
  if (payloadFailure) {
    return refuse(payloadFailure);
  }

  return { ok: true, request: { message, target, validateOnly } };
}

function checkDataTypes(data: unknown): FcmFailure | undefined {
  if (data === undefined) {
    return undefined;
  }
  if (!isObject(data)) {
    return parseError(`Invalid value at 'message.data' (type.googleapis.com/map), ${String(data)}`);
  }

  let index = 0;
  for (const key in data) {
    const value = data[key];
    if (typeof value !== 'string') {
      const field = `message.data[${index}].value`;
      return parseError(
        `Invalid value at '${field}' (TYPE_STRING), ${JSON.stringify(value)}`,
        field,
      );
    }
    index += 1;
  }
  return undefined;
}

function readTarget(
  message: Record<string, unknown>,
  key: 'token' | 'topic' | 'condition' | undefined,
): MessageTarget | FcmFailure {
  const value = key === undefined ? undefined : message[key];
  if (key === undefined || typeof value !== 'string') {
    return invalidArgument('Recipient of the message is not set.', 'message');
  }

  if (key === 'token') {
    // An empty or blank token can never have come from a device.
    return value.trim() === '' || /\s/.test(value)
      ? invalidToken()
      : { kind: 'token', token: value };
  }
  if (key === 'topic') {
    return TOPIC_PATTERN.test(value)
      ? { kind: 'topic', topic: value.replace(/^\/topics\//, '') }
      : invalidArgument(`Invalid topic name: ${value}`, 'message.topic');
  }

  const clauses = value.match(/in\s+topics/g)?.length ?? 0;
  if (value.trim() === '' || clauses === 0 || clauses > MAX_CONDITION_TOPICS) {
    return invalidArgument('Invalid condition expression provided.', 'message.condition');
  }
  return { kind: 'condition', condition: value };
}

function checkPayload(message: Record<string, unknown>): FcmFailure | undefined {
  let size = 0;
  const data = message.data;
  if (isObject(data)) {
    for (const key in data) {
      if (RESERVED_DATA_KEYS.has(key) || RESERVED_DATA_PREFIXES.some((p) => key.startsWith(p))) {
        return invalidArgument(`Invalid data payload key: ${key}`, 'message.data');
      }
      size += Buffer.byteLength(key) + Buffer.byteLength(String(data[key]));
    }
  }

  const notification = message.notification;
  if (isObject(notification)) {
    for (const key in notification) {
      const value = notification[key];
      if (typeof value === 'string') {
        size += Buffer.byteLength(key) + Buffer.byteLength(value);
      }
    }
  }

  if (size > MAX_PAYLOAD_BYTES) {
    return invalidArgument(
      `Message is too big: ${size} bytes of payload, the limit is ${MAX_PAYLOAD_BYTES}`,
      'message',
    );
  }
  return undefined;
}
