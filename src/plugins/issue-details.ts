/**
 * Zod issues → API.md's error details, such as
 * `{"path": "data.userIds[0]", "message": "must be a string"}`.
 * Paths are written the way a JavaScript reader would reach the field in the body.
 */
import type { z } from 'zod';
import type { ErrorDetail } from '../errors';

/** More details than this are summed up in one last entry: 10,000 bad ids help no one. */
export const MAX_DETAILS = 50;

const PLAIN_KEY = /^[A-Za-z_$][\w$]*$/;

/** `['data', 'userIds', 0]` → `data.userIds[0]`; keys that are not plain names go in brackets. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') {
      text += `[${segment}]`;
      continue;
    }
    const key = String(segment);
    if (PLAIN_KEY.test(key)) text += text === '' ? key : `.${key}`;
    else text += `[${JSON.stringify(key)}]`;
  }
  return text;
}

/** The shape every zod version gives its issues, read defensively (plugins bring their own). */
interface AnyIssue {
  code?: unknown;
  path?: readonly PropertyKey[];
  message?: unknown;
  keys?: unknown;
  issues?: unknown;
}

/** Details for the issues of one `safeParse`, each path put under `prefix`. */
export function issueDetails(
  issues: readonly AnyIssue[],
  prefix: readonly PropertyKey[],
): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  const seen = new Set<string>();
  const add = (path: readonly PropertyKey[], message: string): void => {
    const detail = { path: formatPath([...prefix, ...path]), message };
    const key = `${detail.path}\n${detail.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    details.push(detail);
  };

  for (const issue of issues) {
    const path = Array.isArray(issue.path) ? issue.path : [];
    if (issue.code === 'unrecognized_keys' && Array.isArray(issue.keys)) {
      for (const key of issue.keys) add([...path, String(key)], 'is not a known field');
    } else if (issue.code === 'invalid_key' && Array.isArray(issue.issues)) {
      // zod puts why a record key failed one level down; that reason is the useful part.
      const [inner] = issue.issues as AnyIssue[];
      add(path, typeof inner?.message === 'string' ? inner.message : 'is not an accepted key');
    } else {
      add(path, typeof issue.message === 'string' ? issue.message : 'is not valid');
    }
  }
  return details;
}

/** At most `MAX_DETAILS` entries, the last saying how many more there were. */
export function capDetails(details: ErrorDetail[]): ErrorDetail[] {
  if (details.length <= MAX_DETAILS) return details;
  const rest = details.length - (MAX_DETAILS - 1);
  return [
    ...details.slice(0, MAX_DETAILS - 1),
    { path: details[MAX_DETAILS - 1].path, message: `… and ${rest} more problems` },
  ];
}

const EXPECTED: Readonly<Record<string, string>> = {
  array: 'an array',
  int: 'a whole number',
  object: 'an object',
  record: 'an object',
  tuple: 'an array',
};

/**
 * Messages in the style of the details (`must be a string`, `is required`) for every issue a
 * schema did not word itself. A message a schema sets (`z.string().min(1, 'must not be empty')`)
 * wins over these.
 */
export const friendlyMessages: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${EXPECTED[issue.expected] ?? `a ${issue.expected}`}`;
    case 'too_small':
      return tooSmall(issue.origin, Number(issue.minimum), issue.inclusive !== false);
    case 'too_big':
      return tooBig(issue.origin, Number(issue.maximum), issue.inclusive !== false);
    case 'invalid_format':
      return issue.format === 'regex' ? 'has the wrong format' : `must be a valid ${issue.format}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'unrecognized_keys':
      return `has unknown fields: ${issue.keys.join(', ')}`;
    case 'invalid_union':
      return 'does not match any accepted form';
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    default:
      return undefined;
  }
};

function tooSmall(origin: string, minimum: number, inclusive: boolean): string {
  const least = inclusive ? minimum : minimum + 1;
  if (origin === 'string')
    return least <= 1 ? 'must not be empty' : `must be at least ${least} characters`;
  if (origin === 'array' || origin === 'set') {
    return least <= 1 ? 'must not be empty' : `must have at least ${least} entries`;
  }
  return inclusive ? `must be at least ${minimum}` : `must be more than ${minimum}`;
}

function tooBig(origin: string, maximum: number, inclusive: boolean): string {
  const most = inclusive ? maximum : maximum - 1;
  if (origin === 'string') return `must be at most ${most} characters`;
  if (origin === 'array' || origin === 'set') return `must have at most ${most} entries`;
  return inclusive ? `must be at most ${maximum}` : `must be less than ${maximum}`;
}
