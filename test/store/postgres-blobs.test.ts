import { afterAll, describe } from 'vitest';
import { postgresAvailable, sharedPostgresSchema } from '../helpers/postgres';
import { describeBlobStoreConformance } from './blob-conformance';

// Blobs as chunks in PostgreSQL (MAAS_BLOB_STORE=postgres), in a fresh schema per run.
const available = await postgresAvailable('the blob store conformance suite');

describe.skipIf(!available)('postgresql', () => {
  const schema = sharedPostgresSchema();
  afterAll(schema.drop);
  describeBlobStoreConformance('postgresql', async () => {
    const { store } = await schema.open();
    return { blobs: store.blobs, close: () => store.close() };
  });
});
