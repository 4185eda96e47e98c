import path from 'node:path';
import { z } from 'zod';
import { createLogger } from '../../src/logger';
import type { PluginLogger } from '../../src/plugins/contract';
import { definePlugin } from '../../src/plugins/kit';
import {
  PluginError,
  createRegistry,
  loadPlugins,
  type PluginErrorCode,
  type RegistryLogger,
} from '../../src/plugins/registry';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'plugins');
const PROJECT = path.join(FIXTURES, 'project');

interface LogLine {
  level: keyof PluginLogger;
  bindings: Record<string, unknown>;
  obj: object;
  msg?: string;
}

/** A logger that keeps every line with the bindings of the child that wrote it. */
function recordingLogger(lines: LogLine[] = [], bindings: Record<string, unknown> = {}) {
  const write =
    (level: keyof PluginLogger) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, bindings, obj, msg });
    };
  const logger: RegistryLogger = {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (more) => recordingLogger(lines, { ...bindings, ...more }).logger,
  };
  return { logger, lines };
}

const load = (specifiers: string[], settings?: Record<string, Record<string, string>>) =>
  loadPlugins(specifiers, { logger: recordingLogger().logger, cwd: FIXTURES, settings });

async function refusal(promise: Promise<unknown>): Promise<PluginError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PluginError) return error;
    throw error;
  }
  throw new Error('the plugins were accepted');
}

function refusalOf(build: () => unknown): PluginError {
  try {
    build();
  } catch (error) {
    if (error instanceof PluginError) return error;
    throw error;
  }
  throw new Error('the plugins were accepted');
}

const ping = definePlugin({
  name: 'ping',
  schemas: {
    'ping.sent': z.strictObject({
      userIds: z.array(z.string()),
      data: z.record(z.string(), z.string()),
    }),
  },
  plan: ({ data }) => [{ audience: { kind: 'users', userIds: data.userIds }, message: {} }],
});

