/**
 * What one FCM send came to, in the dispatcher's terms (API.md §7): sent, prune the device,
 * retry later, or fail for good.
 *
 * firebase-admin 13 hands back only a `code` such as `messaging/registration-token-not-registered`
 * and Google's error message: neither the HTTP response nor its `Retry-After` survive. FCM's own
 * v1 code is recovered from the SDK code (the SDK's mapping is one-to-one for v1 codes), and an
 * INVALID_ARGUMENT is told apart by its message, the only place the bad field still shows.
 * Without the header, how long to wait after UNAVAILABLE comes from what the SDK has already
 * waited (SDK_MAX_RETRY_DELAY_MS; the retry policy's unavailableDelayMs in backoff.ts).
 */
import type { SendResponse } from 'firebase-admin/messaging';

/** FCM v1 error codes, plus `NETWORK` for transport failures and a few the SDK can produce. */
export type FcmOutcomeCode =
  | 'UNREGISTERED'
  | 'SENDER_ID_MISMATCH'
  | 'INVALID_ARGUMENT'
  | 'QUOTA_EXCEEDED'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  | 'THIRD_PARTY_AUTH_ERROR'
  | 'UNSPECIFIED_ERROR'
  | 'UNAUTHENTICATED'
  | 'NETWORK';

export type SendOutcome =
  | { kind: 'sent'; messageId: string }
  | { kind: 'prune'; errorCode: FcmOutcomeCode }
  | {
      kind: 'retry';
      errorCode: FcmOutcomeCode;
      /**
       * The server's `Retry-After`, for a sender that can read it. The firebase-admin sender
       * never sets it (see above); a `MessageSender` given to `buildGateway` may.
       */
      retryAfterMs?: number;
    }
  | { kind: 'fail'; errorCode: FcmOutcomeCode; message: string };

export type FailedOutcome = Exclude<SendOutcome, { kind: 'sent' }>;

/** FCM asks for at least a minute before retrying after QUOTA_EXCEEDED. */
export const QUOTA_RETRY_AFTER_MS = 60_000;

/**
 * The longest `Retry-After` firebase-admin waits out by itself before retrying a 503
 * (`maxDelayInMillis` of its default retry config); a longer one makes it give up at once.
 */
export const SDK_MAX_RETRY_DELAY_MS = 60_000;

/** firebase-admin's error codes (without the `messaging/` prefix) → FCM v1's own code. */
const SDK_TO_FCM: Readonly<Record<string, FcmOutcomeCode>> = {
  'registration-token-not-registered': 'UNREGISTERED',
  'mismatched-credential': 'SENDER_ID_MISMATCH',
  'invalid-argument': 'INVALID_ARGUMENT',
  'invalid-registration-token': 'INVALID_ARGUMENT',
  'invalid-recipient': 'INVALID_ARGUMENT',
  'invalid-payload': 'INVALID_ARGUMENT',
  'invalid-data-payload-key': 'INVALID_ARGUMENT',
  'payload-size-limit-exceeded': 'INVALID_ARGUMENT',
  'invalid-options': 'INVALID_ARGUMENT',
  'invalid-package-name': 'INVALID_ARGUMENT',
  'message-rate-exceeded': 'QUOTA_EXCEEDED',
  'device-message-rate-exceeded': 'QUOTA_EXCEEDED',
  'topics-message-rate-exceeded': 'QUOTA_EXCEEDED',
  'server-unavailable': 'UNAVAILABLE',
  'internal-error': 'INTERNAL',
  'third-party-auth-error': 'THIRD_PARTY_AUTH_ERROR',
  'authentication-error': 'UNAUTHENTICATED',
  'unknown-error': 'UNSPECIFIED_ERROR',
  'network-error': 'NETWORK',
  'network-timeout': 'NETWORK',
  'invalid-credential': 'UNAUTHENTICATED',
};

/** SDK codes whose INVALID_ARGUMENT is about the token itself, whatever the message says. */
const TOKEN_SDK_CODES = new Set(['invalid-registration-token']);

/**
 * Google names the token in the message of a token INVALID_ARGUMENT ("The registration token is
 * not a valid FCM registration token", or `message.token` from a BadRequest field violation).
 */
