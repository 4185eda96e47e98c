import type { ErrorDetail } from '../../src/errors';
import type { Dispatch, NotificationPlugin } from '../../src/plugins/contract';
import { createRegistry } from '../../src/plugins/registry';

/** Validates `data` the way the webhook does, then plans it; fails the test if it is refused. */
export function plan(plugin: NotificationPlugin, type: string, data: unknown): Dispatch[] {
  const result = createRegistry([plugin]).validateEvent({ type, data });
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.details)}`);
  return result.plugin.plan(result.event);
}

/** The 422 details for `data`; fails the test if it is accepted. */
export function problems(plugin: NotificationPlugin, type: string, data: unknown): ErrorDetail[] {
  const result = createRegistry([plugin]).validateEvent({ type, data });
  if (result.ok) throw new Error(`accepted: ${JSON.stringify(result.event.data)}`);
  return result.details;
}
