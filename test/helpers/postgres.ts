/**
 * PostgreSQL for tests: the server named by MAAS_TEST_DATABASE_URL (default: the local one every
 * machine of this project starts, trust auth, database `test`). Each run gets a fresh schema with a
 * random name, dropped in teardown, so runs never see each other's rows.
 *
 * Without a reachable server the PostgreSQL suites are skipped, with a printed line saying so,
 * unless MAAS_REQUIRE_SERVICES=1 (CI): then loading the test file fails.
 */
import { randomBytes } from 'node:crypto';
import { openPostgresAdmin, probePostgres } from '../../src/store/postgres/admin';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/store';

export const POSTGRES_TEST_URL =
  process.env.MAAS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The URL without its password, for messages. */
const shownUrl = (url: string): string => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

/** Whether PostgreSQL answers; prints why a suite is skipped, or throws when services are required. */
export async function postgresAvailable(suite: string): Promise<boolean> {
  let reason = '';
  const version = await probePostgres(POSTGRES_TEST_URL, 3000, (m) => {
    reason = m;
  });
  if (version) return true;
  const message = `PostgreSQL at ${shownUrl(POSTGRES_TEST_URL)} is not reachable (${reason})`;
  if (process.env.MAAS_REQUIRE_SERVICES === '1') {
    throw new Error(`${message}, and MAAS_REQUIRE_SERVICES=1: ${suite} must run`);
  }
  console.log(`skipped: ${suite} on PostgreSQL: ${message}; start it or set MAAS_TEST_DATABASE_URL`);
  return false;
}

/**
 * Connections per test store: enough for the concurrency tests (which also race a second store),
 * few enough that parallel test files stay far below the server's 100 connections.
 */
const POOL_SIZE = 4;

export const freshSchemaName = (): string => `maas_test_${randomBytes(6).toString('hex')}`;

export interface FreshPostgresStore {
  store: PostgresStore;
  schema: string;
  /** Another store (its own pool) on the same schema: a second process, as far as the database sees. */
  openPeer: () => Promise<PostgresStore>;
  /** Drops the schema (close the stores first). */
  cleanup: () => Promise<void>;
}

/**
 * One schema for a whole test file, emptied before each store it opens: migrating a fresh schema
 * costs ~0.6 s on a loaded two-core machine, emptying it a few ms. Call `drop` in `afterAll`.
 */
export function sharedPostgresSchema(): {
  /** The schema's name. */
  name: string;
  open: () => Promise<FreshPostgresStore>;
  drop: () => Promise<void>;
} {
  const schema = freshSchemaName();
  let admin: ReturnType<typeof openPostgresAdmin> | null = null;
  return {
    name: schema,
    open: async () => {
      const migrate = admin === null;
      admin ??= openPostgresAdmin(POSTGRES_TEST_URL);
      const store = await openPostgresStore(POSTGRES_TEST_URL, { schema, migrate, poolSize: POOL_SIZE });
      await admin.emptySchema(schema);
      return {
        store,
        schema,
        openPeer: () => openPostgresStore(POSTGRES_TEST_URL, { schema, migrate: false, poolSize: POOL_SIZE }),
        cleanup: async () => {},
      };
    },
    drop: async () => {
      if (!admin) return;
      await admin.dropSchema(schema);
      await admin.close();
    },
  };
}
