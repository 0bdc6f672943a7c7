/**
 * MAAS_INTRA_OP_SPIN_US per served model: `auto` lets a decoder LLM's intra-op threads spin
 * (bounded, only while a run is in progress) and keeps every other model's threads sleeping; a
 * number applies to every model. Real registry, real models (a random-weight Llama-layout decoder
 * graph and a linear layer, both uploaded as bare .onnx files), real sessions; the loader records
 * the options each session was created with.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DECODER_SPIN_US, type SessionOptions, type SpinSetting } from '../../src/engine/index';
import { writeRandomLlamaFolder } from '../../src/models/language/hf/random';
import { ArtifactStore } from '../../src/platform/artifacts/artifacts';
import { MetricsRegistry, platformMetrics } from '../../src/platform/metrics';
import { Registry } from '../../src/platform/registry/registry';
import { RunnerPool } from '../../src/platform/serving/pool';
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
      const of = async (v: VersionRecord) => {
        const path = artifacts.pathOf(v.digest);
        await pool.acquire(v, path, {});
        return seen.get(path);
      };
      return { decoder: await of(decoder), linear: await of(linear) };
    } finally {
      await pool.close();
    }
  }

  it('auto: the decoder spins while running, the linear model sleeps', async () => {
    expect(decoder.signature.inputs.some((i) => i.name.startsWith('past_key_values.'))).toBe(true);
    const { decoder: d, linear: l } = await sessionOptions('auto');
    expect(d).toMatchObject({
      intraOpThreads: 2,
      allowSpinning: true,
      spinOnlyWhileRunning: true,
      spinMicros: DECODER_SPIN_US,
    });
    expect(l).toMatchObject({ intraOpThreads: 2, allowSpinning: false });
  });

  it('a number applies to every model; 0 and no setting spin none', async () => {
    const twenty = await sessionOptions(20);
    for (const o of [twenty.decoder, twenty.linear])
      expect(o).toMatchObject({ allowSpinning: true, spinOnlyWhileRunning: true, spinMicros: 20 });
    for (const setting of [0, undefined]) {
      const none = await sessionOptions(setting);
      expect(none.decoder).toMatchObject({ allowSpinning: false });
      expect(none.linear).toMatchObject({ allowSpinning: false });
    }
  });
});
