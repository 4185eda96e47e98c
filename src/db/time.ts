/** Reads a time column: MySQL gives a Date, SQLite the epoch milliseconds it was written as. */
export function readTime(value: Date | number | string): Date {
  return value instanceof Date ? value : new Date(value);
}
