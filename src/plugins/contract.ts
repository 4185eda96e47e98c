/**
 * The plugin contract: what a notification type gives Herald and what it gets back.
 *
 * A plugin is pure. Given an event whose `data` already passed the plugin's own schema, it
 * returns dispatches: who should hear about the event (the audience) and what FCM should
 * show them (the message template). Herald does every piece of I/O itself, so a plugin is
 * tested with plain values and written without knowing the core.
 */
import type { z } from 'zod';

/** FCM v1 `Message` fields that say what to show, without the target (token, topic, condition). */
export interface MessageTemplate {
  notification?: { title?: string; body?: string; image?: string };
  data?: Record<string, string>;
  android?: {
    priority?: 'normal' | 'high';
    ttl?: string;
    collapse_key?: string;
    notification?: Record<string, unknown>;
    data?: Record<string, string>;
  };
  apns?: { headers?: Record<string, string>; payload?: Record<string, unknown> };
  webpush?: {
    headers?: Record<string, string>;
    data?: Record<string, string>;
    notification?: Record<string, unknown>;
    fcm_options?: { link?: string };
  };
  fcm_options?: { analytics_label?: string };
}

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
 */
export interface NotificationPlugin {
  name: string;
  eventTypes: readonly string[];
  schemas: Readonly<Record<string, z.ZodType>>;
  plan(event: PluginEvent): Dispatch[];
}

/** What a plugin module may export instead of a plugin: a factory given its options. */
export type PluginFactory = (options: PluginOptions) => NotificationPlugin;

/** Settings handed to a plugin factory: only the plugin's own. */
export interface PluginOptions {
  /** A pino-style logger bound to the plugin's name. */
  logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
  settings: Readonly<Record<string, string>>;
}
