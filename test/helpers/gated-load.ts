/**
 * A real registry, pool and inference service whose model loads wait at a gate the test opens,
 * so "still loading" is a state a test holds, not a duration it guesses. One model is uploaded:
 * tenant `t`'s `lin` (linearModel(4, 3): x [batch, 4] → y [batch, 3]).
 */
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ArtifactStore } from '../../src/platform/artifacts/artifacts';
import { MetricsRegistry, platformMetrics } from '../../src/platform/metrics';
import { Registry } from '../../src/platform/registry/registry';
import { InferenceService } from '../../src/platform/serving/inference';
import { RunnerPool } from '../../src/platform/serving/pool';
import { ThreadedSession } from '../../src/platform/serving/threaded-session';
import { SqliteStore } from '../../src/store/sqlite/store';
import { linearModel } from './onnx-fixtures';
import { tempDir } from './tmp';

export interface GatedLoad {
  inference: InferenceService;
  pool: RunnerPool;
  /** Loads started so far (each waits at the gate). */
  loads(): number;
  /** `maas_requests_dropped_total` of `lin` version 1 for `reason`. */
  dropped(reason: 'client_closed' | 'deadline_exceeded'): number;
  /** Let every load, held or to come, go on. */
  openGate(): void;
  close(): Promise<void>;
}

export async function gatedLoad(): Promise<GatedLoad> {
  const tmp = await tempDir();
  const store = SqliteStore.open({ path: join(tmp.dir, 'maas.db') });
  const artifacts = await ArtifactStore.open(tmp.dir);
  const registry = new Registry(store, artifacts, {
    maxUploadBytes: 1 << 20,
    validation: { timeoutMs: 20_000, memoryMb: 256 },
  });
  await registry.upload('t', 'lin', Readable.from([Buffer.from(linearModel(4, 3).bytes)]));
  const metrics = platformMetrics(new MetricsRegistry(1000));
  let loads = 0;
  let openGate: () => void = () => {};
  const gate = new Promise<void>((r) => {
    openGate = r;
  });
  const pool = new RunnerPool(
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
  return {
    inference: new InferenceService(registry, pool, 30_000),
    pool,
    loads: () => loads,
    dropped: (reason) => metrics.dropped.get({ model: 'lin', version: '1', reason }),
    openGate,
    async close() {
      openGate();
      await pool.close();
      await store.close();
      await tmp.remove();
    },
  };
}
