import condition, { CONDITION_BROADCAST } from '../../plugins/condition';
import { plan, problems } from './plugin-harness';

const event = (data: Record<string, unknown>) => ({
  condition: "'sports' in topics && ('fr' in topics || 'be' in topics)",
  title: 'Goal!',
  body: 'France 1 – 0 Belgium',
  ...data,
});

const planCondition = (data: Record<string, unknown>) =>
  plan(condition, CONDITION_BROADCAST, event(data));
const refuse = (data: Record<string, unknown>) => problems(condition, CONDITION_BROADCAST, data);

describe('condition plugin', () => {
  it('handles condition.broadcast only', () => {
    expect(condition.name).toBe('condition');
    expect(condition.eventTypes).toEqual(['condition.broadcast']);
  });

  it('plans one message to the condition with every field', () => {
    expect(
      planCondition({ data: { match: '42' }, imageUrl: 'https://img.example/goal.jpg' }),
    ).toEqual([
      {
        audience: {
          kind: 'condition',
          condition: "'sports' in topics && ('fr' in topics || 'be' in topics)",
        },
        message: {
          notification: {
            title: 'Goal!',
            body: 'France 1 – 0 Belgium',
            imageUrl: 'https://img.example/goal.jpg',
          },
          data: { match: '42' },
        },
      },
    ]);
  });

  it('sends FCM the normalised condition', () => {
    const [dispatch] = planCondition({ condition: ` "a" in topics&&!( 'b' in topics ) ` });
    expect(dispatch.audience).toEqual({
      kind: 'condition',
      condition: "'a' in topics && !('b' in topics)",
    });
  });

  it('refuses a malformed condition with its position, under data.condition', () => {
    expect(refuse(event({ condition: "('a' in topics && 'b' in topics" }))).toEqual([
      {
        path: 'data.condition',
        message: "expected ')' at position 31 (to close the '(' at position 0)",
      },
    ]);
  });

  it('refuses a sixth topic', () => {
    const six = ['a', 'b', 'c', 'd', 'e', 'f'].map((name) => `'${name}' in topics`).join(' || ');
    expect(refuse(event({ condition: six }))).toEqual([
      {
        path: 'data.condition',
        message: 'too many topics at position 85 (a condition may test at most 5)',
      },
    ]);
  });

  it('refuses a condition that is not a string, and names every missing field', () => {
    expect(refuse(event({ condition: ['a'] }))).toEqual([
      { path: 'data.condition', message: 'must be a string' },
    ]);
    expect(refuse({})).toEqual([
      { path: 'data.condition', message: 'is required' },
      { path: 'data.title', message: 'is required' },
      { path: 'data.body', message: 'is required' },
    ]);
  });

  it('refuses reserved data keys, non-https images and unknown fields', () => {
    expect(
      refuse(event({ data: { from: 'x' }, imageUrl: 'http://img.example/a.jpg', topic: 'a' })),
    ).toEqual([
      { path: 'data.data.from', message: 'is a key FCM reserves' },
      { path: 'data.imageUrl', message: 'must be an https URL' },
      { path: 'data.topic', message: 'is not a known field' },
    ]);
  });
});
