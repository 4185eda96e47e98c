/**
 * The size of what FCM receives. FCM refuses a message whose payload passes 4096 bytes, and it
 * does so late, at send time; plugins measure here so that the refusal (or the shortening)
 * happens at the webhook instead.
 */
import type { z } from 'zod';
import type { MessageTemplate } from './contract';

export const FCM_PAYLOAD_LIMIT_BYTES = 4096;

const ELLIPSIS = '…';

/**
 * Bytes of the message template as JSON in UTF-8. The whole template counts, not only the
 * `notification` and `data` FCM counts, which more than covers the byte or two firebase-admin's
 * renames on the way to the wire add or remove (`imageUrl` → `image`, `threadId` → `thread-id`).
 */
export function payloadBytes(message: MessageTemplate): number {
  return Buffer.byteLength(JSON.stringify(message), 'utf8');
}

/** Bytes `text` takes inside a JSON string (escapes included, quotes excluded). */
export function jsonTextBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text), 'utf8') - 2;
}

/**
 * `text` unchanged when it takes at most `budget` bytes inside a JSON string; otherwise its
 * longest prefix that fits together with a trailing `…`. The cut falls between user-perceived
 * characters (grapheme clusters), so no emoji, flag or accent is split; an empty string comes
 * back when not even the ellipsis fits.
 */
export function fitText(text: string, budget: number): string {
  if (jsonTextBytes(text) <= budget) return text;

  const room = budget - jsonTextBytes(ELLIPSIS);
  if (room < 0) return '';

  let used = 0;
  let kept = '';
  for (const piece of characters(text)) {
    const cost = jsonTextBytes(piece);
    if (used + cost > room) break;
    used += cost;
    kept += piece;
  }
  return kept.trimEnd() + ELLIPSIS;
}

function characters(text: string): Iterable<string> {
  // Node built without full ICU has no Segmenter; code points still never split a surrogate pair.
  if (typeof Intl.Segmenter !== 'function') return Array.from(text);
  const segments = new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text);
  return (function* () {
    for (const { segment } of segments) yield segment;
  })();
}

/** The message `notification` block, leaving `imageUrl` out when there is none. */
export function notification(
  title: string,
  body: string,
  imageUrl?: string,
): NonNullable<MessageTemplate['notification']> {
  return imageUrl === undefined ? { title, body } : { title, body, imageUrl };
}

/** The fields most messages are made of: a notification and optional data. */
export interface BasicContent {
  title: string;
  body: string;
  imageUrl?: string;
  data?: Record<string, string>;
}

/** The template of `content`, with no empty `data` map and no `imageUrl` when there is none. */
export function basicMessage(content: BasicContent): MessageTemplate {
  const message: MessageTemplate = {
    notification: notification(content.title, content.body, content.imageUrl),
  };
  if (content.data && Object.keys(content.data).length > 0) message.data = { ...content.data };
  return message;
}

/**
 * `schema` refusing, at the webhook, data whose message would pass FCM's payload limit.
 * `build` makes the message from the parsed data; the check runs only when the data has no
 * other problem. The 422 detail sits on `data` itself, with `message` or a generic sentence.
 */
export function withinPayloadLimit<T extends z.ZodType>(
  schema: T,
  build: (data: z.output<T>) => MessageTemplate,
  message?: string,
): T {
  return schema.superRefine(
    (data, ctx) => {
      const bytes = payloadBytes(build(data));
      if (bytes <= FCM_PAYLOAD_LIMIT_BYTES) return;
      ctx.addIssue({
        code: 'custom',
        message:
          message ??
          `the notification would be ${bytes} bytes and FCM accepts at most ` +
            `${FCM_PAYLOAD_LIMIT_BYTES}; shorten the title, body or data`,
      });
    },
    { when: (payload) => payload.issues.length === 0 },
  );
}

/** `values` without repeats, in first-seen order. */
export function unique(values: Iterable<string>): string[] {
  return [...new Set(values)];
}
