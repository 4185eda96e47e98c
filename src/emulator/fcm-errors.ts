/**
 * Error answers in the shape Google's FCM HTTP v1 API gives them: a google.rpc.Status with an
 * `FcmError` detail carrying FCM's own code, and for bad fields a `google.rpc.BadRequest`.
 *
 * Messages and statuses follow what FCM is seen to return in the wild. Errors found while the
 * request is still being parsed (a number where a string belongs, two targets at once) carry
 * only the BadRequest detail, as Google's do; clients then fall back to the top-level status.
 */

export const FCM_ERROR_CODES = [
  'UNSPECIFIED_ERROR',
  'INVALID_ARGUMENT',
  'UNREGISTERED',
  'SENDER_ID_MISMATCH',
  'QUOTA_EXCEEDED',
  'UNAVAILABLE',
  'INTERNAL',
  'THIRD_PARTY_AUTH_ERROR',
] as const;

export type FcmErrorCode = (typeof FCM_ERROR_CODES)[number];

export interface FieldViolation {
  field?: string;
  description: string;
}

export type GoogleErrorDetail =
  | { '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError'; errorCode: FcmErrorCode }
  | { '@type': 'type.googleapis.com/google.rpc.BadRequest'; fieldViolations: FieldViolation[] };

export interface GoogleErrorBody {
  error: { code: number; message: string; status: string; details?: GoogleErrorDetail[] };
}

/** A refusal ready to be written: HTTP status, the code it is counted under, and the body. */
export interface FcmFailure {
  httpStatus: number;
  /** FCM's code, or the canonical status when Google's answer carries no FcmError detail. */
  countedAs: string;
  body: GoogleErrorBody;
}

interface CodeShape {
  httpStatus: number;
  status: string;
  message: string;
}

const SHAPES: Record<FcmErrorCode, CodeShape> = {
  UNSPECIFIED_ERROR: { httpStatus: 500, status: 'UNKNOWN', message: 'Unknown error.' },
  INVALID_ARGUMENT: {
    httpStatus: 400,
    status: 'INVALID_ARGUMENT',
    message: 'Request contains an invalid argument.',
  },
  UNREGISTERED: {
    httpStatus: 404,
    status: 'NOT_FOUND',
    message: 'Requested entity was not found.',
  },
  SENDER_ID_MISMATCH: {
    httpStatus: 403,
    status: 'PERMISSION_DENIED',
    message: 'SenderId mismatch',
  },
  QUOTA_EXCEEDED: {
    httpStatus: 429,
    status: 'RESOURCE_EXHAUSTED',
    message: 'Quota exceeded for the message target.',
  },
  UNAVAILABLE: {
    httpStatus: 503,
    status: 'UNAVAILABLE',
    message: 'The service is currently unavailable.',
  },
  INTERNAL: { httpStatus: 500, status: 'INTERNAL', message: 'Internal error encountered.' },
  THIRD_PARTY_AUTH_ERROR: {
    httpStatus: 401,
    status: 'UNAUTHENTICATED',
    message: 'Auth error from APNS or Web Push Service',
  },
};

const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';

export const INVALID_TOKEN_MESSAGE = 'The registration token is not a valid FCM registration token';

export function isFcmErrorCode(value: unknown): value is FcmErrorCode {
  return typeof value === 'string' && (FCM_ERROR_CODES as readonly string[]).includes(value);
}

/**
 * FCM's answer for a code, as a fault would produce it. `INVALID_ARGUMENT` here means a bad
 * registration token, the one INVALID_ARGUMENT a fault on a token stands for.
 */
export function fcmFailure(code: FcmErrorCode): FcmFailure {
  if (code === 'INVALID_ARGUMENT') {
    return invalidToken();
  }

  const shape = SHAPES[code];
  return {
    httpStatus: shape.httpStatus,
    countedAs: code,
    body: {
      error: {
        code: shape.httpStatus,
        message: shape.message,
        status: shape.status,
        details: [{ '@type': FCM_ERROR_TYPE, errorCode: code }],
      },
    },
  };
}

export function invalidToken(): FcmFailure {
  return invalidArgument(INVALID_TOKEN_MESSAGE, 'message.token');
}

/** A semantic INVALID_ARGUMENT: FcmError detail plus the field that was wrong. */
export function invalidArgument(message: string, field: string): FcmFailure {
  return {
    httpStatus: 400,
    countedAs: 'INVALID_ARGUMENT',
    body: {
      error: {
        code: 400,
        message,
        status: 'INVALID_ARGUMENT',
        details: [
          { '@type': FCM_ERROR_TYPE, errorCode: 'INVALID_ARGUMENT' },
          { '@type': BAD_REQUEST_TYPE, fieldViolations: [{ field, description: message }] },
        ],
      },
    },
  };
}

/** An INVALID_ARGUMENT raised while parsing the request: BadRequest only, no FcmError. */
export function parseError(message: string, field?: string): FcmFailure {
  const violation: FieldViolation = field
    ? { field, description: message }
    : { description: message };
  return {
    httpStatus: 400,
    countedAs: 'INVALID_ARGUMENT',
    body: {
      error: {
        code: 400,
        message,
        status: 'INVALID_ARGUMENT',
        details: [{ '@type': BAD_REQUEST_TYPE, fieldViolations: [violation] }],
      },
    },
  };
}

/** Google's answer to a request without an OAuth bearer token (no FcmError detail). */
export function unauthenticated(): FcmFailure {
  const message =
    'Request is missing required authentication credential. Expected OAuth 2 access token, ' +
    'login cookie or other valid authentication credential.';
  return {
    httpStatus: 401,
    countedAs: 'UNAUTHENTICATED',
    body: { error: { code: 401, message, status: 'UNAUTHENTICATED' } },
  };
}

export function notFound(path: string): FcmFailure {
  return {
    httpStatus: 404,
    countedAs: 'NOT_FOUND',
    body: { error: { code: 404, message: `Method not found: ${path}`, status: 'NOT_FOUND' } },
  };
}
