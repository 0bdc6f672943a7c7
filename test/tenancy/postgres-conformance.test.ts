import { afterAll, describe } from 'vitest';
import { postgresAvailable, sharedPostgresSchema } from '../helpers/postgres';
import { describeTenancyStoreConformance } from './conformance';

// The suite the memory and SQLite adapters pass, against PostgreSQL in a fresh schema per run.
const available = await postgresAvailable('the tenancy store conformance suite');

describe.skipIf(!available)('postgresql', () => {
  const schema = sharedPostgresSchema();
  afterAll(schema.drop);
  describeTenancyStoreConformance('postgresql', async () => {
    const { store } = await schema.open();
    return { stores: store.tenancy, close: () => store.close() };
  });
});
