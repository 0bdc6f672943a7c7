/**
 * A sequence (a decoder's generation) waits for its model's load however long it takes, and its
 * first run's deadline starts after the load: a large decoder loads for longer than a step may
 * take, and the first chat after a push must not be a 504. A hang-up still stops the wait, and is
 * counted in `maas_requests_dropped_total`.
 *
 * Real engine and registry; the loader is the real one behind a gate the test opens, so "still
 * loading" is a state the test holds, not a duration it guesses.
 */
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('a sequence whose model is still loading', () => {
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

  const x = () => tensorFrom('float32', [1, 4], [1, 2, 3, 4]);

  it('is answered after a load longer than its deadline; a hang-up during the load still stops it', async () => {
    const gone = inference.sequence('t', 'lin', undefined, {});
    const controller = new AbortController();
    const hungUp = gone.run({ inputs: { x: x() }, timeoutMs: 1000, signal: controller.signal }).then(
      () => null,
      (e: unknown) => e,
    );
    // Two sequences: the second's first run queues behind the first's once the model is loaded.
    const seqs = [0, 1].map(() => inference.sequence('t', 'lin', undefined, {}));
    const answers = seqs.map((seq) => seq.run({ inputs: { x: x() }, timeoutMs: 1000 }));
    await expect.poll(() => loads).toBe(1);
    controller.abort();
    expect(await hungUp).toMatchObject({ code: 'client_closed' });
    expect(dropped()).toBe(1);
    // Held past the runs' 1 s deadline: before the fix it counted from before the load, and the
    // second sequence's first run, queued behind the first's, was a 504 at once.
    await new Promise((r) => setTimeout(r, 1500));
    openGate();
    for (const out of await Promise.all(answers)) expect(out.y.dims).toEqual([1, 3]);
    for (const seq of seqs) seq.close();
    expect(dropped()).toBe(1);
    gone.close();
  });
});
