/**
 * The plugin contract: what a notification type gives Herald and what it gets back.
 *
 * A plugin is pure. Given an event whose `data` already passed the plugin's own schema, it
 * returns dispatches: who should hear about the event (the audience) and what FCM should
 * show them (the message template). Herald does every piece of I/O itself, so a plugin is
 * tested with plain values and written without knowing the core.
 *
 * This file holds types only. The runtime helpers for plugin authors (`definePlugin`, shared
 * field schemas, payload size) live next to it in `kit.ts`.
 */
import type { BaseMessage } from 'firebase-admin/messaging';
import type { z } from 'zod';

/**
 * What FCM should show, without the target: firebase-admin's `BaseMessage` (camelCase fields
 * such as `notification.imageUrl`, `android.priority`, `apns.headers`), which Herald completes
 * with a token, topic or condition and hands to firebase-admin's `sendEach` as it is.
 */
export type MessageTemplate = BaseMessage;

/** Who a dispatch goes to. Identifiers are strings: numbers are turned into strings at the door. */
export type Audience =
  | { kind: 'users'; userIds: string[] }
  | { kind: 'tokens'; tokens: string[] }
  | { kind: 'topic'; topic: string }
  | { kind: 'condition'; condition: string };

/** One message template sent to one audience. */
export interface Dispatch {
  audience: Audience;
  message: MessageTemplate;
}

/** An event as a plugin sees it: `data` has passed the schema registered for `type`. */
export interface PluginEvent<Data = unknown> {
  type: string;
  /** ISO 8601 time the event happened, when the sender said so. */
  timestamp?: string;
  data: Data;
}

/**
 * A notification type. `schemas` maps every event type the plugin handles to the zod schema of
 * that event's `data`; `plan` turns one validated event into zero or more dispatches (zero
 * dispatches settles the notification as `no_targets`).
 *
 * Schemas must be synchronous (no async refinements): Herald validates at the webhook, before
 * it answers. `plan` receives the schema's output (after transforms), never the raw body.
 */
export interface NotificationPlugin {
  name: string;
  eventTypes: readonly string[];
  schemas: Readonly<Record<string, z.ZodType>>;
  plan(event: PluginEvent): Dispatch[];
}

/**
 * What a plugin module may export instead of a plugin: a factory given its options. It runs
 * once at start; a factory that throws (or rejects) stops the gateway, naming the plugin.
 */
export type PluginFactory = (
  options: PluginOptions,
) => NotificationPlugin | Promise<NotificationPlugin>;

/** A pino-style logger: context object first, then a short message. */
export interface PluginLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Settings handed to a plugin factory: only the plugin's own. */
export interface PluginOptions {
  /** A pino-style logger bound to the plugin's name (`{plugin: name}` on every line). */
  logger: PluginLogger;
  settings: Readonly<Record<string, string>>;
}

/** Event type → zod schema of that event's `data`. */
export type SchemaMap = Readonly<Record<string, z.ZodType>>;

/**
 * The event `plan` receives from a plugin built with `definePlugin`: a union over the plugin's
 * event types, so checking `event.type` narrows `event.data` to that schema's output.
 */
export type PlanEvent<S extends SchemaMap> = {
  [T in keyof S & string]: PluginEvent<z.output<S[T]>> & { type: T };
}[keyof S & string];

/** What `definePlugin` takes: the event types are the keys of `schemas`. */
export interface PluginDefinition<S extends SchemaMap> {
  name: string;
  schemas: S;
  plan(event: PlanEvent<S>): Dispatch[];
}
