import direct, { NOTIFICATION_SEND } from '../../plugins/direct';
import { plan, problems } from './plugin-harness';

const TOKEN = 'dGhpcyBpcyBub3QgYSByZWFsIHRva2Vu:APA91b-example_token';

const event = (data: Record<string, unknown>) => ({
  title: 'Your order shipped',
  body: 'It should arrive on Tuesday',
  ...data,
});

const planDirect = (data: Record<string, unknown>) => plan(direct, NOTIFICATION_SEND, event(data));
const refuse = (data: Record<string, unknown>) => problems(direct, NOTIFICATION_SEND, data);

const message = {
  notification: { title: 'Your order shipped', body: 'It should arrive on Tuesday' },
};

describe('direct plugin', () => {
  it('handles notification.send only', () => {
    expect(direct.name).toBe('direct');
    expect(direct.eventTypes).toEqual(['notification.send']);
  });

  it('plans one dispatch for users and one for tokens, without repeats', () => {
    expect(
      planDirect({
        userIds: ['u1', 'u2', 'u1'],
        tokens: [TOKEN, 'other-token', TOKEN],
        data: { orderId: 'o-1' },
        imageUrl: 'https://shop.example/box.png',
      }),
    ).toEqual([
      {
        audience: { kind: 'users', userIds: ['u1', 'u2'] },
        message: {
          notification: { ...message.notification, imageUrl: 'https://shop.example/box.png' },
          data: { orderId: 'o-1' },
        },
      },
      {
        audience: { kind: 'tokens', tokens: [TOKEN, 'other-token'] },
        message: {
          notification: { ...message.notification, imageUrl: 'https://shop.example/box.png' },
          data: { orderId: 'o-1' },
        },
      },
    ]);
  });

  it('plans only the users dispatch when there are no tokens', () => {
    expect(planDirect({ userIds: [5, '6'], tokens: [] })).toEqual([
      { audience: { kind: 'users', userIds: ['5', '6'] }, message },
    ]);
  });

  it('plans only the tokens dispatch when there are no users', () => {
    expect(planDirect({ tokens: [TOKEN] })).toEqual([
      { audience: { kind: 'tokens', tokens: [TOKEN] }, message },
    ]);
  });

  it('needs at least one user or token', () => {
    const needs = [
      { path: 'data', message: 'needs a target: userIds, tokens or both, with at least one entry' },
    ];
    expect(refuse(event({}))).toEqual(needs);
    expect(refuse(event({ userIds: [], tokens: [] }))).toEqual(needs);
  });

  it.each([
    ['', 'an empty token'],
    ['has space', 'a space'],
    ['tab\there', 'a control character'],
    ['naïve', 'a non-ASCII character'],
    ['x'.repeat(4097), '4097 characters'],
  ])('refuses the token %j (%s)', (token) => {
    expect(refuse(event({ tokens: [TOKEN, token] }))).toEqual([
      {
        path: 'data.tokens[1]',
        message: 'must be 1 to 4096 printable ASCII characters without spaces',
      },
    ]);
  });

  it('accepts a token of 4096 printable characters', () => {
    expect(planDirect({ tokens: ['~'.repeat(4096)] })).toHaveLength(1);
  });

  it('refuses tokens given as numbers, unlike user ids', () => {
    expect(refuse(event({ userIds: [1], tokens: [2] }))).toEqual([
      { path: 'data.tokens[0]', message: 'must be a string' },
    ]);
  });

  it('refuses wrong types and unknown fields', () => {
    expect(refuse(event({ userIds: 'u1', tokens: {}, data: [], userId: 'u1' }))).toEqual([
      { path: 'data.userIds', message: 'must be an array' },
      { path: 'data.tokens', message: 'must be an array' },
      { path: 'data.data', message: 'must be an object' },
      { path: 'data.userId', message: 'is not a known field' },
    ]);
  });

  it('refuses reserved data keys and a non-https image', () => {
    expect(
      refuse(event({ userIds: ['u1'], data: { gcm: 'x' }, imageUrl: 'data:image/png;base64,AA' })),
    ).toEqual([
      {
        path: 'data.data.gcm',
        message: 'is reserved by FCM (keys starting with "google" or "gcm")',
      },
      { path: 'data.imageUrl', message: 'must be an https URL' },
    ]);
  });
});
