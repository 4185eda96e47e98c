import {
  classifyError,
  classifySendResponse,
  fcmErrorCode,
  namesToken,
  QUOTA_RETRY_AFTER_MS,
} from '../../src/delivery/fcm-outcome';
import { DEFAULT_RETRY_POLICY } from '../../src/delivery/backoff';

/** The shape firebase-admin's FirebaseError has: a prefixed code and Google's message. */
function sdkError(
  code: string,
  message = 'something went wrong',
): { code: string; message: string } {
  return { code, message };
}

describe('FCM outcome rules', () => {
  it('turns a success into sent with the message name', () => {
    expect(classifySendResponse({ success: true, messageId: 'projects/p/messages/1' })).toEqual({
      kind: 'sent',
      messageId: 'projects/p/messages/1',
    });
  });

  it.each([
    ['messaging/registration-token-not-registered', 'UNREGISTERED'],
    ['messaging/mismatched-credential', 'SENDER_ID_MISMATCH'],
    ['messaging/invalid-registration-token', 'INVALID_ARGUMENT'],
  ])('prunes the device on %s, reported as %s', (code, errorCode) => {
    expect(classifyError(sdkError(code))).toEqual({ kind: 'prune', errorCode });
  });

  it.each([
    'The registration token is not a valid FCM registration token',
    "Invalid value at 'message.token' (TYPE_STRING)",
  ])('prunes an INVALID_ARGUMENT whose message names the token: %s', (message) => {
    const error = sdkError('messaging/invalid-argument', message);

    expect(namesToken(error)).toBe(true);
    expect(classifyError(error)).toEqual({ kind: 'prune', errorCode: 'INVALID_ARGUMENT' });
  });

  it('fails an INVALID_ARGUMENT about the payload, keeping its message', () => {
    const error = sdkError('messaging/invalid-argument', 'Invalid data payload key: from');

    expect(classifyError(error)).toEqual({
      kind: 'fail',
      errorCode: 'INVALID_ARGUMENT',
      message: 'Invalid data payload key: from',
    });
  });

  it.each([
    'messaging/message-rate-exceeded',
    'messaging/device-message-rate-exceeded',
    'messaging/topics-message-rate-exceeded',
  ])('retries %s after at least a minute', (code) => {
    expect(classifyError(sdkError(code))).toEqual({ kind: 'retry', errorCode: 'QUOTA_EXCEEDED' });
    expect(DEFAULT_RETRY_POLICY.quotaDelayMs).toBe(QUOTA_RETRY_AFTER_MS);
    expect(QUOTA_RETRY_AFTER_MS).toBeGreaterThanOrEqual(60_000);
  });

  it.each([
    ['messaging/server-unavailable', 'UNAVAILABLE'],
    ['messaging/internal-error', 'INTERNAL'],
    ['app/network-error', 'NETWORK'],
    ['app/network-timeout', 'NETWORK'],
    ['messaging/app/network-error', 'NETWORK'],
  ])('retries %s, reported as %s', (code, errorCode) => {
    expect(classifyError(sdkError(code))).toEqual({ kind: 'retry', errorCode });
  });

  it.each([
    ['messaging/third-party-auth-error', 'THIRD_PARTY_AUTH_ERROR'],
    ['messaging/invalid-payload', 'INVALID_ARGUMENT'],
    ['messaging/payload-size-limit-exceeded', 'INVALID_ARGUMENT'],
    ['messaging/authentication-error', 'UNAUTHENTICATED'],
    ['messaging/something-new', 'UNSPECIFIED_ERROR'],
  ])('fails %s for good, reported as %s', (code, errorCode) => {
    expect(classifyError(sdkError(code, 'why'))).toEqual({
      kind: 'fail',
      errorCode,
      message: 'why',
    });
  });

  it('retries an unknown error that was a 5xx page rather than JSON', () => {
    const error = sdkError(
      'messaging/unknown-error',
      'An unknown server error was returned. Raw server response: "<html>". Status code: 502.',
    );

    expect(classifyError(error)).toEqual({ kind: 'retry', errorCode: 'UNSPECIFIED_ERROR' });
  });

  it('fails an unknown error that carries no transient status', () => {
    const error = sdkError(
      'messaging/unknown-error',
      'Raw server response: "?". Status code: 418.',
    );

    expect(classifyError(error)).toMatchObject({ kind: 'fail', errorCode: 'UNSPECIFIED_ERROR' });
  });

  it('retries a failure to fetch an access token, unless the grant was refused', () => {
    const unreachable = sdkError(
      'app/invalid-credential',
      'Error fetching access token: ENOTFOUND',
    );
    const refused = sdkError(
      'app/invalid-credential',
      'Error fetching access token: invalid_grant',
    );

    expect(classifyError(unreachable)).toEqual({ kind: 'retry', errorCode: 'UNAUTHENTICATED' });
    expect(classifyError(refused)).toMatchObject({ kind: 'fail', errorCode: 'UNAUTHENTICATED' });
  });

  it('fails something that is not an SDK error at all', () => {
    expect(classifyError('boom')).toEqual({
      kind: 'fail',
      errorCode: 'UNSPECIFIED_ERROR',
      message: 'boom',
    });
    expect(fcmErrorCode(undefined)).toBe('UNSPECIFIED_ERROR');
  });
});
