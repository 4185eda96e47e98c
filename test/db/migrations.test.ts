import { isReady } from '../../src/db/connection';
import { createTestDatabase, dialects } from '../helpers/database';

describe.each(dialects())('migrations on %s', (dialect) => {
  it('create every table, then drop them all again on the way down', async () => {
    const database = await createTestDatabase(dialect, { migrate: false });
    try {
      const { db } = database;
      expect(await isReady(db)).toBe(false);

      await db.migrate.latest();
      expect(await isReady(db)).toBe(true);
      for (const table of ['devices', 'notifications', 'delivery_jobs']) {
        expect(await db.schema.hasTable(table)).toBe(true);
      }

      await db.migrate.rollback(undefined, true);
      for (const table of ['devices', 'notifications', 'delivery_jobs']) {
        expect(await db.schema.hasTable(table)).toBe(false);
      }
      expect(await isReady(db)).toBe(false);
    } finally {
      await database.drop();
    }
  });
});
