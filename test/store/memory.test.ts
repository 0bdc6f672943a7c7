/**
 * Every store conformance suite against the in-memory adapters (src/store/memory/): the same cases
 * SQLite (./sqlite.test.ts) and PostgreSQL (./postgres.test.ts) pass. The peer is a second handle
 * on the same data. Nothing to skip: memory needs no service.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openMemoryStore } from '../../src/store/memory/index';
import type { Store } from '../../src/store/ports';
import { SqliteStore } from '../../src/store/sqlite/store';
import { tempDir } from '../helpers/tmp';
import { describeModelStoreConformance, type StoreHarness } from './conformance';
import { describeDatasetStoreConformance, describeTrainingStoreConformance } from './training-conformance';
import { describeWorkItemConformance } from './work-items-conformance';

async function openMemoryHarness(): Promise<StoreHarness> {
  const store = openMemoryStore();
  return { store, openPeer: async () => store.peer(), cleanup: async () => {} };
}

describeModelStoreConformance('memory', openMemoryHarness);
describeDatasetStoreConformance('memory', openMemoryHarness);
describeTrainingStoreConformance('memory', openMemoryHarness);
describeWorkItemConformance('memory', openMemoryHarness);

describe('memory adapters', () => {
  it('copy records in and out: a caller mutating what it passed or got changes nothing stored', async () => {
    const store = openMemoryStore();
    const serving = { max_batch_size: 4 };
    const created = await store.models.createModel({ owner: 't', name: 'm', serving });
    serving.max_batch_size = 99;
    created.serving.max_batch_size = 98;
    expect((await store.models.getModel('t', 'm'))?.serving).toEqual({ max_batch_size: 4 });

    const data = { model: 'bigram', input: { prompt: 'the ' } };
    const item = { kind: 'prediction' as const, id: 'p_1', owner: 't', status: 'starting', parent: null };
    await store.workItems.insert({ ...item, dueAt: 0, createdAt: 1, updatedAt: 1, data });
    data.input.prompt = 'changed';
    const read = await store.workItems.get('prediction', 't', 'p_1');
    read!.data.model = 'changed';
    expect((await store.workItems.get('prediction', 't', 'p_1'))?.data).toEqual({
      model: 'bigram',
      input: { prompt: 'the ' },
    });

    const job = await store.trainings.create({
      owner: 't',
      id: 'trn_1',
      family: 'mlp',
      dataset: 'iris',
      datasetDigest: null,
      target: null,
      model: 'm',
      hyperparameters: { epochs: 3 },
    });
    job.hyperparameters.epochs = 300;
    const event = await store.trainings.addEvent('trn_1', 'log', { line: 'a' });
    event.data.line = 'b';
    expect((await store.trainings.get('t', 'trn_1'))?.hyperparameters).toEqual({ epochs: 3 });
    expect((await store.trainings.events('trn_1', 0))[0]?.data).toEqual({ line: 'a' });
  });

  it('give JSON fields back as SQLite does (a JSON column): Dates as strings, NaN as null, undefined keys gone', async () => {
    const tmp = await tempDir();
    const sqlite = SqliteStore.open({ path: join(tmp.dir, 'maas.db') });
    const read = async (store: Store) => {
      const data = { when: new Date(0), nan: Number.NaN, gone: undefined, kept: [1, undefined] };
      const item = { kind: 'prediction' as const, id: 'p_j', owner: 't', status: 'starting', parent: null };
      await store.workItems.insert({ ...item, dueAt: 0, createdAt: 1, updatedAt: 1, data });
      return (await store.workItems.get('prediction', 't', 'p_j'))?.data;
    };
    try {
      const fromSqlite = await read(sqlite);
      expect(fromSqlite).toStrictEqual({ when: '1970-01-01T00:00:00.000Z', nan: null, kept: [1, null] });
      expect(await read(openMemoryStore())).toStrictEqual(fromSqlite);
    } finally {
      await sqlite.close();
      await tmp.remove();
    }
  });
});
