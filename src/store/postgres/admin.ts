/**
 * Operations on a PostgreSQL database outside one store: run the migrations (`maas migrate`),
 * check that a server answers, drop a schema (test teardown). Each opens and closes its own
 * one-connection pool.
 */
import pg from 'pg';
import { checkSchemaName, openPool } from './db';
import { type MigrateResult, migrate } from './migrate';

/** Applies pending migrations to `schema` (default: the server's current schema). */
export async function migratePostgres(
  url: string,
  options: { schema?: string } = {},
): Promise<MigrateResult> {
  const db = openPool(url, { schema: options.schema, max: 1 });
  try {
    return await migrate(db, options.schema);
  } finally {
    await db.end();
  }
}

/** The server's version string when it answers within `timeoutMs`, else null (why: `onError`). */
export async function probePostgres(
  url: string,
  timeoutMs = 2000,
  onError: (message: string) => void = () => {},
): Promise<string | null> {
  const db = openPool(url, { max: 1, connectTimeoutMs: timeoutMs });
  try {
    const { rows } = await db.query<{ v: string }>('SELECT version() AS v');
    return rows[0]?.v ?? null;
  } catch (e) {
    onError((e as Error).message);
    return null;
  } finally {
    await db.end().catch(() => {});
  }
}

/** Server settings by name (e.g. `fsync`, `synchronous_commit`), for benchmark headers. */
export async function postgresSettings(
  url: string,
  names: readonly string[],
): Promise<Record<string, string>> {
  const db = openPool(url, { max: 1 });
  try {
    const { rows } = await db.query<{ name: string; setting: string }>(
      'SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])',
      [[...names]],
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
  } finally {
    await db.end();
  }
}

/**
 * A one-connection handle for schema housekeeping (tests share one for a whole file: opening a
 * PostgreSQL connection costs ~0.1 s on a loaded machine, the statements a few ms).
 */
export interface PostgresAdmin {
  /** Drops a schema and everything in it (a test run's private schema). */
  dropSchema(schema: string): Promise<void>;
  /**
   * Empties every table of a schema except `schema_migrations` (between tests sharing a schema).
   * DELETE, not TRUNCATE: on small tables it avoids new files and their fsyncs.
   */
  emptySchema(schema: string): Promise<void>;
  close(): Promise<void>;
}

export function openPostgresAdmin(url: string): PostgresAdmin {
  const db = openPool(url, { max: 1 });
  return {
    async dropSchema(schema) {
      await db.query(`DROP SCHEMA IF EXISTS ${checkSchemaName(schema)} CASCADE`);
    },
    async emptySchema(schema) {
      const { rows } = await db.query<{ t: string }>(
        "SELECT tablename AS t FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schema_migrations'",
        [checkSchemaName(schema)],
      );
      const deletes = rows.map((r) => `DELETE FROM ${schema}.${pg.escapeIdentifier(r.t)};`).join('\n');
      await db.query(`BEGIN;\n${deletes}\nCOMMIT;`);
    },
    close: () => db.end(),
  };
}

/** Drops a schema and everything in it. */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  const admin = openPostgresAdmin(url);
  try {
    await admin.dropSchema(schema);
  } finally {
    await admin.close();
  }
}
