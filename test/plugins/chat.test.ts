import chat, { CHAT_MESSAGE_CREATED } from '../../plugins/chat';
import { FCM_PAYLOAD_LIMIT_BYTES, payloadBytes } from '../../src/plugins/kit';
import { dataKeyPath, plan, problems, REFUSED_DATA_KEYS } from './plugin-harness';

const event = (data: Record<string, unknown>) => ({
  recipientUserIds: ['u1', 'u2'],
  senderName: 'Ada',
  messagePreview: 'Are we still on for tonight?',
  conversationId: 'c-9',
  ...data,
});

const planChat = (data: Record<string, unknown>) => plan(chat, CHAT_MESSAGE_CREATED, event(data));
const refuse = (data: Record<string, unknown>) => problems(chat, CHAT_MESSAGE_CREATED, data);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function graphemes(text: string): string[] {
  return [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)].map(
    (part) => part.segment,
  );
}

describe('chat plugin', () => {
  it('handles chat.message.created only', () => {
    expect(chat.name).toBe('chat');
    expect(chat.eventTypes).toEqual(['chat.message.created']);
  });

  it('plans one high-priority message to the recipients, titled by the sender', () => {
    expect(planChat({ imageUrl: 'https://cdn.example.com/a.png' })).toEqual([
      {
        audience: { kind: 'users', userIds: ['u1', 'u2'] },
        message: {
          notification: {
            title: 'Ada',
            body: 'Are we still on for tonight?',
            imageUrl: 'https://cdn.example.com/a.png',
          },
          data: { type: 'chat', id: 'c-9' },
          android: { priority: 'high', notification: { tag: 'c-9' } },
          apns: {
            headers: { 'apns-priority': '10' },
            payload: { aps: { threadId: 'c-9' } },
          },
        },
      },
    ]);
  });

  it('leaves the image out when there is none', () => {
    const [dispatch] = planChat({});
    expect(dispatch.message.notification).toEqual({
      title: 'Ada',
      body: 'Are we still on for tonight?',
    });
  });

  it('merges recipientUserId and recipientUserIds without repeats', () => {
    const [dispatch] = planChat({ recipientUserId: 'u2', recipientUserIds: ['u1', 'u2', 'u1'] });
    expect(dispatch.audience).toEqual({ kind: 'users', userIds: ['u2', 'u1'] });
  });

  it('accepts recipientUserId alone', () => {
    const [dispatch] = plan(chat, CHAT_MESSAGE_CREATED, {
      recipientUserId: 'u7',
      senderName: 'Ada',
      messagePreview: 'hi',
      conversationId: 'c',
    });
    expect(dispatch.audience).toEqual({ kind: 'users', userIds: ['u7'] });
  });

  it("skips the sender's own devices", () => {
    const [dispatch] = planChat({ recipientUserIds: ['u1', 'ada', 'u2'], senderUserId: 'ada' });
    expect(dispatch.audience).toEqual({ kind: 'users', userIds: ['u1', 'u2'] });
  });

  it('plans nothing when the sender is the only recipient', () => {
    expect(
      planChat({ recipientUserId: 'ada', recipientUserIds: ['ada'], senderUserId: 'ada' }),
    ).toEqual([]);
  });

  it('turns numeric identifiers into strings', () => {
    const [dispatch] = planChat({
      recipientUserIds: [42, 43],
      senderUserId: 43,
      conversationId: 7,
    });
    expect(dispatch.audience).toEqual({ kind: 'users', userIds: ['42'] });
    expect(dispatch.message.data).toEqual({ type: 'chat', id: '7' });
  });

  it('refuses numbers too large to be exact identifiers', () => {
    expect(refuse(event({ conversationId: 2 ** 53 + 2 }))).toEqual([
      { path: 'data.conversationId', message: 'must be a string or a whole number below 2^53' },
    ]);
    expect(refuse(event({ recipientUserIds: [1.5] }))).toEqual([
      {
        path: 'data.recipientUserIds[0]',
        message: 'must be a string or a whole number below 2^53',
      },
    ]);
  });

  it('names every missing field', () => {
    expect(refuse({})).toEqual([
      { path: 'data.senderName', message: 'is required' },
      { path: 'data.messagePreview', message: 'is required' },
      { path: 'data.conversationId', message: 'is required' },
    ]);
  });

  it('needs at least one recipient field', () => {
    const { recipientUserIds, ...rest } = event({});
    expect(recipientUserIds).toBeDefined();
    expect(refuse(rest)).toEqual([
      { path: 'data', message: 'needs recipientUserId or recipientUserIds' },
    ]);
  });

  it('refuses wrong types with the path of each', () => {
    expect(
      refuse(
        event({
          recipientUserIds: ['u1', true, null],
          senderName: 5,
          messagePreview: ['hi'],
          senderUserId: {},
        }),
      ),
    ).toEqual([
      { path: 'data.recipientUserIds[1]', message: 'must be a string' },
      { path: 'data.recipientUserIds[2]', message: 'must be a string' },
      { path: 'data.senderUserId', message: 'must be a string' },
      { path: 'data.senderName', message: 'must be a string' },
      { path: 'data.messagePreview', message: 'must be a string' },
    ]);
    expect(refuse(event({ recipientUserIds: 'u1' }))).toEqual([
      { path: 'data.recipientUserIds', message: 'must be an array' },
    ]);
  });

  it('refuses empty and blank values', () => {
    expect(
      refuse(
        event({ recipientUserIds: [], senderName: ' ', messagePreview: '\n', conversationId: '' }),
      ),
    ).toEqual([
      { path: 'data.recipientUserIds', message: 'must not be empty' },
      { path: 'data.senderName', message: 'must not be empty' },
      { path: 'data.messagePreview', message: 'must not be empty' },
      { path: 'data.conversationId', message: 'must not be empty' },
    ]);
  });

  it('refuses a sender name over 256 characters and a list over 10,000 recipients', () => {
    const many = Array.from({ length: 10_001 }, (_, index) => `u${index}`);
    expect(refuse(event({ senderName: 'x'.repeat(257), recipientUserIds: many }))).toEqual([
      { path: 'data.recipientUserIds', message: 'must have at most 10000 entries' },
      { path: 'data.senderName', message: 'must be at most 256 characters' },
    ]);
  });

  it('refuses unknown fields rather than dropping them', () => {
    expect(refuse(event({ recipientUserID: 'u1', extra: 1 }))).toEqual([
      { path: 'data.recipientUserID', message: 'is not a known field' },
      { path: 'data.extra', message: 'is not a known field' },
    ]);
  });

  it.each(['http://cdn.example.com/a.png', 'https://', 'ftp://x/y', 'not a url', 'https://a b/c'])(
    'refuses the image URL %s',
    (imageUrl) => {
      expect(refuse(event({ imageUrl }))).toEqual([
        { path: 'data.imageUrl', message: 'must be an https URL' },
      ]);
    },
  );

  it("adds the caller's data to the message next to chat's own type and id", () => {
    const [dispatch] = planChat({ data: { messageId: 'm-17', kind: 'text' } });
    expect(dispatch.message.data).toEqual({
      messageId: 'm-17',
      kind: 'text',
      type: 'chat',
      id: 'c-9',
    });
  });

  it('sends only type and id when the caller gives an empty data map', () => {
    const [dispatch] = planChat({ data: {} });
    expect(dispatch.message.data).toEqual({ type: 'chat', id: 'c-9' });
  });

  it("refuses type and id in the caller's data, since chat sets them", () => {
    expect(refuse(event({ data: { type: 'dm', id: 'x', messageId: 'm-17' } }))).toEqual([
      { path: 'data.data.type', message: 'is set by the chat plugin' },
      { path: 'data.data.id', message: 'is set by the chat plugin' },
    ]);
  });

  it.each(REFUSED_DATA_KEYS)('refuses the data key %j', (key, message) => {
    expect(refuse(event({ data: { [key]: 'v' } }))).toEqual([{ path: dataKeyPath(key), message }]);
  });

  it('refuses data that is not a map of strings', () => {
    expect(refuse(event({ data: 'x' }))).toEqual([
      { path: 'data.data', message: 'must be an object' },
    ]);
    expect(refuse(event({ data: { count: 3 } }))).toEqual([
      { path: 'data.data.count', message: 'must be a string (FCM data values are strings)' },
    ]);
  });

  it.each([
    ['alone passes 4096 bytes', 5000],
    ['leaves the preview no room', 3950],
  ])('refuses data that %s at the webhook, not at FCM', (_, length) => {
    expect(refuse(event({ data: { blob: 'x'.repeat(length) } }))).toEqual([
      {
        path: 'data',
        message:
          'senderName, conversationId, imageUrl and data together leave no room for the ' +
          `preview within FCM's ${FCM_PAYLOAD_LIMIT_BYTES}-byte limit`,
      },
    ]);
  });

  it('shortens the preview to fit beside large data, keeping the data whole', () => {
    const blob = '語'.repeat(1000);
    const [dispatch] = planChat({ data: { blob }, messagePreview: 'word '.repeat(2000) });
    const bytes = payloadBytes(dispatch.message);
    const body = dispatch.message.notification?.body ?? '';

    expect(dispatch.message.data).toEqual({ blob, type: 'chat', id: 'c-9' });
    expect(body).toMatch(/^(?:word )*word…$/);
    expect(body.length).toBeLessThan(1000);
    expect(bytes).toBeLessThanOrEqual(FCM_PAYLOAD_LIMIT_BYTES);
    expect(bytes).toBeGreaterThan(FCM_PAYLOAD_LIMIT_BYTES - 10);
  });

  it('keeps a preview that fits as it is', () => {
    const preview = 'x'.repeat(3000);
    const [dispatch] = planChat({ messagePreview: preview });
    expect(dispatch.message.notification?.body).toBe(preview);
  });

  it('shortens a long preview with an ellipsis to fill but never pass 4096 bytes', () => {
    const [dispatch] = planChat({ messagePreview: 'word '.repeat(2000) });
    const bytes = payloadBytes(dispatch.message);
    const body = dispatch.message.notification?.body ?? '';

    expect(body.endsWith('word…')).toBe(true);
    expect(bytes).toBeLessThanOrEqual(FCM_PAYLOAD_LIMIT_BYTES);
    expect(bytes).toBeGreaterThan(FCM_PAYLOAD_LIMIT_BYTES - 10);
  });

  it.each([
    ['three-byte characters', '日本語のメッセージ'],
    ['emoji with skin tones', '👍🏽'],
    ['family emoji joined by ZWJ', '👨‍👩‍👧‍👦'],
    ['flags', '🇫🇷🇯🇵'],
    ['combining accents', 'e\u0301a\u0300'],
    ['JSON escapes', '"\\\n\t\u0001'],
  ])('shortens %s on a character boundary within 4096 bytes', (_, unit) => {
    const preview = unit.repeat(3000);
    const [dispatch] = planChat({ messagePreview: preview, imageUrl: 'https://cdn.example.com/i' });
    const body = dispatch.message.notification?.body ?? '';
    const kept = body.slice(0, -1);

    expect(payloadBytes(dispatch.message)).toBeLessThanOrEqual(FCM_PAYLOAD_LIMIT_BYTES);
    expect(body.endsWith('…')).toBe(true);
    expect(kept.length).toBeGreaterThan(0);
    expect(preview.startsWith(kept)).toBe(true);
    expect(LONE_SURROGATE.test(body)).toBe(false);
    expect(graphemes(kept).every((part) => graphemes(unit).includes(part))).toBe(true);
  });

  it('stays within 4096 bytes with the longest fields the schema allows', () => {
    const [dispatch] = planChat({
      senderName: '"'.repeat(256),
      conversationId: '語'.repeat(256),
      messagePreview: '😀'.repeat(5000),
    });
    expect(payloadBytes(dispatch.message)).toBeLessThanOrEqual(FCM_PAYLOAD_LIMIT_BYTES);
    expect(dispatch.message.notification?.body).toMatch(/^(?:😀)+…$/u);
  });

  it('refuses fields that leave the preview no room', () => {
    const details = refuse(
      event({
        senderName: '\u0001'.repeat(256),
        conversationId: '語'.repeat(256),
        imageUrl: `https://cdn.example.com/${'a'.repeat(2000)}`,
      }),
    );
    expect(details).toEqual([{ path: 'data', message: expect.stringContaining('no room') }]);
  });
});
