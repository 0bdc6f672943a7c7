/**
 * A request that goes away while its model is still loading (the client hung up, or its
 * asynchronous prediction was canceled) is answered `client_closed` at once, and one whose
 * deadline passes meanwhile `deadline_exceeded` at the deadline, not after the load: a large model
 * loads for seconds to minutes, and a canceled prediction holds its slot until the call returns.
 * The load itself goes on, and its runner serves the next request.
 *
 * Real engine and registry; the loader is the real one behind a gate the test opens, so "still
 * loading" is a state the test holds, not a duration it guesses.
 */
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaasError } from '../../src/common/errors';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { ArtifactStore } from '../../src/platform/artifacts/artifacts';
import { MetricsRegistry, platformMetrics } from '../../src/platform/metrics';
import { Registry } from '../../src/platform/registry/registry';
import { InferenceService } from '../../src/platform/serving/inference';
import { RunnerPool } from '../../src/platform/serving/pool';
import { ThreadedSession } from '../../src/platform/serving/threaded-session';
import { SqliteStore } from '../../src/store/sqlite/store';
import { linearModel } from '../helpers/onnx-fixtures';
import { tempDir } from '../helpers/tmp';

describe('a call whose signal aborts while its model loads', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let store: SqliteStore;
  let pool: RunnerPool;
  let inference: InferenceService;
  const metrics = platformMetrics(new MetricsRegistry(1000));
  const dropped = () => metrics.dropped.get({ model: 'lin', version: '1', reason: 'client_closed' });
  let loads = 0;
  let openGate: () => void = () => {};
  const gate = new Promise<void>((r) => {
    openGate = r;
  });

  beforeAll(async () => {
    tmp = await tempDir();
    store = SqliteStore.open({ path: join(tmp.dir, 'maas.db') });
    const artifacts = await ArtifactStore.open(tmp.dir);
    const registry = new Registry(store, artifacts, {
      maxUploadBytes: 1 << 20,
      validation: { timeoutMs: 20_000, memoryMb: 256 },
    });
    await registry.upload('t', 'lin', Readable.from([Buffer.from(linearModel(4, 3).bytes)]));
    pool = new RunnerPool(
      {
        idleEvictMs: 60_000,
        memoryBudgetBytes: 1 << 30,
        session: { intraOpThreads: 1 },
        defaults: { maxBatchSize: 1, maxDelayMs: 0, maxQueue: 16, maxNumSeqs: 4, maxBatchedTokens: 512 },
      },
      metrics,
      async (path, options) => {
        loads++;
        await gate;
        return ThreadedSession.create(path, options);
      },
    );
    inference = new InferenceService(registry, pool, 30_000);
  });
  afterAll(async () => {
    openGate();
    await pool.close();
    await store.close();
    await tmp.remove();
  });

  const call = (signal?: AbortSignal) =>
    inference.infer('t', 'lin', undefined, {
      inputs: { x: tensorFrom('float32', [1, 4], [1, 2, 3, 4]) },
      signal,
    });

  it('is refused client_closed while the load is held, and the load then serves the next call', async () => {
    // A caller already gone starts no load (a load may unload idle models to make room).
    const before = new AbortController();
    before.abort();
    const refused = await call(before.signal).then(
      () => null,
      (e: unknown) => e,
    );
    expect((refused as MaasError).code).toBe('client_closed');
    expect(loads).toBe(0);
    expect(dropped()).toBe(1);

    const controller = new AbortController();
    const pending = call(controller.signal).then(
      () => null,
      (e: unknown) => e,
    );
    // The load has started (the loader was called) and is held at the gate.
    await expect.poll(() => loads).toBe(1);
    controller.abort();
    const error = await pending;
    expect(error).toBeInstanceOf(MaasError);
    expect((error as MaasError).code).toBe('client_closed');
    expect(pool.loaded).toEqual([]);
    expect(dropped()).toBe(2);

    // A deadline that passes while the model still loads is answered at the deadline (the gate
    // is still held: the load cannot have ended), not after the load.
    const late = await inference
      .infer('t', 'lin', undefined, {
        inputs: { x: tensorFrom('float32', [1, 4], [1, 2, 3, 4]) },
        timeoutMs: 50,
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect((late as MaasError).code).toBe('deadline_exceeded');
    expect((late as MaasError).message).toMatch(/still loading/);
    expect(metrics.dropped.get({ model: 'lin', version: '1', reason: 'deadline_exceeded' })).toBe(1);
    expect(pool.loaded).toEqual([]);

    openGate();
    const { outputs } = await call();
    expect(outputs.y.dims).toEqual([1, 3]);
    expect(loads).toBe(1);
    expect(pool.loaded).toHaveLength(1);
  });
});
