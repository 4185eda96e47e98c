/**
 * Why a plugin could not be loaded. Each failure has its own code, and the message names the
 * plugin (its `name` when it has one, else the specifier it was loaded by), so the log line of a
 * refused start says which plugin to fix and how.
 */
export type PluginErrorCode =
  /** No built-in and no module answers to the specifier. */
  | 'plugin_not_found'
  /** The module was found but threw while loading (syntax error, missing dependency). */
  | 'plugin_load_failed'
  /** The factory threw or its promise rejected. */
  | 'plugin_factory_failed'
  /** The module does not export a plugin of the contract's shape. */
  | 'plugin_invalid'
  /** Two plugins share a name or claim the same event type. */
  | 'plugin_conflict';

export class PluginError extends Error {
  constructor(
    readonly code: PluginErrorCode,
    /** The plugin's name, or the specifier when the plugin has no usable name. */
    readonly plugin: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`plugin "${plugin}" ${reason}`, options);
    this.name = 'PluginError';
  }
}

/** The message of anything thrown, read without `instanceof` so errors from other realms work. */
export function errorMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error) {
    return String(error.message);
  }
  return String(error);
}
