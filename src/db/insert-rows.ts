import type { Knex } from 'knex';

/**
 * `INSERT INTO table (...) VALUES (...), (...)` for rows that share their keys in one order, as
 * rows made by one function do. Knex's builder sorts and compares the keys of every row before
 * writing the same statement, which the intake, inserting a batch of webhooks at a time, paid on
 * every request. Identifiers are in backquotes, which MySQL and SQLite both read.
 */
export async function insertRows(
  db: Knex | Knex.Transaction,
  table: string,
  rows: ReadonlyArray<Record<string, unknown>>,
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]);
  const bindings: unknown[] = [];
  for (const row of rows) {
    for (const column of columns) bindings.push(row[column]);
  }
  const placeholders = `(${columns.map(() => '?').join(', ')})`;
  await db.raw(
    `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES ` +
      new Array<string>(rows.length).fill(placeholders).join(', '),
    bindings as Knex.RawBinding[],
  );
}

function quote(identifier: string): string {
  return `\`${identifier.replaceAll('`', '``')}\``;
}
