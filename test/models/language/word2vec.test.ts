import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineSession } from '../../../src/engine/runtime/session';
import { tensorFrom } from '../../../src/engine/runtime/tensor';
import { loadProse } from '../../../src/models/language/corpus';
import {
  nearestWords,
  type TrainedWordVectors,
  trainWord2vec,
  word2vecRuntime,
} from '../../../src/models/language/word2vec';
import { countingRun, type EmbeddingRuntime } from './helpers';

let trained: TrainedWordVectors;
let session: EngineSession;
let runtime: EmbeddingRuntime;

beforeAll(async () => {
  // The first 300,000 characters, 800 words × 24 dims, 150 steps: seconds, not minutes.
  const text = (await loadProse()).slice(0, 300_000);
  trained = await trainWord2vec(text, { dim: 24, vocab: 800, steps: 150, batch: 1024, seed: 4 });
  session = await EngineSession.create(trained.onnx);
  runtime = word2vecRuntime({ run: countingRun(session), metadata: trained.metadata }) as EmbeddingRuntime;
});
afterAll(async () => {
  await session?.release();
});

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);

describe('word2vec family', () => {
  it('the ONNX embedding model returns the trained, unit-length vectors', async () => {
    const v = trained.vectors;
    expect(v.words.length).toBe(800);
    expect(v.words[0]).toBe('the');
    const out = await session.run({ input_ids: tensorFrom('int64', [3], [0, 5, 799]) });
    expect(out.embeddings.dims).toEqual([3, 24]);
    const e = out.embeddings.data as Float32Array;
    expect(Array.from(e.subarray(24, 48))).toEqual(Array.from(v.vectors.subarray(5 * 24, 6 * 24)));
    expect(Math.hypot(...e.subarray(0, 24))).toBeCloseTo(1, 5);
    // Training moved the loss below its start, log(2)·(1 + 5 negatives) ≈ 4.16 nats.
    expect(v.loss).toBeLessThan(4.0);
  });

  it('a sentence vector is the L2-normalised mean of its known words', async () => {
    const [s, w, empty] = await runtime.embed(['The whale and the SEA!', 'whale', 'qwzx']);
    expect(s.length).toBe(24);
    const v = trained.vectors;
    const row = (word: string) =>
      v.vectors.subarray(v.words.indexOf(word) * 24, (v.words.indexOf(word) + 1) * 24);
    const mean = new Float32Array(24);
    for (const word of ['the', 'whale', 'and', 'the', 'sea'])
      row(word).forEach((x, k) => {
        mean[k] += x;
      });
    const n = Math.hypot(...mean);
    s.forEach((x, k) => {
      expect(x).toBeCloseTo(mean[k] / n, 5);
    });
    expect(dot(w, row('whale'))).toBeCloseTo(1, 5);
    expect(Array.from(empty)).toEqual(new Array(24).fill(0));
    // …and the runtime says which texts got it, so the answer can warn instead of staying silent.
    expect(runtime.textsWithoutKnownTokens?.(['The whale and the SEA!', 'whale', 'qwzx', ''])).toEqual([
      2, 3,
    ]);
    expect(runtime.countTokens("Ahab's whale")).toBe(2);
  });

  it('neighbours rank the vocabulary by cosine, the word itself excluded', async () => {
    const got = await runtime.neighbours!('whale', 5);
    const want = nearestWords(trained.vectors, 'whale', 5);
    expect(got.map((g) => g.item)).toEqual(want.map((w) => w.item));
    got.forEach((g, i) => {
      expect(g.score).toBeCloseTo(want[i].score, 5);
    });
    expect(got.map((g) => g.item)).not.toContain('whale');
    for (let i = 1; i < got.length; i++) expect(got[i].score).toBeLessThanOrEqual(got[i - 1].score);
    await expect(runtime.neighbours!('whale', 0)).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
