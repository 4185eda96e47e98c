/**
 * A webhook body → a validated event for the plugin that handles its type, or the 422 that
 * says why not (API.md §4: `unknown_event_type`, or `invalid_event` with one detail a problem).
 */
import type { ErrorDetail } from '../errors';
import type { NotificationPlugin, PluginEvent } from './contract';
import { capDetails, friendlyMessages, issueDetails } from './issue-details';

export type EventValidation =
  | { ok: true; plugin: NotificationPlugin; event: PluginEvent }
  | {
      ok: false;
      code: 'unknown_event_type' | 'invalid_event';
      /** One sentence for the error's `message`. */
      message: string;
      details: ErrorDetail[];
    };

const ENVELOPE_FIELDS = new Set(['type', 'timestamp', 'data']);

/** RFC 3339, the profile of ISO 8601 that says the zone: `2024-05-01T12:00:00Z`, `…+02:00`. */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/** Checks `body` against the envelope and then against the schema of the plugin for its type. */
export function validateEvent(
  body: unknown,
  pluginFor: (type: string) => NotificationPlugin | undefined,
  knownTypes: readonly string[],
): EventValidation {
  if (!isPlainObject(body)) {
    return invalid([{ path: '', message: 'must be a JSON object with "type" and "data"' }]);
  }

  const details = envelopeDetails(body);
  const { type, data, timestamp } = body;
  if (typeof type !== 'string' || type === '') return invalid(details);

  const plugin = pluginFor(type);
  if (!plugin) {
    const shown = type.length > 100 ? `${type.slice(0, 100)}…` : type;
    return {
      ok: false,
      code: 'unknown_event_type',
      message: `No plugin handles event type "${shown}"; known types: ${knownTypes.join(', ')}`,
      details: [{ path: 'type', message: 'is not an event type of any loaded plugin' }],
    };
  }
  if (!isPlainObject(data)) return invalid(details);

  const parsed = plugin.schemas[type].safeParse(data, { error: friendlyMessages });
  if (!parsed.success) details.push(...issueDetails(parsed.error.issues, ['data']));
  if (details.length > 0) return invalid(details);

  const event: PluginEvent = { type, data: parsed.data };
  if (typeof timestamp === 'string') event.timestamp = timestamp;
  return { ok: true, plugin, event };
}

function envelopeDetails(body: Record<string, unknown>): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  const { type, timestamp, data } = body;

  if (type === undefined) details.push({ path: 'type', message: 'is required' });
  else if (typeof type !== 'string' || type === '') {
    details.push({ path: 'type', message: 'must be a non-empty string' });
  }
  if (timestamp !== undefined && !isDateTime(timestamp)) {
    details.push({
      path: 'timestamp',
      message: 'must be an ISO 8601 date-time with a time zone, such as 2024-05-01T12:00:00Z',
    });
  }
  if (data === undefined) details.push({ path: 'data', message: 'is required' });
  else if (!isPlainObject(data)) details.push({ path: 'data', message: 'must be an object' });

  for (const key of Object.keys(body)) {
    if (!ENVELOPE_FIELDS.has(key)) details.push({ path: key, message: 'is not a known field' });
  }
  return details;
}

/** Whether `value` is an RFC 3339 date-time that names a real instant (no 31 February). */
export function isDateTime(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const match = DATE_TIME.exec(value);
  if (!match) return false;

  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const offsetHours = match[8] === undefined ? 0 : Number(match[8]);
  const offsetMinutes = match[9] === undefined ? 0 : Number(match[9]);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHours <= 23 &&
    offsetMinutes <= 59
  );
}

function invalid(details: ErrorDetail[]): EventValidation {
  return {
    ok: false,
    code: 'invalid_event',
    message: 'The event does not match its schema',
    details: capDetails(details),
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
