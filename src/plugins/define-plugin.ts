import type {
  Dispatch,
  NotificationPlugin,
  PlanEvent,
  PluginDefinition,
  PluginEvent,
  SchemaMap,
} from './contract';

/**
 * Builds a plugin whose `plan` sees each event's `data` typed by its schema (`z.output`), so the
 * types come from the schema instead of being written twice. The event types are the keys of
 * `schemas`.
 *
 * ```ts
 * export default definePlugin({
 *   name: 'invoice',
 *   schemas: { 'invoice.paid': z.strictObject({ userId: identifier, amount: z.string() }) },
 *   plan: (event) => [{ audience: { kind: 'users', userIds: [event.data.userId] }, message: {} }],
 * });
 * ```
 */
export function definePlugin<const S extends SchemaMap>(
  definition: PluginDefinition<S>,
): NotificationPlugin {
  const { name, schemas } = definition;
  return {
    name,
    eventTypes: Object.freeze(Object.keys(schemas)),
    schemas,
    plan(event: PluginEvent): Dispatch[] {
      // The registry calls plan only with data its schema for event.type produced.
      return definition.plan(event as PlanEvent<S>);
    },
  };
}
