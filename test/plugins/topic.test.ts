import topic, { TOPIC_BROADCAST } from '../../plugins/topic';
import { FCM_PAYLOAD_LIMIT_BYTES } from '../../src/plugins/kit';
import { dataKeyPath, plan, problems, REFUSED_DATA_KEYS } from './plugin-harness';

const event = (data: Record<string, unknown>) => ({
  topic: 'weather-alerts',
  title: 'Storm warning',
  body: 'High winds expected after 18:00',
  ...data,
});

const planTopic = (data: Record<string, unknown>) => plan(topic, TOPIC_BROADCAST, event(data));
const refuse = (data: Record<string, unknown>) => problems(topic, TOPIC_BROADCAST, data);

describe('topic plugin', () => {
  it('handles topic.broadcast only', () => {
    expect(topic.name).toBe('topic');
    expect(topic.eventTypes).toEqual(['topic.broadcast']);
  });

  it('plans one message to the topic with every field', () => {
    expect(
      planTopic({ data: { region: 'north', level: '3' }, imageUrl: 'https://x.example/s.png' }),
    ).toEqual([
      {
        audience: { kind: 'topic', topic: 'weather-alerts' },
        message: {
          notification: {
            title: 'Storm warning',
            body: 'High winds expected after 18:00',
            imageUrl: 'https://x.example/s.png',
          },
          data: { region: 'north', level: '3' },
        },
      },
    ]);
  });

  it('sends only the notification when there is no data and no image', () => {
    const [dispatch] = planTopic({ data: {} });
    expect(dispatch.message).toEqual({
      notification: { title: 'Storm warning', body: 'High winds expected after 18:00' },
    });
  });

  it('takes off the /topics/ prefix', () => {
    const [dispatch] = planTopic({ topic: '/topics/news_en.v2~%20' });
    expect(dispatch.audience).toEqual({ kind: 'topic', topic: 'news_en.v2~%20' });
  });

  it('accepts a topic name of 900 characters and refuses 901', () => {
    expect(planTopic({ topic: 'a'.repeat(900) })).toHaveLength(1);
    expect(refuse(event({ topic: 'a'.repeat(901) }))).toEqual([
      { path: 'data.topic', message: 'must be 1 to 900 characters of a-z, A-Z, 0-9 and -_.~%' },
    ]);
  });

  it.each(['', 'has space', 'news/sport', "it's", '/topics/', 'ünïcode', '/topics//topics/a'])(
    'refuses the topic %j',
    (name) => {
      expect(refuse(event({ topic: name }))).toEqual([
        { path: 'data.topic', message: 'must be 1 to 900 characters of a-z, A-Z, 0-9 and -_.~%' },
      ]);
    },
  );

  it('names every missing field', () => {
    expect(refuse({})).toEqual([
      { path: 'data.topic', message: 'is required' },
      { path: 'data.title', message: 'is required' },
      { path: 'data.body', message: 'is required' },
    ]);
  });

  it('refuses wrong types', () => {
    expect(refuse(event({ topic: 7, title: null, body: {}, data: 'x', imageUrl: 1 }))).toEqual([
      { path: 'data.topic', message: 'must be a string' },
      { path: 'data.title', message: 'must be a string' },
      { path: 'data.body', message: 'must be a string' },
      { path: 'data.data', message: 'must be an object' },
      { path: 'data.imageUrl', message: 'must be a string' },
    ]);
  });

  it('refuses data values that are not strings', () => {
    expect(refuse(event({ data: { count: 3, ok: true, fine: 'yes' } }))).toEqual([
      { path: 'data.data.count', message: 'must be a string (FCM data values are strings)' },
      { path: 'data.data.ok', message: 'must be a string (FCM data values are strings)' },
    ]);
  });

  it.each(REFUSED_DATA_KEYS)('refuses the data key %j', (key, message) => {
    expect(refuse(event({ data: { [key]: 'v' } }))).toEqual([{ path: dataKeyPath(key), message }]);
  });

  it('refuses blank and overlong titles and bodies', () => {
    expect(refuse(event({ title: '', body: 'x'.repeat(4097) }))).toEqual([
      { path: 'data.title', message: 'must not be empty' },
      { path: 'data.body', message: 'must be at most 4096 characters' },
    ]);
  });

  it('refuses unknown fields', () => {
    expect(refuse(event({ condition: "'a' in topics" }))).toEqual([
      { path: 'data.condition', message: 'is not a known field' },
    ]);
  });

  it('refuses an image URL that is not https', () => {
    expect(refuse(event({ imageUrl: 'http://x.example/s.png' }))).toEqual([
      { path: 'data.imageUrl', message: 'must be an https URL' },
    ]);
  });

  it('refuses a message that would pass 4096 bytes, at the webhook', () => {
    const details = refuse(event({ body: '語'.repeat(1000), data: { more: 'x'.repeat(1500) } }));
    expect(details).toEqual([
      {
        path: 'data',
        message: expect.stringMatching(
          new RegExp(
            `^the notification would be \\d+ bytes and FCM accepts at most ${FCM_PAYLOAD_LIMIT_BYTES}`,
          ),
        ),
      },
    ]);
  });
});
