import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrations } from '../../src/store/sqlite/migrations';
import { SqliteStore } from '../../src/store/sqlite/store';
import { tempDir } from '../helpers/tmp';
import { describeModelStoreConformance, type StoreHarness } from './conformance';
import { describeDatasetStoreConformance, describeTrainingStoreConformance } from './training-conformance';
import { describeWorkItemConformance } from './work-items-conformance';

/** A database file in a temp folder; the peer is a second connection to the same file. */
async function openSqliteHarness(): Promise<StoreHarness> {
  const tmp = await tempDir();
  const path = join(tmp.dir, 'maas.db');
  return {
    store: SqliteStore.open({ path }),
    openPeer: async () => SqliteStore.open({ path }),
    cleanup: tmp.remove,
  };
}

describeModelStoreConformance('sqlite', openSqliteHarness);
describeDatasetStoreConformance('sqlite', openSqliteHarness);
describeTrainingStoreConformance('sqlite', openSqliteHarness);
describeWorkItemConformance('sqlite', openSqliteHarness);

describe('sqlite adapter', () => {
  it('uses WAL, applies migrations once, and shares data across connections', async () => {
    const tmp = await tempDir();
    try {
      const path = join(tmp.dir, 'maas.db');
      const a = SqliteStore.open({ path });
      expect(a.info()).toEqual({ journalMode: 'wal', schemaVersion: migrations.length });
      await a.models.createModel({ owner: 't', name: 'm' });
      const b = SqliteStore.open({ path, busyTimeoutMs: 2000 });
      expect(b.info().schemaVersion).toBe(migrations.length);
      expect((await b.models.getModel('t', 'm'))?.name).toBe('m');
      await a.close();
      await b.close();
      const raw = new Database(path, { readonly: true });
      const rows = raw.prepare('SELECT version FROM schema_migrations').all();
      raw.close();
      expect(rows).toEqual(migrations.map((m) => ({ version: m.version })));
    } finally {
      await tmp.remove();
    }
  });
});
