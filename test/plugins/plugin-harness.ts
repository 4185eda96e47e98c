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

/**
 * Keys a caller may not put in a message's `data`, with the 422 message each gets: the ones FCM
 * reserves, and the empty key. Every plugin that takes `data` refuses them alike.
 */
export const REFUSED_DATA_KEYS: ReadonlyArray<[key: string, message: string]> = [
  ['from', 'is a key FCM reserves'],
  ['notification', 'is a key FCM reserves'],
  ['message_type', 'is a key FCM reserves'],
  ['google.sent_time', 'is reserved by FCM (keys starting with "google" or "gcm")'],
  ['gcm_x', 'is reserved by FCM (keys starting with "google" or "gcm")'],
  ['GoogleX', 'is reserved by FCM (keys starting with "google" or "gcm")'],
  ['', 'is an empty key'],
];

/** Where a 422 detail points for the data key `key` of an event. */
export function dataKeyPath(key: string): string {
  return /^\w+$/.test(key) ? `data.data.${key}` : `data.data[${JSON.stringify(key)}]`;
}
