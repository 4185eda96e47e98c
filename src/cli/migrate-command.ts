import { ConfigError, parseDatabaseUrl } from '../config';
import { migrateLatest, openDatabase } from '../db/connection';
import { CommandError, parseOptions, type Command } from './command';

/** API.md §2's default, the same one the gateway uses. */
const DEFAULT_DATABASE_URL = 'sqlite:./data/herald.sqlite';

const HELP = `Usage: herald migrate

Applies pending database migrations to DATABASE_URL and exits; prints what it applied. The
gateway does the same at start unless MIGRATE_ON_START=false.

Options:
  -h, --help       this help

Environment:
  DATABASE_URL     mysql://user:pass@host:port/db or sqlite:PATH
                   (default ${DEFAULT_DATABASE_URL})
`;

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply pending database migrations and exit',
  help: HELP,
  async run(args, context) {
    const { values } = parseOptions(args, {});
    if (values.help) {
      context.stdout(HELP);
      return 0;
    }

    // Only the database: migrating must not need the webhook or JWT secrets of production.
    let database;
    try {
      database = parseDatabaseUrl(context.env.DATABASE_URL?.trim() || DEFAULT_DATABASE_URL);
    } catch (err) {
      if (err instanceof ConfigError) throw new CommandError(`configuration error: ${err.message}`);
      throw err;
    }
    const db = openDatabase(database);
    try {
      const applied = await migrateLatest(db);
      context.stdout(
        applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'already up to date\n',
      );
    } catch (err) {
      throw new CommandError(`migrations failed: ${(err as Error).message.split('\n')[0]}`);
    } finally {
      await db.destroy();
    }
    return 0;
  },
};
