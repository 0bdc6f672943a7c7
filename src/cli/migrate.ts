/**
 * `maas migrate`: applies the pending schema migrations of the shared database named by
 * MAAS_DATABASE_URL (or --database-url), under the same advisory lock `maas serve` takes at
 * start-up; safe to run while other processes start. The embedded SQLite database needs no such
 * step: it migrates itself when it opens.
 */
import { describeDatabase, migrateStore } from '../store/open';
import { type CliIO, only, type Parsed, UsageError } from './shared';

export async function migrateCommand(p: Parsed, io: CliIO): Promise<void> {
  only(p.flags, 'migrate');
  const databaseUrl = p.flags['--database-url'] ?? io.env.MAAS_DATABASE_URL;
  const schema = p.flags['--schema'] ?? io.env.MAAS_DATABASE_SCHEMA;
  if (!databaseUrl) {
    throw new UsageError(
      'maas migrate needs MAAS_DATABASE_URL or --database-url (the embedded SQLite database migrates itself at start-up)',
    );
  }
  const options = { databaseUrl, schema, dataDir: '.' };
  const where = describeDatabase(options);
  const { applied, version } = await migrateStore(options);
  io.out(
    applied.length > 0
      ? `${where}: applied migration${applied.length > 1 ? 's' : ''} ${applied.join(', ')}; schema version ${version}`
      : `${where}: schema version ${version} is current; nothing to apply`,
  );
}
