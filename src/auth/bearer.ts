import { createHash, timingSafeEqual } from 'node:crypto';

/** The token of an `Authorization: Bearer …` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * Whether the header carries exactly `expected`, compared in constant time. Both sides are
 * hashed first so the comparison does not reveal the expected length either.
 */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  const given = bearerToken(header);
  if (given === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
