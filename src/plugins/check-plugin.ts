/**
 * Checks that a value a plugin module produced has the contract's shape, one property at a time,
 * so the error says exactly what is missing. Conflicts between plugins are the registry's job.
 */
import type { NotificationPlugin } from './contract';
import { PluginError } from './plugin-error';

/** `candidate` as a plugin, or a `plugin_invalid` error naming it (or `source`, if nameless). */
export function checkPlugin(candidate: unknown, source: string): NotificationPlugin {
  if (!isRecord(candidate)) {
    throw invalid(
      source,
      `must export a plugin object or a factory returning one, not ${kind(candidate)}`,
    );
  }

  const { name } = candidate;
  if (typeof name !== 'string' || name.trim() === '') {
    throw invalid(source, 'has no name: set "name" to a non-empty string');
  }

  const eventTypes = checkEventTypes(name, candidate.eventTypes);
  checkSchemas(name, eventTypes, candidate.schemas);

  if (typeof candidate.plan !== 'function') {
    throw invalid(name, 'has no plan function: "plan" must be a function of the event');
  }

  // Every property the contract names was checked above.
  return candidate as unknown as NotificationPlugin;
}

function checkEventTypes(name: string, eventTypes: unknown): readonly string[] {
  if (!Array.isArray(eventTypes) || eventTypes.length === 0) {
    throw invalid(name, 'has no event types: "eventTypes" must list at least one');
  }

  const seen = new Set<string>();
  eventTypes.forEach((type: unknown, index) => {
    if (typeof type !== 'string' || type.trim() === '') {
      throw invalid(name, `has an empty or non-string event type at eventTypes[${index}]`);
    }
    if (seen.has(type)) throw invalid(name, `lists event type "${type}" twice`);
    seen.add(type);
  });
  return [...seen];
}

function checkSchemas(name: string, eventTypes: readonly string[], schemas: unknown): void {
  if (!isRecord(schemas)) {
    throw invalid(name, 'has no "schemas" object mapping each event type to a zod schema');
  }

  for (const type of eventTypes) {
    if (!Object.hasOwn(schemas, type) || schemas[type] === undefined) {
      throw invalid(name, `has no schema for event type "${type}"`);
    }
    if (!isZodSchema(schemas[type])) {
      throw invalid(
        name,
        `has a schema for event type "${type}" that is not a zod schema (no safeParse method)`,
      );
    }
  }

  const unclaimed = Object.keys(schemas).filter((type) => !eventTypes.includes(type));
  if (unclaimed.length > 0) {
    throw invalid(name, `has a schema for "${unclaimed[0]}", which is not in its eventTypes`);
  }
}

/**
 * Any zod (v3 or v4, this copy or the plugin's own) parses with `safeParse` and keeps its
 * definition under `_def` (v3) or `_zod` (v4); a JSON Schema or a plain validator function has
 * neither.
 */
export function isZodSchema(value: unknown): boolean {
  return (
    isRecord(value) && typeof value.safeParse === 'function' && ('_zod' in value || '_def' in value)
  );
}

function invalid(plugin: string, reason: string): PluginError {
  return new PluginError('plugin_invalid', plugin, reason);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kind(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
