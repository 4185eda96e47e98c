/**
 * Specifier → the value a plugin module offers: a built-in by name, else a module resolved the
 * way Node would from the project directory (a relative or absolute path, or a package name
 * from `node_modules`).
 */
import path from 'node:path';
import { BUILT_IN_PLUGINS } from './built-ins';
import { PluginError, errorMessage } from './plugin-error';

/**
 * The module's plugin or factory: its default export (`export default`, `exports.default`), else
 * a named `plugin` export, else the module itself (`module.exports = …`).
 */
export async function loadPluginExport(specifier: string, cwd: string): Promise<unknown> {
  const builtIn = BUILT_IN_PLUGINS.get(specifier);
  const loaded = builtIn ? await builtIn() : requireModule(specifier, cwd);
  return pickExport(loaded);
}

function requireModule(specifier: string, cwd: string): unknown {
  const file = resolveModule(specifier, cwd);
  try {
    // A plugin is named at run time by configuration; only require can load it by that name.
    const loaded: unknown = require(file);
    return loaded;
  } catch (error) {
    const why = `failed to load ${file}: ${errorMessage(error)}`;
    throw new PluginError('plugin_load_failed', specifier, why, { cause: error });
  }
}

function resolveModule(specifier: string, cwd: string): string {
  const isPath = specifier.startsWith('.') || path.isAbsolute(specifier);
  try {
    return isPath
      ? require.resolve(path.resolve(cwd, specifier))
      : // Herald's own install comes second, for a plugin installed next to Herald itself.
        require.resolve(specifier, { paths: [cwd, __dirname] });
  } catch (error) {
    if (!isModuleNotFound(error)) throw error;
    const where = isPath
      ? `no file at ${path.resolve(cwd, specifier)}`
      : `no package of that name under ${path.join(cwd, 'node_modules')} or above`;
    const builtIns = [...BUILT_IN_PLUGINS.keys()].join(', ');
    throw new PluginError(
      'plugin_not_found',
      specifier,
      `was not found: it is not a built-in (${builtIns}) and there is ${where}`,
      { cause: error },
    );
  }
}

function pickExport(loaded: unknown): unknown {
  if (typeof loaded !== 'object' || loaded === null) return loaded;
  if ('default' in loaded && loaded.default !== undefined) return loaded.default;
  if ('plugin' in loaded && loaded.plugin !== undefined) return loaded.plugin;
  return loaded;
}

// Duck-typed: an error from another realm (a vm context, a test runner) is no `instanceof Error`.
function isModuleNotFound(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    error.code === 'MODULE_NOT_FOUND'
  );
}
