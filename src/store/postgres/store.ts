/**
 * The PostgreSQL adapter of the store ports (`pg`; `src/store/postgres/` is the only module that
 * imports it). `openPostgresStore` connects a pool pinned to one schema and migrates it (under an
 * advisory lock) before returning, so a store that opened is a store whose schema is current.
 */
import type { BlobStore } from '../blob-ports';
import type { ModelRepository, Store } from '../ports';
import type { TenancyStores } from '../tenancy/ports';
import type { DatasetRepository, TrainingRepository } from '../training-ports';
import type { WorkItemRepository } from '../work-ports';
import { PostgresBlobs } from './blobs';
import { type Db, openPool } from './db';
import { migrate } from './migrate';
import { PostgresModels } from './models';
import { postgresTenancyStores } from './tenancy';
import { PostgresDatasets, PostgresTrainings } from './training';
import { PostgresWorkItems } from './work-items';

export interface PostgresStoreOptions {
  /**
   * Schema holding maas's tables (created if absent); default: the server's current schema
   * (`public` unless the URL's `options` or the role's settings say otherwise). Lower-case letters,
   * digits and `_` only.
   */
  schema?: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Skip the migration step (the schema must then be current, e.g. after `maas migrate`). */
  migrate?: boolean;
}

export class PostgresStore implements Store {
  readonly models: ModelRepository;
  readonly tenancy: TenancyStores;
  readonly datasets: DatasetRepository;
  readonly trainings: TrainingRepository;
  readonly workItems: WorkItemRepository;
  /** Blobs in the database (MAAS_BLOB_STORE=postgres), on the same pool. */
  readonly blobs: BlobStore;
  private closed = false;

  constructor(private readonly db: Db) {
    this.models = new PostgresModels(db);
    this.tenancy = postgresTenancyStores(db);
    this.datasets = new PostgresDatasets(db);
    this.trainings = new PostgresTrainings(db);
    this.workItems = new PostgresWorkItems(db);
    this.blobs = new PostgresBlobs(db);
  }

  /** Diagnostics for tests, /readyz and /metrics: the applied schema version and a round trip. */
  async info(): Promise<{ schemaVersion: number; schema: string }> {
    const { rows } = await this.db.query<{ v: number | null; s: string }>(
      'SELECT (SELECT MAX(version) FROM schema_migrations) AS v, current_schema() AS s',
    );
    return { schemaVersion: rows[0]?.v ?? 0, schema: rows[0]?.s ?? '' };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.end();
  }
}

/** Connects, migrates (unless told not to) and returns the store. Throws when the server is unreachable. */
export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<PostgresStore> {
  const db = openPool(url, { schema: options.schema, max: options.poolSize });
  try {
    if (options.migrate !== false) await migrate(db, options.schema);
    else await db.query('SELECT 1');
  } catch (e) {
    await db.end().catch(() => {});
    throw e;
  }
  return new PostgresStore(db);
}