const TOKEN_MESSAGE = /registration token|message\.token\b/i;

/** A status code that the SDK writes into the message of a non-JSON answer. */
const RAW_STATUS = /Status code: "?(\d{3})/;

interface ErrorLike {
  code?: unknown;
  message?: unknown;
}

function asErrorLike(error: unknown): ErrorLike {
  return typeof error === 'object' && error !== null ? (error as ErrorLike) : {};
}

/**
 * The SDK code without its service prefix. HTTP/2 session failures arrive as
 * `messaging/app/network-error`, so only the last segment counts.
 */
export function sdkCode(error: unknown): string {
  const code = asErrorLike(error).code;
  if (typeof code !== 'string') {
    return '';
  }
  const slash = code.lastIndexOf('/');
  return slash === -1 ? code : code.slice(slash + 1);
}

/** FCM v1's own code for an error firebase-admin returned or threw. */
export function fcmErrorCode(error: unknown): FcmOutcomeCode {
  return SDK_TO_FCM[sdkCode(error)] ?? 'UNSPECIFIED_ERROR';
}

/** Whether an INVALID_ARGUMENT is about the registration token rather than the payload. */
export function namesToken(error: unknown): boolean {
  const message = asErrorLike(error).message;
  if (TOKEN_SDK_CODES.has(sdkCode(error))) {
    return true;
  }
  return typeof message === 'string' && TOKEN_MESSAGE.test(message);
}

function errorMessage(error: unknown): string {
  const message = asErrorLike(error).message;
  return typeof message === 'string' && message !== '' ? message : String(error);
}

/** Classifies an error from firebase-admin (a send's `error`, or one the SDK threw). */
export function classifyError(error: unknown): FailedOutcome {
  const errorCode = fcmErrorCode(error);
  if (sdkCode(error) === 'invalid-credential') {
    return classifyCredentialError(error);
  }

  switch (errorCode) {
    case 'UNREGISTERED':
    case 'SENDER_ID_MISMATCH':
      return { kind: 'prune', errorCode };
    case 'INVALID_ARGUMENT':
      return namesToken(error)
        ? { kind: 'prune', errorCode }
        : { kind: 'fail', errorCode, message: errorMessage(error) };
    // How long to wait is the retry policy's, so it can be tuned: quotaDelayMs after
    // QUOTA_EXCEEDED (a minute), unavailableDelayMs after UNAVAILABLE (the SDK's own minute).
    case 'QUOTA_EXCEEDED':
    case 'UNAVAILABLE':
    case 'INTERNAL':
    case 'NETWORK':
      return { kind: 'retry', errorCode };
    case 'UNSPECIFIED_ERROR':
      return isTransientRawStatus(error)
        ? { kind: 'retry', errorCode }
        : { kind: 'fail', errorCode, message: errorMessage(error) };
    default:
      return { kind: 'fail', errorCode, message: errorMessage(error) };
  }
}

/**
 * The SDK reports every failure to fetch an OAuth token as `app/invalid-credential`, an
 * unreachable token endpoint included. Only a refused grant (revoked key, skewed clock) is sure
 * to fail again; anything else may pass on the next attempt.
 */
function classifyCredentialError(error: unknown): FailedOutcome {
  const message = errorMessage(error);
  return message.includes('invalid_grant')
    ? { kind: 'fail', errorCode: 'UNAUTHENTICATED', message }
    : { kind: 'retry', errorCode: 'UNAUTHENTICATED' };
}

/**
 * A non-JSON answer such as a load balancer's 502 page reaches us as `unknown-error` with the
 * status only in the message; a 5xx or 429 there is an outage, not a bad message.
 */
function isTransientRawStatus(error: unknown): boolean {
  const status = RAW_STATUS.exec(errorMessage(error))?.[1];
  return status !== undefined && (status === '429' || status.startsWith('5'));
}

/** Classifies one entry of a firebase-admin `BatchResponse`. */
export function classifySendResponse(response: SendResponse): SendOutcome {
  if (response.success) {
    return { kind: 'sent', messageId: response.messageId ?? '' };
  }
  return classifyError(response.error);
}
