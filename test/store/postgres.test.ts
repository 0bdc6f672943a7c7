/**
 * The store conformance suites (models, datasets, trainings, tenancy) against PostgreSQL, in a
 * fresh schema per run; plus the adapter's own behaviour: migrations under an advisory lock.
 * Skipped with a printed line when no server answers (failed instead with MAAS_REQUIRE_SERVICES=1).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { dropPostgresSchema, migratePostgres } from '../../src/store/postgres/admin';
import { loadMigrations } from '../../src/store/postgres/migrate';
import { openPostgresStore } from '../../src/store/postgres/store';
import {
  freshSchemaName,
  POSTGRES_TEST_URL,
  postgresAvailable,
  sharedPostgresSchema,
} from '../helpers/postgres';
import { describeTenancyStoreConformance } from '../tenancy/conformance';
import { describeModelStoreConformance } from './conformance';
import { describeDatasetStoreConformance, describeTrainingStoreConformance } from './training-conformance';

const available = await postgresAvailable('the store conformance suites');

describe.skipIf(!available)('postgresql', () => {
  // One fresh schema for this run, emptied before each test and dropped at the end.
  const schema = sharedPostgresSchema();
  afterAll(schema.drop);
  describeModelStoreConformance('postgresql', schema.open);
  describeDatasetStoreConformance('postgresql', schema.open);
  describeTrainingStoreConformance('postgresql', schema.open);
  describeTenancyStoreConformance('postgresql', async () => {
    const { store } = await schema.open();
    return { stores: store.tenancy, close: () => store.close() };
  });

  describe('postgresql adapter', () => {
    it('four processes starting together on an empty schema migrate it once', async () => {
      const schema = freshSchemaName();
      try {
        const results = await Promise.all(
          [1, 2, 3, 4].map(() => migratePostgres(POSTGRES_TEST_URL, { schema })),
        );
        const versions = loadMigrations().map((m) => m.version);
        expect(results.flatMap((r) => r.applied)).toEqual(versions);
        expect(results.every((r) => r.version === versions.at(-1) && r.schema === schema)).toBe(true);
        // A store opening later finds nothing to do and sees the current version.
        const store = await openPostgresStore(POSTGRES_TEST_URL, { schema });
        expect(await store.info()).toEqual({ schemaVersion: versions.at(-1), schema });
        await store.close();
        expect((await migratePostgres(POSTGRES_TEST_URL, { schema })).applied).toEqual([]);
      } finally {
        await dropPostgresSchema(POSTGRES_TEST_URL, schema);
      }
    });

    it('elects one leader per task across processes; a released lease or a closed store frees it', async () => {
      const { store, openPeer } = await schema.open();
      const peer = await openPeer();
      const sweep = await store.leader.tryLead('sweep');
      expect(sweep?.held).toBe(true);
      expect(await peer.leader.tryLead('sweep')).toBeNull();
      const other = await peer.leader.tryLead('idempotency-expiry');
      expect(other?.held).toBe(true);
      await sweep!.release();
      await sweep!.release();
      expect(sweep!.held).toBe(false);
      const next = await peer.leader.tryLead('sweep');
      expect(next?.held).toBe(true);
      expect(await store.leader.tryLead('sweep')).toBeNull();
      // The server frees a session's locks when it ends: closing (or killing) the peer frees both.
      await peer.close();
      expect([next!.held, other!.held]).toEqual([false, false]);
      const again = await store.leader.tryLead('sweep');
      expect(again?.held).toBe(true);
      await store.close();
      expect(again!.held).toBe(false);
    });

    it('refuses a schema name it would have to quote', async () => {
      await expect(openPostgresStore(POSTGRES_TEST_URL, { schema: 'Bad; DROP' })).rejects.toThrow(
        /not a plain PostgreSQL name/,
      );
    });
  });
});
