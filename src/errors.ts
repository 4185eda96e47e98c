/**
 * The catalogue of coded errors. Handlers throw these; the error handler renders them in
 * API.md's shape. Anything thrown that is not a `HeraldError` becomes a 500 `internal_error`
 * whose details stay in the log.
 */

export interface ErrorDetail {
  path: string;
  message: string;
}

export class HeraldError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HeraldError';
  }

  toBody(): { error: { code: string; message: string; details?: ErrorDetail[] } } {
    const error = { code: this.code, message: this.message };
    return { error: this.details ? { ...error, details: this.details } : error };
  }
}

export const errors = {
  /** The parser's own message may quote the body (and a token in it): keep only where it broke. */
  invalidJson: (parserMessage: string) => {
    const position = /position (\d+)/.exec(parserMessage)?.[1];
    const where = position === undefined ? '' : ` (error at position ${position})`;
    return new HeraldError(400, 'invalid_json', `The body is not valid JSON${where}`);
  },
  /** Bytes that do not decode as their Content-Encoding says are no JSON either. */
  undecodableBody: () =>
    new HeraldError(
      400,
      'invalid_json',
      'The body could not be decoded with its Content-Encoding; send it again unencoded',
    ),
  incompleteBody: () => new HeraldError(400, 'bad_request', 'The request body was incomplete'),
  unauthorized: (why: string) => new HeraldError(401, 'unauthorized', why),
  invalidSignature: (why: string) => new HeraldError(401, 'invalid_signature', why),
  notFound: (what = 'No such resource') => new HeraldError(404, 'not_found', what),
  unknownSource: (source: string) =>
    new HeraldError(
      404,
      'unknown_source',
      `No webhook source named "${source.slice(0, 64)}" is configured (WEBHOOK_SECRETS)`,
    ),
  idempotencyConflict: () =>
    new HeraldError(
      409,
      'idempotency_conflict',
      'This webhook-id was already used with a different body; send a new webhook-id',
    ),
  payloadTooLarge: (limit: number) =>
    new HeraldError(413, 'payload_too_large', `The body is larger than ${limit} bytes`),
  unsupportedMediaType: () =>
    new HeraldError(415, 'unsupported_media_type', 'Send the body as application/json'),
  unsupportedContentEncoding: () =>
    new HeraldError(
      415,
      'unsupported_media_type',
      'Send the body unencoded or with Content-Encoding gzip, deflate or br',
    ),
  unknownEventType: (type: string, known: readonly string[]) =>
    new HeraldError(
      422,
      'unknown_event_type',
      `No plugin handles event type "${type.slice(0, 100)}"; known types: ${known.join(', ')}`,
    ),
  invalidEvent: (details: ErrorDetail[]) =>
    new HeraldError(422, 'invalid_event', 'The event does not match its schema', details),
  invalidDevice: (details: ErrorDetail[]) =>
    new HeraldError(422, 'invalid_device', 'The device registration is not valid', details),
  rateLimited: (retryAfterSeconds: number) =>
    new HeraldError(
      429,
      'rate_limited',
      `Too many requests; retry in ${retryAfterSeconds} s`,
      undefined,
      { 'Retry-After': String(retryAfterSeconds) },
    ),
  unavailable: (retryAfterSeconds = 5) =>
    new HeraldError(503, 'unavailable', 'The database is not answering; retry later', undefined, {
      'Retry-After': String(retryAfterSeconds),
    }),
  internal: () =>
    new HeraldError(500, 'internal_error', 'Something went wrong on our side; it was logged'),
};
