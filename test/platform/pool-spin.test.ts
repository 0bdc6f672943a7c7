/**
 * MAAS_INTRA_OP_SPIN_US per served model: `auto` lets a decoder LLM's intra-op threads spin
 * (bounded, only while a run is in progress) and keeps every other model's threads sleeping, and
 * a file derived from a decoder (its saliency graph) sleeping too; a number applies to every model.
 * Real registry, real models (a random-weight Llama-layout decoder graph, a linear layer, and the
 * same linear layer recorded as a `decoder-lm`, as an uploaded folder's version is), real
 * sessions; the loader records the options each session was created with.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionOptions } from '../../src/engine/index';
import { writeRandomLlamaFolder } from '../../src/models/language/hf/random';
import { ArtifactStore } from '../../src/platform/artifacts/artifacts';
import { MetricsRegistry, platformMetrics } from '../../src/platform/metrics';
import { Registry } from '../../src/platform/registry/registry';
import { RunnerPool } from '../../src/platform/serving/pool';
import { DECODER_SPIN_US, type SpinSetting } from '../../src/platform/serving/spin-policy';
import { ThreadedSession } from '../../src/platform/serving/threaded-session';
import type { VersionRecord } from '../../src/store/ports';
import { SqliteStore } from '../../src/store/sqlite/store';
import { linearModel } from '../helpers/onnx-fixtures';
import { tempDir } from '../helpers/tmp';

describe('intra-op spinning per served model', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let store: SqliteStore;
  let artifacts: ArtifactStore;
  let decoder: VersionRecord;
  let linear: VersionRecord;
  let folderKind: VersionRecord;

  beforeAll(async () => {
    tmp = await tempDir();
    store = SqliteStore.open({ path: join(tmp.dir, 'maas.db') });
    artifacts = await ArtifactStore.open(tmp.dir);
    const registry = new Registry(store, artifacts, {
      maxUploadBytes: 64 << 20,
      validation: { timeoutMs: 60_000, memoryMb: 512 },
    });
    const folder = join(tmp.dir, 'llama');
    await writeRandomLlamaFolder(folder, { hidden: 32, layers: 1, heads: 2, kvHeads: 1, intermediate: 64 });
    const graph = await readFile(join(folder, 'onnx', 'model.onnx'));
    decoder = await registry.upload('t', 'llm', Readable.from([graph]));
    linear = await registry.upload('t', 'lin', Readable.from([Buffer.from(linearModel(4, 3).bytes)]));
    folderKind = await registry.upload('t', 'kind', Readable.from([Buffer.from(linearModel(4, 2).bytes)]), {
      metadata: { kind: 'decoder-lm' },
    });
  });
  afterAll(async () => {
    await store.close();
    await tmp.remove();
  });

  /** The options the pool creates each model's session with under `spinUs`. */
  async function sessionOptions(spinUs: SpinSetting | undefined) {
    const seen = new Map<string, SessionOptions>();
    const pool = new RunnerPool(
      {
        idleEvictMs: 60_000,
        memoryBudgetBytes: 1 << 30,
        session: { intraOpThreads: 2 },
        defaults: { maxBatchSize: 1, maxDelayMs: 0, maxQueue: 16, maxNumSeqs: 4, maxBatchedTokens: 512 },
        spinUs,
      },
      platformMetrics(new MetricsRegistry(1000)),
      async (path, options) => {
        seen.set(path, options);
        return ThreadedSession.create(path, options);
      },
    );
    try {
      const of = async (v: VersionRecord, role?: string) => {
        const path = artifacts.pathOf(v.digest);
        await pool.acquire(v, path, {}, role);
        const options = seen.get(path);
        seen.delete(path);
        return options;
      };
      return {
        decoder: await of(decoder),
        linear: await of(linear),
        folderKind: await of(folderKind),
        // The decoder's file again, as a runner of a file derived from it.
        derived: await of(decoder, 'saliency'),
      };
    } finally {
      await pool.close();
    }
  }

  it('auto: decoders spin while running; the linear model and a file derived from a decoder sleep', async () => {
    expect(decoder.signature.inputs.some((i) => i.name.startsWith('past_key_values.'))).toBe(true);
    const auto = await sessionOptions('auto');
    const spinning = { intraOpThreads: 2, allowSpinning: true, spinOnlyWhileRunning: true, spinMicros: 50 };
    expect(DECODER_SPIN_US).toBe(50);
    expect(auto.decoder).toMatchObject(spinning);
    expect(auto.folderKind).toMatchObject(spinning);
    expect(auto.linear).toMatchObject({ intraOpThreads: 2, allowSpinning: false });
    expect(auto.derived).toMatchObject({ intraOpThreads: 2, allowSpinning: false });
  });

  it('a number applies to every model; 0 and no setting spin none', async () => {
    const twenty = await sessionOptions(20);
    for (const o of [twenty.decoder, twenty.linear, twenty.derived])
      expect(o).toMatchObject({ allowSpinning: true, spinOnlyWhileRunning: true, spinMicros: 20 });
    for (const setting of [0, undefined]) {
      const none = await sessionOptions(setting);
      expect(none.decoder).toMatchObject({ allowSpinning: false });
      expect(none.linear).toMatchObject({ allowSpinning: false });
    }
  });
});