describe('plugin registry', () => {
  describe('loading', () => {
    it('loads the four built-in plugins by name', async () => {
      const registry = await loadPlugins(['chat', 'topic', 'condition', 'direct'], {
        logger: createLogger('silent'),
      });
      expect(registry.plugins.map((plugin) => plugin.name)).toEqual([
        'chat',
        'topic',
        'condition',
        'direct',
      ]);
      expect(registry.eventTypes).toEqual([
        'chat.message.created',
        'topic.broadcast',
        'condition.broadcast',
        'notification.send',
      ]);
      expect(registry.forEventType('topic.broadcast')?.name).toBe('topic');
      expect(registry.forEventType('nope')).toBeUndefined();
      expect(registry.forEventType('constructor')).toBeUndefined();
    });

    it('loads a CommonJS factory by relative path, with its own settings and logger', async () => {
      const { logger, lines } = recordingLogger();
      const registry = await loadPlugins(['chat', './third-party.js'], {
        logger,
        cwd: FIXTURES,
        settings: { './third-party.js': { currency: 'CHF' }, chat: { secret: 'not for invoice' } },
      });

      const result = registry.validateEvent({
        type: 'invoice.paid',
        data: { userId: 'u1', amount: 12 },
      });
      if (!result.ok) throw new Error(JSON.stringify(result.details));
      expect(result.plugin.name).toBe('invoice');
      expect(result.plugin.plan(result.event)).toEqual([
        {
          audience: { kind: 'users', userIds: ['u1'] },
          message: { notification: { title: 'Payment received', body: '12 CHF' } },
        },
      ]);

      expect(lines).toContainEqual({
        level: 'info',
        bindings: { plugin: './third-party.js' },
        obj: { currency: 'CHF' },
        msg: 'invoice plugin ready',
      });
      expect(lines).toContainEqual(
        expect.objectContaining({
          msg: 'plugin loaded',
          obj: { plugin: 'invoice', eventTypes: ['invoice.paid'], from: './third-party.js' },
        }),
      );
    });

    it('gives a plugin a logger bound to its name once its factory has returned', async () => {
      const { logger, lines } = recordingLogger();
      const registry = await loadPlugins(['./logging-factory.js'], { logger, cwd: FIXTURES });
      const [plugin] = registry.plugins as unknown as { logger: PluginLogger }[];
      plugin.logger.warn({ step: 'later' }, 'sending');

      expect(lines).toContainEqual({
        level: 'info',
        bindings: { plugin: './logging-factory.js' },
        obj: { step: 'factory' },
        msg: 'building',
      });
      expect(lines).toContainEqual({
        level: 'warn',
        bindings: { plugin: 'logging' },
        obj: { step: 'later' },
        msg: 'sending',
      });
    });

    it('loads a plugin by absolute path', async () => {
      const registry = await loadPlugins([path.join(FIXTURES, 'third-party.js')], {
        logger: recordingLogger().logger,
        cwd: '/',
      });
      expect(registry.eventTypes).toEqual(['invoice.paid']);
    });

    it('loads an installed package by name from the project directory', async () => {
      const registry = await loadPlugins(['herald-plugin-example'], {
        logger: recordingLogger().logger,
        cwd: PROJECT,
      });
      const result = registry.validateEvent({ type: 'example.ping', data: { topic: 'news' } });
      if (!result.ok) throw new Error(JSON.stringify(result.details));
      expect(result.plugin.plan(result.event)).toEqual([
        { audience: { kind: 'topic', topic: 'news' }, message: { data: { ping: '1' } } },
      ]);
    });

    it('takes the default export of an ES module', async () => {
      const registry = await load(['./default-export.js']);
      expect(registry.plugins.map((plugin) => plugin.name)).toEqual(['greeting']);
    });

    it('awaits an async factory', async () => {
      const registry = await load(['./async-factory.js']);
      expect(registry.eventTypes).toEqual(['async.event']);
    });
  });

  describe('refusing to start', () => {
    it.each<[string, string[], PluginErrorCode, string]>([
      [
        'a plugin without plan',
        ['./missing-plan.js'],
        'plugin_invalid',
        'plugin "no-plan" has no plan function',
      ],
      [
        'two plugins claiming one event type',
        ['chat', './duplicate-event-type.js'],
        'plugin_conflict',
        'plugin "chat-copy" handles event type "chat.message.created", which plugin "chat" already handles',
      ],
      [
        'a factory that throws',
        ['./throwing-factory.js'],
        'plugin_factory_failed',
        'plugin "./throwing-factory.js" failed in its factory: INVOICE_API_KEY is not set',
      ],
      [
        'a factory that rejects',
        ['./async-factory.js'],
        'plugin_factory_failed',
        'plugin "./async-factory.js" failed in its factory: could not reach the template service',
      ],
      [
        'a schema that is not zod',
        ['./not-zod-schema.js'],
        'plugin_invalid',
        'plugin "json-schema" has a schema for event type "json-schema.event" that is not a zod schema',
      ],
      [
        'a missing module',
        ['./no-such-plugin.js'],
        'plugin_not_found',
        `plugin "./no-such-plugin.js" was not found: it is not a built-in (chat, topic, condition, direct) and there is no file at ${path.join(FIXTURES, 'no-such-plugin.js')}`,
      ],
      [
        'a package that is not installed',
        ['herald-plugin-nowhere'],
        'plugin_not_found',
        'plugin "herald-plugin-nowhere" was not found',
      ],
      [
        'a module that throws while loading',
        ['./throws-on-load.js'],
        'plugin_load_failed',
        'plugin "./throws-on-load.js" failed to load',
      ],
      [
        'the same plugin twice',
        ['topic', 'topic'],
        'plugin_conflict',
        'plugin "topic" is loaded twice (from "topic" and "topic"); plugin names must be unique',
      ],
      ['an empty name in the list', ['chat', ' '], 'plugin_not_found', 'is an empty name'],
    ])('refuses %s', async (_, specifiers, code, message) => {
      const error = await refusal(load(specifiers, { './async-factory.js': { fail: 'yes' } }));
      expect(error.code).toBe(code);
      expect(error.message).toContain(message);
    });

    it('names the plugin on the error', async () => {
      const error = await refusal(load(['./missing-plan.js']));
      expect(error.plugin).toBe('no-plan');
      expect(error.name).toBe('PluginError');
    });

    const valid = {
      name: 'shape',
      eventTypes: ['shape.event'],
      schemas: { 'shape.event': z.object({}) },
      plan: () => [],
    };

    it.each<[string, unknown, string]>([
      [
        'a number',
        42,
        'plugin "plugins[0]" must export a plugin object or a factory returning one, not a number',
      ],
      ['null', null, 'not null'],
      ['an array', [valid], 'not an array'],
      ['no name', { ...valid, name: undefined }, 'plugin "plugins[0]" has no name'],
      ['an empty name', { ...valid, name: ' ' }, 'plugin "plugins[0]" has no name'],
      ['no event types', { ...valid, eventTypes: [] }, 'plugin "shape" has no event types'],
      [
        'event types that are not a list',
        { ...valid, eventTypes: 'shape.event' },
        'has no event types',
      ],
      ['an empty event type', { ...valid, eventTypes: ['shape.event', ''] }, 'at eventTypes[1]'],
      [
        'an event type listed twice',
        { ...valid, eventTypes: ['shape.event', 'shape.event'] },
        'lists event type "shape.event" twice',
      ],
      ['no schemas', { ...valid, schemas: undefined }, 'plugin "shape" has no "schemas" object'],
      [
        'an event type without a schema',
        { ...valid, eventTypes: ['shape.event', 'shape.other'] },
        'plugin "shape" has no schema for event type "shape.other"',
      ],
      [
        'a validator function for a schema',
        { ...valid, schemas: { 'shape.event': (data: unknown) => data } },
        'is not a zod schema',
      ],
      [
        'a schema for an event type it does not list',
        { ...valid, schemas: { ...valid.schemas, 'shape.extra': z.object({}) } },
        'plugin "shape" has a schema for "shape.extra", which is not in its eventTypes',
      ],
      [
        'a plan that is not a function',
        { ...valid, plan: 'send' },
        'plugin "shape" has no plan function',
      ],
    ])('refuses a plugin with %s', (_, candidate, message) => {
      const error = refusalOf(() => createRegistry([candidate]));
      expect(error.code).toBe('plugin_invalid');
      expect(error.message).toContain(message);
    });

    it('accepts a zod 3 schema', () => {
      const { z: z3 } = jest.requireActual<typeof import('zod/v3')>('zod/v3');
      const registry = createRegistry([
        { ...valid, schemas: { 'shape.event': z3.object({ id: z3.string() }) } },
      ]);
      expect(registry.validateEvent({ type: 'shape.event', data: { id: 1 } })).toEqual({
        ok: false,
        code: 'invalid_event',
        message: 'The event does not match its schema',
        details: [{ path: 'data.id', message: 'Expected string, received number' }],
      });
    });
  });

  describe('validateEvent', () => {
    const registry = createRegistry([ping]);
    const validate = (body: unknown) => registry.validateEvent(body);

    it('returns the plugin and the parsed event', () => {
      const result = validate({
        type: 'ping.sent',
        timestamp: '2024-05-01T12:00:00.123+02:00',
        data: { userIds: ['u1'], data: {} },
      });
      expect(result).toEqual({
        ok: true,
        plugin: ping,
        event: {
          type: 'ping.sent',
          timestamp: '2024-05-01T12:00:00.123+02:00',
          data: { userIds: ['u1'], data: {} },
        },
      });
    });

    it('leaves the timestamp out when the sender did', () => {
      const result = validate({ type: 'ping.sent', data: { userIds: [], data: {} } });
      expect(result.ok && result.event).toEqual({
        type: 'ping.sent',
        data: { userIds: [], data: {} },
      });
    });

    it('refuses an unknown event type with unknown_event_type', () => {
      expect(validate({ type: 'pong.sent', data: {} })).toEqual({
        ok: false,
        code: 'unknown_event_type',
        message: 'No plugin handles event type "pong.sent"; known types: ping.sent',
        details: [{ path: 'type', message: 'is not an event type of any loaded plugin' }],
      });
    });

    it.each([null, [], 'ping', 3])('refuses the body %j', (body) => {
      expect(validate(body)).toEqual({
        ok: false,
        code: 'invalid_event',
        message: 'The event does not match its schema',
        details: [{ path: '', message: 'must be a JSON object with "type" and "data"' }],
      });
    });

    it('names every envelope problem', () => {
      const result = validate({ timestamp: 'yesterday', data: [], id: 'evt_1' });
      expect(result).toMatchObject({
        ok: false,
        code: 'invalid_event',
        details: [
          { path: 'type', message: 'is required' },
          {
            path: 'timestamp',
            message: 'must be an ISO 8601 date-time with a time zone, such as 2024-05-01T12:00:00Z',
          },
          { path: 'data', message: 'must be an object' },
          { path: 'id', message: 'is not a known field' },
        ],
      });
      expect(validate({ type: 7, data: {} })).toMatchObject({
        details: [{ path: 'type', message: 'must be a non-empty string' }],
      });
      expect(validate({ type: 'ping.sent' })).toMatchObject({
        code: 'invalid_event',
        details: [{ path: 'data', message: 'is required' }],
      });
    });

    it.each([
      ['2024-05-01T12:00:00Z', true],
      ['2024-05-01t12:00:00z', true],
      ['2024-05-01T12:00:00.5-07:30', true],
      ['2024-02-29T00:00:00Z', true],
      ['2023-02-29T00:00:00Z', false],
      ['2024-04-31T00:00:00Z', false],
      ['2024-05-01T24:00:00Z', false],
      ['2024-05-01T12:00:00', false],
      ['2024-05-01', false],
      ['2024-05-01 12:00:00Z', false],
      ['1714564800', false],
    ])('reads the timestamp %s as valid: %s', (timestamp, valid) => {
      const result = validate({ type: 'ping.sent', timestamp, data: { userIds: [], data: {} } });
      expect(result.ok).toBe(valid);
    });

    it('writes detail paths with data. in front and [i] for array entries', () => {
      const result = validate({
        type: 'ping.sent',
        data: { userIds: ['u1', 2], data: { 'content-type': 5, ok: 'yes' }, extra: true },
      });
      expect(result).toMatchObject({
        code: 'invalid_event',
        details: [
          { path: 'data.userIds[1]', message: 'must be a string' },
          { path: 'data.data["content-type"]', message: 'must be a string' },
          { path: 'data.extra', message: 'is not a known field' },
        ],
      });
    });

    it('reports envelope and data problems together', () => {
      expect(
        validate({ type: 'ping.sent', timestamp: 5, data: { userIds: 'u1', data: {} } }),
      ).toMatchObject({
        details: [
          { path: 'timestamp', message: expect.stringContaining('ISO 8601') },
          { path: 'data.userIds', message: 'must be an array' },
        ],
      });
    });

    it('keeps the list of details short', () => {
      const userIds = Array.from({ length: 500 }, (_, index) => index);
      const result = validate({ type: 'ping.sent', data: { userIds, data: {} } });
      if (result.ok) throw new Error('accepted');
      expect(result.details).toHaveLength(50);
      expect(result.details[48]).toEqual({ path: 'data.userIds[48]', message: 'must be a string' });
      expect(result.details[49]).toEqual({
        path: 'data.userIds[49]',
        message: '… and 451 more problems',
      });
    });
  });
});
