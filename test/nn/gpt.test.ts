import { describe, expect, it } from 'vitest';
import type { Value } from '../../src/engine/ir/types';
import { EngineSession } from '../../src/engine/runtime/session';
import { type Tensor, tensorFrom, zeros } from '../../src/engine/runtime/tensor';
import { compileTrainStep } from '../../src/engine/train/compile';
import * as nn from '../../src/nn/index';
import { layerGradcheck } from './layergrad';
import { charBatch, TEXT } from './text';

/** Arg-max over the last row of logits [1, S, V]. */
function lastArgmax(logits: Tensor): { token: number; row: Float32Array } {
  const [, s, v] = logits.dims;
  const row = (logits.data as Float32Array).subarray((s - 1) * v, s * v);
  let best = 0;
  for (let k = 1; k < v; k++) if (row[k] > row[best]) best = k;
  return { token: best, row };
}

describe('attention and transformer blocks', () => {
  it('self-attention gradients match finite differences, with a KV cache and a causal mask', async () => {
    const attn = nn.selfAttention(new nn.Rng(2), 4, 2, { init: nn.normal(0.5) });
    // 2 cached positions + 3 new ones; query i (absolute 2 + i) sees keys 0..2+i.
    const mask = [0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0];
    const r = await layerGradcheck(
      attn.params,
      {
        x: { shape: [2, 3, 4] },
        key: { shape: [2, 2, 2, 2] },
        value: { shape: [2, 2, 2, 2] },
        mask: { shape: [3, 5], dtype: 'bool', values: mask },
      },
      (v) => {
        const out = attn.attend(v.x, { mask: v.mask, past: { key: v.key, value: v.value } });
        const g = v.x.graph;
        // The present cache is an output too: its gradient path (k, v projections) is checked.
        const kv = g.op('ReduceSum', [g.op('Mul', [out.present.key, out.present.value])], {
          keepdims: false,
        });
        return g.op('Add', [out.output, kv]);
      },
    );
    expect(r.failures).toEqual([]);
    expect(r.checked).toBeGreaterThan(100);
    const plain = await layerGradcheck(attn.params, { x: { shape: [2, 3, 4] } }, (v) => attn(v.x));
    expect(plain.failures).toEqual([]);
  });

  it('transformer block gradients match finite differences', async () => {
    // tanh instead of GELU: ORT has no float64 Erf, and Gelu's own gradient is op-checked in float32.
    const block = nn.transformerBlock(new nn.Rng(4), 4, 2, {
      init: nn.normal(0.5),
      activation: (x: Value) => x.graph.op('Tanh', [x]),
      mlpRatio: 2,
    });
    const r = await layerGradcheck(block.params, { x: { shape: [2, 3, 4] } }, (v) => block(v.x));
    expect(r.failures).toEqual([]);
    expect(r.checked).toBeGreaterThan(150);
  });

  it('a GPT memorises a short text; KV-cache generation equals full re-runs', async () => {
    const { vocab, ids, batch } = charBatch(TEXT, 4, 50);
    const model = nn.gptModel({ vocab: vocab.length, context: 64, layers: 2, dim: 32, heads: 4, seed: 3 });
    const trainer = await compileTrainStep({
      model: nn.languageModelSpec(model, { batch: 4, seq: 50 }),
      optimizer: nn.adamW({ weightDecay: 0 }),
    });
    let loss = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 600 && loss > 0.03; i++) loss = (await trainer.step(batch, 3e-3)).loss;
    expect(loss).toBeLessThan(0.05);
    trainer.syncParameters();
    const full = await EngineSession.create(nn.exportGpt(model, { kvCache: false }));
    const cached = await EngineSession.create(nn.exportGpt(model));
    expect(full.inputs.map((s) => s.name)).toEqual(['input_ids']);
    expect(cached.inputs.map((s) => s.name)).toEqual([
      'input_ids',
      'past_key_0',
      'past_value_0',
      'past_key_1',
      'past_value_1',
    ]);
    expect(cached.outputs.map((s) => s.name)).toEqual([
      'logits',
      'present_key_0',
      'present_value_0',
      'present_key_1',
      'present_value_1',
    ]);

    // Causality: changing the last token leaves every earlier position's logits unchanged.
    const prompt = ids.slice(0, 8);
    const a = await full.run({ input_ids: tensorFrom('int64', [1, 8], prompt) });
    const b = await full.run({
      input_ids: tensorFrom('int64', [1, 8], [...prompt.slice(0, 7), (prompt[7] + 1) % 30]),
    });
    const V = vocab.length;
    expect(Array.from((a.logits.data as Float32Array).subarray(0, 7 * V))).toEqual(
      Array.from((b.logits.data as Float32Array).subarray(0, 7 * V)),
    );

    // Greedy generation: full re-runs vs. one token at a time with the cache (the prompt fills it first).
    const noCache = [...prompt];
    const withCache = [...prompt];
    let feeds: Record<string, Tensor> = { input_ids: tensorFrom('int64', [1, prompt.length], prompt) };
    for (let l = 0; l < 2; l++) {
      feeds[`past_key_${l}`] = zeros('float32', [1, 4, 0, 8]);
      feeds[`past_value_${l}`] = zeros('float32', [1, 4, 0, 8]);
    }
    let maxErr = 0;
    for (let step = 0; step < 30; step++) {
      const r1 = lastArgmax(
        (await full.run({ input_ids: tensorFrom('int64', [1, noCache.length], noCache) })).logits,
      );
      noCache.push(r1.token);
      const out = await cached.run(feeds);
      const r2 = lastArgmax(out.logits);
      withCache.push(r2.token);
      r1.row.forEach((v, k) => {
        maxErr = Math.max(maxErr, Math.abs(v - r2.row[k]));
      });
      feeds = { input_ids: tensorFrom('int64', [1, 1], [r2.token]) };
      for (let l = 0; l < 2; l++) {
        feeds[`past_key_${l}`] = out[`present_key_${l}`];
        feeds[`past_value_${l}`] = out[`present_value_${l}`];
      }
    }
    expect(withCache).toEqual(noCache);
    expect(maxErr).toBeLessThan(1e-4);
    // The memorised text comes back from its first 8 characters.
    expect(noCache.map((t) => vocab[t]).join('')).toBe(TEXT.slice(0, 38));
    for (const s of [full, cached]) await s.release();
    await trainer.release();
  });
});
