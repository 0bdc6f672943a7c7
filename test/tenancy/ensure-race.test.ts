/**
 * Processes of a cluster starting together on an empty database all ensure the default tenant:
 * every one of them must start (one creates the row, the others read it), not fail on the race.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createTenancy } from '../../src/platform/tenancy/index';
import { postgresAvailable, sharedPostgresSchema } from '../helpers/postgres';

const available = await postgresAvailable('tenant ensure under concurrent starts');

describe.skipIf(!available)('tenants.ensure on PostgreSQL, two processes at once', () => {
  const schema = sharedPostgresSchema();
  afterAll(schema.drop);

  it('concurrent ensures of one tenant through two pools all return it', async () => {
    const { store, openPeer } = await schema.open();
    const peer = await openPeer();
    try {
      const processes = [store, peer].map((s) =>
        createTenancy({ stores: s.tenancy, pepper: randomBytes(32) }),
      );
      for (let round = 0; round < 5; round++) {
        const id = `racer${round}`;
        const answers = await Promise.all(
          Array.from({ length: 8 }, (_, i) => processes[i % 2].tenants.ensure(id)),
        );
        expect(answers.map((t) => t.id)).toEqual(Array(8).fill(id));
        expect(new Set(answers.map((t) => t.createdAt)).size).toBe(1);
      }
    } finally {
      await peer.close();
      await store.close();
    }
  });
});
