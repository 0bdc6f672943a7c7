/**
 * The PostgreSQL connection layer: a `pg` pool pinned to one schema, transactions, and the error
 * codes the adapters translate. `src/store/postgres/` is the only place that imports `pg`.
 */
import pg from 'pg';

/** A pool of connections whose `search_path` is the store's schema. */
export type Db = pg.Pool;
export type Queryable = pg.Pool | pg.PoolClient;

/** A schema name we can put into SQL without quoting: lower-case letters, digits, `_`. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(
      `schema '${schema}' is not a plain PostgreSQL name (lower-case letters, digits and _, at most 63)`,
    );
  }
  return schema;
}

/**
 * 64-bit integers (`COUNT(*)`, epoch-ms `BIGINT` columns) and `NUMERIC` sums come back as numbers:
 * every such value of ours (epoch ms, counts, units) stays far below 2^53. Per pool, so that the
 * process-wide `pg.types` table is left alone.
 */
const numberTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return Number;
    return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PoolOptions {
  /** Schema every unqualified table name resolves to; default: the server's (usually `public`). */
  schema?: string;
  /** Connections in the pool (default 10). */
  max?: number;
  /** Give up connecting after this long (ms; default: pg's, no limit). */
  connectTimeoutMs?: number;
}

export function openPool(url: string, options: PoolOptions = {}): Db {
  const schema = options.schema === undefined ? undefined : checkSchemaName(options.schema);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    ...(options.connectTimeoutMs ? { connectionTimeoutMillis: options.connectTimeoutMs } : {}),
    types: numberTypes,
    // Set at connect time, so every statement of every connection sees the schema.
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle connection that the server drops (restart, network) must not crash the process; the
  // pool replaces it on the next query.
  pool.on('error', () => {});
  return pool;
}

/** Runs `work` in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws. */
export async function transaction<T>(db: Db, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

/** SQLSTATE 23505: a UNIQUE or PRIMARY KEY constraint refused the row. */
export const isUniqueViolation = (e: unknown): boolean => (e as { code?: string }).code === '23505';
/** SQLSTATE 23503: a FOREIGN KEY constraint refused the row. */
export const isForeignKeyViolation = (e: unknown): boolean => (e as { code?: string }).code === '23503';

/** Millisecond ISO timestamps, as the SQLite adapter writes them: they sort correctly as text. */
export const nowIso = (): string => new Date().toISOString();
