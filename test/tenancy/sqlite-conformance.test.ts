import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/store';
import { tempDir } from '../helpers/tmp';
import { describeTenancyStoreConformance } from './conformance';

// The same suite the in-memory adapters pass, against a real SQLite file in a temp folder.
describeTenancyStoreConformance('sqlite', async () => {
  const tmp = await tempDir();
  const store = SqliteStore.open({ path: join(tmp.dir, 'maas.db') });
  return {
    stores: store.tenancy,
    close: async () => {
      await store.close();
      await tmp.remove();
    },
  };
});
