/**
 * Versioned schema migrations for PostgreSQL: the files `migrations/NNN_name.sql` next to this
 * module, read at run time (they ship with the source). `migrate` applies the ones not yet in
 * `schema_migrations`, each in its own transaction, while holding a PostgreSQL advisory lock:
 * processes starting together queue on the lock, and the later ones find nothing left to do.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Db } from './db';

export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
/** One advisory lock per schema; session-level, so it spans the per-migration transactions. */
const LOCK = "SELECT pg_advisory_lock(hashtext('maas.migrate:' || $1))";
const UNLOCK = "SELECT pg_advisory_unlock(hashtext('maas.migrate:' || $1))";
const FILE_NAME = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/** The migration files in version order; a gap, a duplicate or a stray file fails loudly. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): PgMigration[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  return files.map((file, i) => {
    const match = FILE_NAME.exec(file);
    if (!match) throw new Error(`migration file ${file}: expected NNN_name.sql`);
    const version = Number(match[1]);
    if (version !== i + 1) throw new Error(`migration file ${file}: expected version ${i + 1}`);
    return { version, name: match[2], sql: readFileSync(`${dir}/${file}`, 'utf8') };
  });
}

export interface MigrateResult {
  /** Versions this call applied (empty when the schema was already current). */
  applied: number[];
  /** Newest version now in the schema. */
  version: number;
  schema: string;
}

/**
 * Applies pending migrations to the pool's schema (its `search_path`), creating the schema first.
 * The advisory lock's key is derived from the schema's name, so stores in different schemas of one
 * database migrate independently.
 */
export async function migrate(
  db: Db,
  schema: string | undefined,
  list: readonly PgMigration[] = loadMigrations(),
): Promise<MigrateResult> {
  const client = await db.connect();
  let locked: string | null = null;
  try {
    const target =
      schema ??
      ((await client.query('SELECT current_schema() AS s')).rows[0]?.s as string | null) ??
      'public';
    await client.query(LOCK, [target]);
    locked = target;
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(target)}`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    const done = new Set(
      (await client.query('SELECT version FROM schema_migrations')).rows.map((r) => r.version as number),
    );
    const applied: number[] = [];
    for (const m of list) {
      if (done.has(m.version)) continue;
      await applyOne(client, m);
      applied.push(m.version);
    }
    const { rows } = await client.query('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations');
    return { applied, version: rows[0].v as number, schema: target };
  } finally {
    if (locked !== null) await client.query(UNLOCK, [locked]).catch(() => {});
    client.release();
  }
}

async function applyOne(client: pg.PoolClient, m: PgMigration): Promise<void> {
  try {
    await client.query('BEGIN');
    await client.query(m.sql);
    await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
      m.version,
      m.name,
      new Date().toISOString(),
    ]);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw new Error(`migration ${m.version} (${m.name}) failed: ${(e as Error).message}`);
  }
}
