import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { Message } from 'firebase-admin/messaging';

import { createFcmSender, type FcmSender } from '../../src/delivery/fcm-sender';
import { startEmulator, type FcmEmulator, type FcmErrorCode } from '../../src/emulator';

describe('FCM sender against the emulator', () => {
  let emulator: FcmEmulator;
  let sender: FcmSender;

  beforeEach(async () => {
    emulator = await startEmulator();
    sender = createFcmSender({ emulatorHost: emulator.host, projectId: 'demo-test' });
  });

  afterEach(async () => {
    await sender.close();
    await emulator.close();
  });

  it('sends a message and returns the name FCM gave it', async () => {
    const message: Message = {
      token: 'device-token-1',
      notification: { title: 'Ada', body: 'Hello' },
      data: { type: 'chat', id: 'c1' },
      android: { priority: 'high', collapseKey: 'chat' },
    };
    const outcome = await sender.sendOne(message);
    const [received] = emulator.received;

    expect(outcome).toEqual({ kind: 'sent', messageId: received?.name });
    expect(received?.project).toBe('demo-test');
    expect(received?.message).toMatchObject({
      token: 'device-token-1',
      notification: { title: 'Ada', body: 'Hello' },
      data: { type: 'chat', id: 'c1' },
      android: { priority: 'high', collapse_key: 'chat' },
    });
  });

  it('uses the fixed credential: no OAuth call, bearer requests only', async () => {
    await sender.send([{ token: 'a' }, { topic: 'news' }]);

    // The emulator refuses requests without a bearer token, so both being accepted proves one.
    expect(emulator.stats()).toMatchObject({ accepted: 2, oauthTokenRequests: 0 });
  });

  it('sends topic and condition messages', async () => {
    const outcomes = await sender.send([
      { topic: 'news', notification: { title: 't' } },
      { condition: "'a' in topics && !('b' in topics)", data: { k: 'v' } },
    ]);

    expect(outcomes.map((o) => o.kind)).toEqual(['sent', 'sent']);
    expect(emulator.received.map((m) => m.topic ?? m.condition)).toEqual([
      'news',
      "'a' in topics && !('b' in topics)",
    ]);
  });

  describe('FCM errors', () => {
    it.each<[FcmErrorCode, string, object]>([
      [
        'UNREGISTERED',
        'messaging/registration-token-not-registered',
        { kind: 'prune', errorCode: 'UNREGISTERED' },
      ],
      [
        'SENDER_ID_MISMATCH',
        'messaging/mismatched-credential',
        { kind: 'prune', errorCode: 'SENDER_ID_MISMATCH' },
      ],
      [
        'INVALID_ARGUMENT',
        'messaging/invalid-argument',
        { kind: 'prune', errorCode: 'INVALID_ARGUMENT' },
      ],
      [
        'QUOTA_EXCEEDED',
        'messaging/message-rate-exceeded',
        { kind: 'retry', errorCode: 'QUOTA_EXCEEDED' },
      ],
      ['INTERNAL', 'messaging/internal-error', { kind: 'retry', errorCode: 'INTERNAL' }],
      [
        'THIRD_PARTY_AUTH_ERROR',
        'messaging/third-party-auth-error',
        expect.objectContaining({ kind: 'fail', errorCode: 'THIRD_PARTY_AUTH_ERROR' }),
      ],
    ])('turns %s into the SDK code %s and the right outcome', async (code, sdkCode, outcome) => {
      emulator.failToken('tok', code);
      const batch = await sender.messaging.sendEach([{ token: 'tok' }]);
      const [classified] = await sender.send([{ token: 'tok' }]);

      expect(batch.responses[0]?.error?.code).toBe(sdkCode);
      expect(classified).toEqual(outcome);
    });

    it('turns UNAVAILABLE that outlasts the SDK into a retry', async () => {
      // A Retry-After beyond the SDK's 60 s ceiling makes it give up at once instead of waiting.
      emulator.failToken('tok', 'UNAVAILABLE', { retryAfterSeconds: 120 });
      const batch = await sender.messaging.sendEach([{ token: 'tok' }]);
      const [classified] = await sender.send([{ token: 'tok' }]);

      expect(batch.responses[0]?.error?.code).toBe('messaging/server-unavailable');
      expect(classified).toEqual({ kind: 'retry', errorCode: 'UNAVAILABLE' });
    });

    it('lets the SDK retry a short 503 by itself', async () => {
      emulator.failToken('tok', 'UNAVAILABLE', { times: 2 });
      const [outcome] = await sender.send([{ token: 'tok' }]);

      expect(outcome?.kind).toBe('sent');
      expect(emulator.stats()).toMatchObject({ requests: 3, accepted: 1 });
    });

    it('prunes a token FCM calls malformed but fails a bad payload', async () => {
      const outcomes = await sender.send([
        { token: 'has a space' },
        { token: 'ok-1', data: { from: 'reserved' } },
        { token: 'ok-2', data: { big: 'x'.repeat(5000) } },
      ]);

      expect(outcomes[0]).toEqual({ kind: 'prune', errorCode: 'INVALID_ARGUMENT' });
      expect(outcomes[1]).toEqual({
        kind: 'fail',
        errorCode: 'INVALID_ARGUMENT',
        message: 'Invalid data payload key: from',
      });
      expect(outcomes[2]).toMatchObject({ kind: 'fail', errorCode: 'INVALID_ARGUMENT' });
    });

    it('fails a message the SDK itself refuses, without a request', async () => {
      const bad = { token: 't', data: { n: 1 } } as unknown as Message;
      const [outcome] = await sender.send([bad]);

      expect(outcome).toMatchObject({ kind: 'fail', errorCode: 'INVALID_ARGUMENT' });
      expect(emulator.stats().requests).toBe(0);
    });
  });

  it('keeps one outcome per message, in order, across a mixed batch', async () => {
    emulator.failToken('dead', 'UNREGISTERED');
    emulator.failToken('busy', 'QUOTA_EXCEEDED');
    const outcomes = await sender.send([{ token: 'a' }, { token: 'dead' }, { token: 'busy' }]);

    expect(outcomes.map((o) => o.kind)).toEqual(['sent', 'prune', 'retry']);
  });

  it('splits 1,200 messages into sendEach batches of at most 500', async () => {
    const sendEach = jest.spyOn(sender.messaging, 'sendEach');
    const messages: Message[] = Array.from({ length: 1200 }, (_, i) => ({ token: `token-${i}` }));
    const outcomes = await sender.send(messages);

    expect(emulator.stats()).toMatchObject({ requests: 1200, accepted: 1200 });
    expect(sendEach.mock.calls.map(([batch]) => batch.length)).toEqual([500, 500, 200]);
    const tokenByName = new Map(emulator.received.map((m) => [m.name, m.token]));
    const tokens = outcomes.map((o) => (o.kind === 'sent' ? tokenByName.get(o.messageId) : o.kind));
    expect(tokens).toEqual(messages.map((m) => ('token' in m ? m.token : '')));
  });

  it('reports a network error as a retry when the emulator is gone', async () => {
    await sender.send([{ token: 'warm-up' }]);
    await emulator.close();
    const [outcome] = await sender.send([{ token: 'a' }]);

    expect(outcome).toEqual({ kind: 'retry', errorCode: 'NETWORK' });
    emulator = await startEmulator();
  });

  it('manages topic subscriptions through the emulator', async () => {
    emulator.failToken('dead', 'UNREGISTERED');
    const added = await sender.subscribeToTopic(['a', 'dead', 'b'], 'news');
    const removed = await sender.unsubscribeFromTopic(['a'], '/topics/news');

    expect(added.successCount).toBe(2);
    expect(added.errors).toEqual([
      expect.objectContaining({
        index: 1,
        error: expect.objectContaining({ code: 'messaging/registration-token-not-registered' }),
      }),
    ]);
    expect(removed.successCount).toBe(1);
    expect(emulator.subscriptions()).toEqual({ news: ['b'] });
    expect(emulator.stats().oauthTokenRequests).toBe(0);
  });

  it('lets several senders live in one process and closes each once', async () => {
    const other = createFcmSender({ emulatorHost: emulator.host });
    try {
      expect(other.appName).not.toBe(sender.appName);
      expect((await other.sendOne({ token: 'x' })).kind).toBe('sent');
      expect(emulator.received[0]?.project).toBe('demo-herald');
    } finally {
      await other.close();
      await other.close();
    }
  });

  it('refuses an emulator host that is not host:port', () => {
    expect(() => createFcmSender({ emulatorHost: 'localhost' })).toThrow(/host:port/);
  });
});

describe('FCM sender for Google', () => {
  it('builds on a service-account file without dialling anything', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'herald-fcm-'));
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const file = path.join(dir, 'service-account.json');
    writeFileSync(
      file,
      JSON.stringify({
        type: 'service_account',
        project_id: 'herald-prod',
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
        client_email: 'sender@herald-prod.iam.gserviceaccount.com',
      }),
    );

    const sender = createFcmSender({ credentialsFile: file });
    try {
      expect(sender.usesEmulator).toBe(false);
      expect(sender.messaging.app.options.httpAgent).toBeUndefined();
    } finally {
      await sender.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
