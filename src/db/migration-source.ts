import type { Knex } from 'knex';
import * as createCoreTables from '../../migrations/20261203194500_create_core_tables';

interface Migration {
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

/**
 * Migrations are listed here rather than found on disk, so the same list works from the
 * TypeScript sources (tests) and from the compiled build (npm start), and a build can never
 * ship without one of them. Names are the files' own, UTC-timestamped.
 */
const MIGRATIONS: ReadonlyArray<readonly [string, Migration]> = [
  ['20261203194500_create_core_tables', createCoreTables],
];

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => MIGRATIONS.map(([name]) => name),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const found = MIGRATIONS.find(([candidate]) => candidate === name);
    if (!found) throw new Error(`Unknown migration ${name}`);
    return found[1];
  },
};
