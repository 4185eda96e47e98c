import type { ErrorRequestHandler, RequestHandler } from 'express';
import { isDatabaseUnavailable } from '../db/errors';
import { errors, HeraldError } from '../errors';

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
  message?: string;
  /** http-errors' mark of a client error whose message may be shown. */
  expose?: boolean;
}

/** Why body-parser could not turn the bytes received into the body that was sent. */
export type DecodeFailure = 'unsupported_encoding' | 'undecodable';

/**
 * A body-parser error about the body's Content-Encoding: an encoding it does not know, or bytes
 * its decoder refused (zlib's errors have no `type`; body-parser hands them on as an exposed 400).
 */
export function decodeFailure(err: unknown): DecodeFailure | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { type, status, expose } = err as BodyParserError;
  if (type === 'encoding.unsupported') return 'unsupported_encoding';
  return type === undefined && expose === true && status === 400 ? 'undecodable' : undefined;
}

/** Body-parser's own failures, in the terms of API.md §3. */
function fromBodyParser(err: BodyParserError): HeraldError | undefined {
  switch (decodeFailure(err)) {
    case 'unsupported_encoding':
      return errors.unsupportedContentEncoding();
    case 'undecodable':
      return errors.undecodableBody();
  }
  switch (err.type) {
    case 'entity.parse.failed':
      return errors.invalidJson(err.message ?? 'parse error');
    case 'entity.too.large':
      return errors.payloadTooLarge(err.limit ?? 0);
    case 'charset.unsupported':
      return errors.unsupportedMediaType();
    case 'request.aborted':
    case 'request.size.invalid':
      return errors.incompleteBody();
    default:
      return undefined;
  }
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(errors.notFound(`No route for ${req.method} ${req.path.slice(0, 200)}`));
};

/**
 * The last middleware: renders every error as API.md's JSON shape. 5xx are logged as errors
 * with their stack, 4xx at info; neither ever carries a stack or a secret to the client.
 */
export const errorHandler: ErrorRequestHandler = (err: unknown, req, res, _next) => {
  const known = err instanceof HeraldError ? err : fromBodyParser((err ?? {}) as BodyParserError);
  const error = known ?? (isDatabaseUnavailable(err) ? errors.unavailable() : errors.internal());

  if (error.status >= 500) {
    req.log.error({ err, code: error.code }, 'request failed');
  } else {
    req.log.info({ code: error.code, status: error.status }, 'request refused');
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(error.status).set(error.headers).json(error.toBody());
};
