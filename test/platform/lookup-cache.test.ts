/**
 * The registry caches alias → version and model rows (the reads of every served request); every
 * write shows at once, in this registry and, through the bus, in another process's registry.
 */
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../src/platform/artifacts/artifacts';
import { Registry } from '../../src/platform/registry/registry';
import { LocalBus } from '../../src/store/bus';
import { SqliteStore } from '../../src/store/sqlite/store';
import { linearModel } from '../helpers/onnx-fixtures';
import { tempDir } from '../helpers/tmp';

const limits = { maxUploadBytes: 1 << 20, validation: { timeoutMs: 20_000, memoryMb: 256 } };
const body = () => Readable.from([Buffer.from(linearModel(4, 3).bytes)]);

describe('registry lookup cache', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let store: SqliteStore;
  let bus: LocalBus;
  let here: Registry;
  let there: Registry;

  beforeAll(async () => {
    tmp = await tempDir();
    store = SqliteStore.open({ path: join(tmp.dir, 'maas.db') });
    const artifacts = await ArtifactStore.open(tmp.dir);
    bus = new LocalBus();
    // Two registries on one database and one bus: two processes of a deployment.
    here = new Registry(store, artifacts, limits, { bus, cacheVersions: true });
    there = new Registry(store, artifacts, limits, { bus, cacheVersions: true });
  });
  afterAll(async () => {
    await bus.close();
    await store.close();
    await tmp.remove();
  });

  it('moves latest, aliases and serving settings at once, here and in the other process', async () => {
    await here.upload('t', 'lin', body());
    // Both registries read (and cache) latest = 1 and the model row.
    expect((await here.resolve('t', 'lin')).version).toBe(1);
    expect((await there.resolve('t', 'lin')).version).toBe(1);
    expect((await there.modelRecord('t', 'lin')).serving).toEqual({});

    await here.upload('t', 'lin', body());
    expect((await here.resolve('t', 'lin')).version).toBe(2);
    expect((await there.resolve('t', 'lin', 'latest')).version).toBe(2);

    await there.setAlias('t', 'lin', 'prod', '1');
    expect((await here.resolve('t', 'lin', 'prod')).version).toBe(1);
    await here.setAlias('t', 'lin', 'prod', '2');
    expect((await there.resolve('t', 'lin', 'prod')).version).toBe(2);
    await here.deleteAlias('t', 'lin', 'prod');
    await expect(there.resolve('t', 'lin', 'prod')).rejects.toThrow(/no version or alias 'prod'/);

    await here.updateModel('t', 'lin', { serving: { max_batch_size: 4 } });
    expect((await there.modelRecord('t', 'lin')).serving).toEqual({ max_batch_size: 4 });

    await there.deleteVersion('t', 'lin', '2');
    expect((await here.resolve('t', 'lin')).version).toBe(1);
    await here.deleteModel('t', 'lin');
    await expect(there.modelRecord('t', 'lin')).rejects.toThrow(/not found/);
    await expect(there.resolve('t', 'lin')).rejects.toThrow(/not found/);
  });
});
