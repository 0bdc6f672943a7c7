/**
 * The PostgreSQL adapter's own behaviour, beyond the port suites: migrations under an advisory
 * lock (concurrent starts migrate once), the leader lock across processes (a `kill -9`ed leader
 * hands over), schema name checks. Skipped with a printed line when no server answers (failed
 * instead with MAAS_REQUIRE_SERVICES=1).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { LeaderLock } from '../../src/store/leader';
import { dropPostgresSchema, migratePostgres } from '../../src/store/postgres/admin';
import { postgresLeaderLock } from '../../src/store/postgres/leader';
import { loadMigrations } from '../../src/store/postgres/migrate';
import { openPostgresStore } from '../../src/store/postgres/store';
import {
  freshSchemaName,
  POSTGRES_TEST_URL,
  postgresAvailable,
  sharedPostgresSchema,
} from '../helpers/postgres';

const available = await postgresAvailable('the PostgreSQL adapter tests');

/** Asks every 50 ms until the lock is ours or `ms` passed. */
async function acquireWithin(lock: LeaderLock, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await lock.tryAcquire()) return true;
    await sleep(50);
  }
  return lock.tryAcquire();
}

describe.skipIf(!available)('postgresql', () => {
  const schema = sharedPostgresSchema();
  afterAll(schema.drop);

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

    it('one leader per schema: a release or a kill -9 of the leader hands the lead over', async () => {
      const first = postgresLeaderLock(POSTGRES_TEST_URL, schema.name);
      const second = postgresLeaderLock(POSTGRES_TEST_URL, schema.name);
      const elsewhere = postgresLeaderLock(POSTGRES_TEST_URL, freshSchemaName());
      try {
        expect(await first.tryAcquire()).toBe(true);
        expect(await first.tryAcquire()).toBe(true); // still leading: same session
        expect(await second.tryAcquire()).toBe(false);
        expect(await elsewhere.tryAcquire()).toBe(true); // another schema, another deployment
        await first.release();
        await first.release();
        // release ends the session without waiting for the server: the lock is free soon after.
        expect(await acquireWithin(second, 5000)).toBe(true);
        expect(await first.tryAcquire()).toBe(false);
        await second.release();
      } finally {
        await Promise.all([first.release(), second.release(), elsewhere.release()]);
      }

      // Another process leads, then dies without a word: the next try of ours takes over.
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'test/store/leader-child.ts', POSTGRES_TEST_URL, schema.name],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const follower = postgresLeaderLock(POSTGRES_TEST_URL, schema.name);
      try {
        const line = await new Promise<string>((resolve, reject) => {
          child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
          child.once('exit', (code) => reject(new Error(`leader child exited with ${code}`)));
        });
        expect(line).toBe('leading');
        expect(await follower.tryAcquire()).toBe(false);
        child.kill('SIGKILL');
        await once(child, 'exit');
        expect(await acquireWithin(follower, 5000)).toBe(true);
      } finally {
        child.kill('SIGKILL');
        await follower.release();
      }
    });

    it('refuses a schema name it would have to quote', async () => {
      await expect(openPostgresStore(POSTGRES_TEST_URL, { schema: 'Bad; DROP' })).rejects.toThrow(
        /not a plain PostgreSQL name/,
      );
    });
  });
});
