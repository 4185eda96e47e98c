/**
 * The plugin registry: loads the plugins `PLUGINS` names, checks each one step by step and
 * refuses to start, naming the plugin, when one is wrong. A gateway that silently lost a plugin
 * would reject that plugin's events later, one webhook at a time.
 */
import type { NotificationPlugin, PluginLogger, PluginOptions } from './contract';
import { checkPlugin } from './check-plugin';
import { validateEvent, type EventValidation } from './event-validation';
import { loadPluginExport } from './load-module';
import { PluginError, errorMessage } from './plugin-error';

export type { EventValidation } from './event-validation';
export { PluginError, type PluginErrorCode } from './plugin-error';

export interface PluginRegistry {
  /** The loaded plugins, in the order `PLUGINS` names them. */
  readonly plugins: readonly NotificationPlugin[];
  /** Every event type some plugin handles. */
  readonly eventTypes: readonly string[];
  forEventType(type: string): NotificationPlugin | undefined;
  /**
   * Checks a webhook body, `{type, timestamp?, data}`, and its `data` against the schema of the
   * plugin for `type`. On success `event.data` is the schema's output, ready for `plan`.
   */
  validateEvent(body: unknown): EventValidation;
}

/** A pino logger fits: plugins get `child({plugin: name})`. */
export interface RegistryLogger extends PluginLogger {
  child(bindings: Record<string, unknown>): PluginLogger;
}

export interface LoadPluginsOptions {
  logger: RegistryLogger;
  /** Where relative specifiers and package names are resolved from; `process.cwd()` by default. */
  cwd?: string;
  /** Settings for each plugin, keyed by the specifier as `PLUGINS` writes it. */
  settings?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/**
 * Loads `specifiers` in order: a built-in name (`chat`, `topic`, `condition`, `direct`) or a
 * module specifier. A module exports a plugin or a factory `(options) => plugin` as its
 * default export, as a `plugin` export or as `module.exports`. Rejects with a `PluginError` at
 * the first plugin that cannot be loaded, has the wrong shape or conflicts with another.
 */
export async function loadPlugins(
  specifiers: readonly string[],
  options: LoadPluginsOptions,
): Promise<PluginRegistry> {
  const cwd = options.cwd ?? process.cwd();
  const registry = new RegistryBuilder();

  for (const raw of specifiers) {
    const specifier = raw.trim();
    if (specifier === '') {
      throw new PluginError('plugin_not_found', raw, 'is an empty name in the plugin list');
    }

    const exported = await loadPluginExport(specifier, cwd);
    const logger = new PluginLoggerHandle(options.logger, specifier);
    const candidate = await instantiate(exported, specifier, {
      logger: logger.api,
      settings: Object.freeze({ ...options.settings?.[specifier] }),
    });
    const plugin = registry.add(candidate, specifier);
    logger.bindTo(plugin.name);

    options.logger.info(
      { plugin: plugin.name, eventTypes: plugin.eventTypes, from: specifier },
      'plugin loaded',
    );
  }
  return registry.build();
}

/**
 * A registry of plugins already in hand (tests, embedders). The same checks as `loadPlugins`
 * apply; a `PluginError` is thrown at the first that fails.
 */
export function createRegistry(plugins: readonly unknown[]): PluginRegistry {
  const registry = new RegistryBuilder();
  plugins.forEach((plugin, index) => registry.add(plugin, `plugins[${index}]`));
  return registry.build();
}

async function instantiate(
  exported: unknown,
  specifier: string,
  options: PluginOptions,
): Promise<unknown> {
  if (typeof exported !== 'function') return exported;
  const factory = exported as (options: PluginOptions) => unknown;
  try {
    return await factory(options);
  } catch (error) {
    const why = `failed in its factory: ${errorMessage(error)}`;
    throw new PluginError('plugin_factory_failed', specifier, why, { cause: error });
  }
}

class RegistryBuilder {
  private readonly plugins: NotificationPlugin[] = [];
  private readonly sourceOf = new Map<string, string>();
  private readonly byType = new Map<string, NotificationPlugin>();

  add(candidate: unknown, source: string): NotificationPlugin {
    const plugin = checkPlugin(candidate, source);

    const earlier = this.sourceOf.get(plugin.name);
    if (earlier !== undefined) {
      throw new PluginError(
        'plugin_conflict',
        plugin.name,
        `is loaded twice (from "${earlier}" and "${source}"); plugin names must be unique`,
      );
    }
    for (const type of plugin.eventTypes) {
      const owner = this.byType.get(type);
      if (owner) {
        throw new PluginError(
          'plugin_conflict',
          plugin.name,
          `handles event type "${type}", which plugin "${owner.name}" already handles`,
        );
      }
    }

    this.plugins.push(plugin);
    this.sourceOf.set(plugin.name, source);
    for (const type of plugin.eventTypes) this.byType.set(type, plugin);
    return plugin;
  }

  build(): PluginRegistry {
    const byType = new Map(this.byType);
    const eventTypes = Object.freeze([...byType.keys()]);
    const forEventType = (type: string): NotificationPlugin | undefined => byType.get(type);
    return Object.freeze({
      plugins: Object.freeze([...this.plugins]),
      eventTypes,
      forEventType,
      validateEvent: (body: unknown) => validateEvent(body, forEventType, eventTypes),
    });
  }
}

/**
 * The logger a plugin receives. Its name is known only once its factory has returned, so lines
 * the factory writes carry the specifier and every later line the plugin's name.
 */
class PluginLoggerHandle {
  private target: PluginLogger;

  readonly api: PluginLogger = {
    debug: (obj, msg) => this.forward('debug', obj, msg),
    info: (obj, msg) => this.forward('info', obj, msg),
    warn: (obj, msg) => this.forward('warn', obj, msg),
    error: (obj, msg) => this.forward('error', obj, msg),
  };

  constructor(
    private readonly root: RegistryLogger,
    specifier: string,
  ) {
    this.target = root.child({ plugin: specifier });
  }

  bindTo(name: string): void {
    this.target = this.root.child({ plugin: name });
  }

  private forward(level: keyof PluginLogger, obj: object, msg: string | undefined): void {
    if (msg === undefined) this.target[level](obj);
    else this.target[level](obj, msg);
  }
}
