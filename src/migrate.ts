/** `npm run migrate`: applies pending migrations to DATABASE_URL and exits. */
import { ConfigError, parseDatabaseUrl } from './config';
import { migrateLatest, openDatabase } from './db/connection';

async function migrate(): Promise<void> {
  const db = openDatabase(
    parseDatabaseUrl(process.env.DATABASE_URL ?? 'sqlite:./data/herald.sqlite'),
  );
  try {
    const applied = await migrateLatest(db);
    process.stdout.write(
      applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'already up to date\n',
    );
  } finally {
    await db.destroy();
  }
}

migrate().catch((err: unknown) => {
  const message = err instanceof ConfigError ? err.message : (err as Error).message;
  process.stderr.write(`herald migrate: ${message}\n`);
  process.exit(1);
});
