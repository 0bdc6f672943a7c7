/**
 * Decoder steps served as sequences: the KV cache stays in the model's worker thread, steps never
 * wait for a batch partner, and an open sequence keeps its runner loaded. Real platform (SQLite,
 * artifacts, worker-thread ORT sessions) and a tiny trained GPT.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineSession } from '../../src/engine/runtime/session';
import { zeros } from '../../src/engine/runtime/tensor';
import { loadProse, splitProse } from '../../src/models/language/corpus';
import { type TrainedLanguageModel, trainGpt } from '../../src/models/language/gpt';
import { lstmLmRuntime, trainLstmLm } from '../../src/models/language/lstm-lm';
import type { TextGenerationRuntime } from '../../src/models/task';
import { DEFAULT_TENANT } from '../../src/platform/auth/auth';
import type { ServingSettings } from '../../src/store/ports';
import { type TestServer, testServer } from '../helpers/server';

const CONTEXT = 64;
/** Long enough that one wait for company would be seen: the generation takes far less (ms). */
const MAX_DELAY_MS = 10_000;
const IDLE_EVICT_MS = 100;
let trained: TrainedLanguageModel;
let lstm: TrainedLanguageModel;
let server: TestServer;
const target = (model: string) => ({ owner: DEFAULT_TENANT, model });

async function register(
  name: string,
  onnx: Uint8Array,
  meta: Record<string, unknown>,
  serving: ServingSettings,
) {
  await server.platform.registry.upload(DEFAULT_TENANT, name, Readable.from([Buffer.from(onnx)]), {
    task: 'text-generation',
    metadata: meta,
    serving,
  });
}

beforeAll(async () => {
  const split = splitProse((await loadProse()).slice(0, 60_000));
  trained = await trainGpt(
    split,
    { context: CONTEXT, layers: 2, dim: 32, heads: 4 },
    { steps: 120, batch: 16, lr: 5e-3, warmup: 10, seed: 3, maxValidationWindows: 32 },
  );
  lstm = await trainLstmLm(
    split,
    { embed: 16, hidden: 32, layers: 1, seq: 32 },
    { steps: 60, batch: 16, lr: 1e-2, warmup: 10, seed: 2, maxValidationWindows: 16 },
  );
  server = await testServer({ idleEvictMs: IDLE_EVICT_MS });
  // The KV model would batch (its dim 0 is free) and wait up to 10 s for company per run.
  await register('kv', trained.onnx, trained.metadata, { max_batch_size: 16, max_delay_ms: MAX_DELAY_MS });
  await register('lstm', lstm.onnx, lstm.metadata, {});
  await register('plain', trained.plainOnnx!, { ...trained.metadata, kvCache: false }, {});
}, 120_000);
afterAll(() => server?.close());

describe('decoder sequences in the serving runtime', () => {
  it('served KV-cache generation equals full re-runs at temperature 0, without waiting max_delay_ms', async () => {
    const tasks = server.platform.tasks;
    const req = {
      prompt: 'Call me Ishmael. Some years ago',
      maxTokens: 30,
      temperature: 0,
    };
    const plain = await (await tasks.generation(target('plain'), req)).run();
    const started = Date.now();
    const kv = await (await tasks.generation(target('kv'), { ...req, n: 2 })).run();
    // 2 × 30 steps on a model with max_delay_ms 10 s: one held step would show.
    expect(Date.now() - started).toBeLessThan(MAX_DELAY_MS);
    expect(kv.choices.map((c) => c.text)).toEqual([plain.choices[0].text, plain.choices[0].text]);
    expect(kv.choices[0].text).toHaveLength(30);
    expect(kv.usage).toMatchObject({ promptTokens: 31, completionTokens: 60 });
  });

  it('a step after the first leaves the cache out; an open sequence keeps its runner loaded, a closed one does not', async () => {
    const { inference, pool, registry } = server.platform;
    const meta = trained.metadata as { layers: number; heads: number; headDim: number };
    const feedback: Record<string, string> = {};
    const empty: Record<string, ReturnType<typeof zeros>> = {};
    for (let i = 0; i < meta.layers; i++) {
      for (const kind of ['key', 'value']) {
        feedback[`present_${kind}_${i}`] = `past_${kind}_${i}`;
        empty[`past_${kind}_${i}`] = zeros('float32', [1, meta.heads, 0, meta.headDim]);
      }
    }
    const ids = (n: number) => ({ input_ids: zeros('int64', [1, n]) });
    const version = await registry.resolve(DEFAULT_TENANT, 'kv');
    const seq = inference.sequence(DEFAULT_TENANT, 'kv', undefined, feedback);
    // Before any state, the cache inputs are required.
    await expect(seq.run({ inputs: ids(3) })).rejects.toMatchObject({ code: 'invalid_tensor' });
    const first = await seq.run({ inputs: { ...ids(3), ...empty } });
    // Only the outputs that are not fed back come back to this thread.
    expect(Object.keys(first)).toEqual(['logits']);
    const vocab = first.logits.dims[2];
    expect(first.logits.dims).toEqual([1, 3, vocab]);
    const second = await seq.run({ inputs: ids(1), outputs: ['logits'] });
    expect(second.logits.dims).toEqual([1, 1, vocab]);
    await new Promise((r) => setTimeout(r, IDLE_EVICT_MS * 4));
    expect(pool.isLoaded(version)).toBe(true);
    seq.close();
    seq.close();
    await new Promise((r) => setTimeout(r, IDLE_EVICT_MS * 4));
    expect(pool.isLoaded(version)).toBe(false);
    await expect(seq.run({ inputs: ids(1) })).rejects.toThrow(/closed sequence/);
  });

  it('an aborted generation stops stepping and closes its sequence (the runner can be evicted again)', async () => {
    const { pool, registry, tasks } = server.platform;
    const version = await registry.resolve(DEFAULT_TENANT, 'kv');
    const job = await tasks.generation(target('kv'), { prompt: 'The whale', maxTokens: 50, temperature: 0 });
    const controller = new AbortController();
    let deltas = 0;
    const run = job.run(() => {
      if (++deltas === 5) controller.abort();
    }, controller.signal);
    await expect(run).rejects.toMatchObject({ code: 'client_closed' });
    const stopped = deltas;
    expect(stopped).toBeLessThan(50);
    await new Promise((r) => setTimeout(r, IDLE_EVICT_MS * 4));
    expect(deltas).toBe(stopped);
    expect(pool.isLoaded(version)).toBe(false);
  });

  it('an LSTM served with its state kept in the worker generates what it does in-process', async () => {
    const req = { prompt: 'the sea', maxTokens: 20, temperature: 0 };
    const served = await (await server.platform.tasks.generation(target('lstm'), req)).run();
    const session = await EngineSession.create(lstm.onnx);
    try {
      const local = lstmLmRuntime({
        run: (inputs, o) => session.run(inputs, o?.outputs),
        metadata: lstm.metadata,
      }) as TextGenerationRuntime;
      const expected = await local.generate(req);
      expect(served.choices[0].text).toBe(expected.text);
      expect(served.choices[0].text).toHaveLength(20);
    } finally {
      await session.release();
    }
  });
});
