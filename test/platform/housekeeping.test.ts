/**
 * The leader's housekeeping round (`sweep`, src/platform/roles.ts) deletes idempotency keys past
 * their 24 h replay window and keeps younger ones, on the embedded SQLite store and on PostgreSQL.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/platform/config';
import { openPlatform, type Platform } from '../../src/platform/platform';
import { sweep } from '../../src/platform/roles';
import { IDEMPOTENCY_TTL_MS } from '../../src/platform/tenancy/idempotency';
import { ManualClock } from '../../src/platform/tenancy/index';
import type { Principal } from '../../src/store/tenancy/types';
import { POSTGRES_TEST_URL, postgresAvailable, sharedPostgresSchema } from '../helpers/postgres';
import { tempDir } from '../helpers/tmp';

const principal: Principal = {
  tenantId: 'default',
  keyId: 'key_housekeeping',
  scopes: ['admin'],
  limits: { key: {}, tenant: {} },
};

async function createWithKey(platform: Platform, key: string): Promise<void> {
  await platform.tenancy.idempotency.run(
    principal,
    key,
    { method: 'POST', path: '/api/v1/things' },
    async () => ({
      status: 201,
      headers: {},
      body: { key },
    }),
  );
}

function describeHousekeeping(name: string, database: () => Record<string, unknown>): void {
  it(`${name}: a sweep deletes idempotency keys past their replay window, keeps younger ones`, async () => {
    const settings = database();
    const tmp = await tempDir('maas-housekeeping-');
    const clock = new ManualClock();
    const config = loadConfig(
      {},
      {},
      { dataDir: tmp.dir, adminKey: 'housekeeping-admin-0123456789', zoo: 'off', ...settings },
    );
    const platform = await openPlatform(config, { clock });
    try {
      await createWithKey(platform, 'old-1');
      await createWithKey(platform, 'old-2');
      clock.advance(IDEMPOTENCY_TTL_MS - 1000);
      await createWithKey(platform, 'young');
      expect((await sweep(platform)).idempotencyKeys).toBe(0); // none expired yet
      clock.advance(2000);
      expect(await sweep(platform)).toMatchObject({ idempotencyKeys: 2 });
      expect((await sweep(platform)).idempotencyKeys).toBe(0);
      // The young key still replays its first answer instead of running again.
      const replay = await platform.tenancy.idempotency.run(
        principal,
        'young',
        { method: 'POST', path: '/api/v1/things' },
        async () => ({ status: 500, headers: {}, body: null }),
      );
      expect(replay).toMatchObject({ replayed: true, response: { status: 201, body: { key: 'young' } } });
    } finally {
      await platform.close();
      await tmp.remove();
    }
  });
}

describe('housekeeping: expired idempotency keys', () => {
  describeHousekeeping('sqlite', () => ({}));
});

const available = await postgresAvailable('housekeeping on PostgreSQL');

describe.skipIf(!available)('housekeeping: expired idempotency keys on PostgreSQL', () => {
  const schema = sharedPostgresSchema();
  afterAll(schema.drop);
  describeHousekeeping('postgresql', () => ({
    databaseUrl: POSTGRES_TEST_URL,
    databaseSchema: schema.name,
    keyPepper: 'housekeeping-pepper-0123456789abcdef',
  }));
});
