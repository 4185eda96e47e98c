import { z } from 'zod';
import {
  basicMessage,
  definePlugin,
  fitText,
  identifier,
  jsonTextBytes,
  payloadBytes,
} from '../../src/plugins/kit';

describe('plugin kit', () => {
  describe('fitText', () => {
    it('returns text that fits unchanged, up to the exact byte', () => {
      expect(fitText('héllo', 6)).toBe('héllo');
    });

    it('cuts between characters and ends with an ellipsis', () => {
      expect(fitText('héllo wörld', 8)).toBe('héll…');
      expect(jsonTextBytes('héll…')).toBeLessThanOrEqual(8);
    });

    it('drops the spaces before the ellipsis', () => {
      expect(fitText('one two three', 10)).toBe('one two…');
    });

    it('counts JSON escapes, not characters', () => {
      expect(jsonTextBytes('"\n\u0001')).toBe(2 + 2 + 6);
      expect(fitText('""""', 7)).toBe('""…');
    });

    it('returns an empty string when not even the ellipsis fits', () => {
      expect(fitText('hello', 2)).toBe('');
    });
  });

  describe('identifier', () => {
    it('turns whole numbers into strings and keeps strings', () => {
      expect(identifier.parse(42)).toBe('42');
      expect(identifier.parse(-7)).toBe('-7');
      expect(identifier.parse('u-1')).toBe('u-1');
    });

    it('refuses fractions, huge numbers and control characters', () => {
      expect(identifier.safeParse(1.5).success).toBe(false);
      expect(identifier.safeParse(Number.MAX_SAFE_INTEGER + 1).success).toBe(false);
      expect(identifier.safeParse('a\nb').success).toBe(false);
    });
  });

  it('builds a basic message without an empty data map', () => {
    expect(basicMessage({ title: 't', body: 'b', data: {} })).toEqual({
      notification: { title: 't', body: 'b' },
    });
    expect(payloadBytes(basicMessage({ title: 't', body: 'b' }))).toBe(
      JSON.stringify({ notification: { title: 't', body: 'b' } }).length,
    );
  });

  it('defines a plugin whose event types are the keys of its schemas', () => {
    const plugin = definePlugin({
      name: 'two',
      schemas: { 'two.a': z.object({ a: z.string() }), 'two.b': z.object({ b: z.number() }) },
      plan: (event) =>
        event.type === 'two.a'
          ? [{ audience: { kind: 'topic', topic: event.data.a }, message: {} }]
          : [{ audience: { kind: 'topic', topic: String(event.data.b) }, message: {} }],
    });
    expect(plugin.eventTypes).toEqual(['two.a', 'two.b']);
    expect(plugin.plan({ type: 'two.b', data: { b: 3 } })).toEqual([
      { audience: { kind: 'topic', topic: '3' }, message: {} },
    ]);
  });
});
