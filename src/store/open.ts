/**
 * The store factory of the composition root: which adapter serves the store ports is decided by
 * the database URL alone. Unset → the embedded SQLite file `<dataDir>/maas.db` (one process, no
 * service to run); `postgres://…` or `postgresql://…` → PostgreSQL, shared by many processes.
 * A new adapter is one row of `adapters`.
 */
import { join } from 'node:path';
import { fail } from '../common/errors';
import type { Store } from './ports';
import { SqliteStore } from './sqlite/store';

export interface OpenStoreOptions {
  /** `postgres://user@host:5432/db`; unset, null or empty = embedded SQLite. */
  databaseUrl?: string | null;
  /** The data folder (SQLite keeps `maas.db` there). Must exist. */
  dataDir: string;
  /** PostgreSQL schema holding the tables (default: the server's current schema, usually `public`). */
  schema?: string;
}

interface StoreAdapter {
  /** Shown in logs and errors. */
  name: string;
  open(url: string, options: OpenStoreOptions): Promise<Store>;
  /** Applies pending migrations; returns the versions applied and the version now current. */
  migrate(url: string, options: OpenStoreOptions): Promise<{ applied: number[]; version: number }>;
}

// The pg driver and the PostgreSQL adapter load only when a PostgreSQL URL is configured: the
// embedded default (SQLite) starts without them.
const postgres: StoreAdapter = {
  name: 'postgresql',
  open: async (url, o) => (await import('./postgres/store')).openPostgresStore(url, { schema: o.schema }),
  migrate: async (url, o) => (await import('./postgres/admin')).migratePostgres(url, { schema: o.schema }),
};

/** Adapters by URL scheme (`new URL(url).protocol`). */
const adapters: Record<string, StoreAdapter> = {
  'postgres:': postgres,
  'postgresql:': postgres,
};

/** The adapter for a URL; a clear `invalid_request` (never echoing the URL: it may hold a password). */
function adapterFor(databaseUrl: string): StoreAdapter {
  let scheme: string;
  try {
    scheme = new URL(databaseUrl).protocol;
  } catch {
    return fail(
      'invalid_request',
      'MAAS_DATABASE_URL is not a URL: expected postgres://user@host:5432/database',
    );
  }
  return (
    adapters[scheme] ??
    fail(
      'invalid_request',
      `MAAS_DATABASE_URL: scheme '${scheme}' is not supported (${Object.keys(adapters).join(', ')}; unset = embedded SQLite)`,
    )
  );
}

const isSet = (url: string | null | undefined): url is string => typeof url === 'string' && url.trim() !== '';

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (!isSet(options.databaseUrl)) return SqliteStore.open({ path: join(options.dataDir, 'maas.db') });
  return adapterFor(options.databaseUrl).open(options.databaseUrl, options);
}

/** The database as a log line may show it: adapter, host, database; never the password. */
export function describeDatabase(options: OpenStoreOptions): string {
  if (!isSet(options.databaseUrl)) return `sqlite (${join(options.dataDir, 'maas.db')})`;
  const adapter = adapterFor(options.databaseUrl);
  const url = new URL(options.databaseUrl);
  const where = `${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
  return `${adapter.name} (${where}${options.schema ? `, schema ${options.schema}` : ''})`;
}

/** `maas migrate`: applies pending migrations of a shared database (SQLite migrates itself at open). */
export async function migrateStore(
  options: OpenStoreOptions & { databaseUrl: string },
): Promise<{ applied: number[]; version: number }> {
  return adapterFor(options.databaseUrl).migrate(options.databaseUrl, options);
}
