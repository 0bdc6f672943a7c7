import { describe, expect, it } from 'vitest';
import { loadDigits, trainMnistMlp } from '../../examples/mnist';
import { trainXor } from '../../examples/xor';
import type { Value } from '../../src/engine/ir/types';
import { EngineSession } from '../../src/engine/runtime/session';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { compileTrainStep } from '../../src/engine/train/compile';
import type { ModelSpec } from '../../src/engine/train/graphs';
import * as nn from '../../src/nn/index';

function mlpSpec(seed: number, batch = 8, dropout = 0.2): ModelSpec {
  const rng = new nn.Rng(seed);
  const mlp = nn.sequential(
    nn.linear(rng, 6, 16),
    nn.gelu(),
    nn.dropout(rng, dropout),
    nn.linear(rng, 16, 3),
  );
  return {
    params: mlp.params,
    batch: { x: { dtype: 'float32', shape: [batch, 6] }, y: { dtype: 'int64', shape: [batch] } },
    forward: (b) => ({ logits: mlp(b.x) }),
    loss: (p, b) => nn.crossEntropy(p.logits, b.y, { labelSmoothing: 0.1 }),
    metrics: (p, b): Record<string, Value> => ({ accuracy: nn.accuracy(p.logits, b.y) }),
  };
}

function data(n: number, seed: number) {
  const r = new nn.Rng(seed);
  return {
    x: tensorFrom(
      'float32',
      [n, 6],
      Array.from({ length: n * 6 }, () => r.uniform(-1, 1)),
    ),
    y: tensorFrom(
      'int64',
      [n],
      Array.from({ length: n }, () => r.int(3)),
    ),
  };
}

describe('train step', () => {
  it('learns XOR to 100%', async () => {
    const r = await trainXor(1, 300);
    expect(r.accuracy).toBe(1);
    expect(r.table.map((row) => row[2])).toEqual([0, 1, 1, 0]);
  });

  it('same seed gives the same first-step loss; another seed does not', async () => {
    const first = async (seed: number) => {
      const t = await compileTrainStep({ model: mlpSpec(seed), optimizer: nn.sgd({ momentum: 0.9 }) });
      const r = await t.step(data(8, 3), 0.1);
      await t.release();
      return r.loss;
    };
    const [a, b, c] = [await first(5), await first(5), await first(6)];
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('exported inference graph equals the eval forward, at another batch size', async () => {
    const spec = mlpSpec(2);
    const t = await compileTrainStep({ model: spec, optimizer: nn.adamW({ clipGradNorm: 1 }) });
    for (let i = 0; i < 5; i++) {
      const r = await t.step(data(8, i), 1e-2);
      expect(r.metrics.grad_norm).toBeGreaterThan(0);
    }
    const batch = data(5, 99);
    const evaluated = await t.evaluate(batch);
    const session = await EngineSession.create(t.exportInference());
    expect(session.inputs.map((s) => [s.name, s.shape])).toEqual([['x', ['batch', 6]]]);
    const out = await session.run({ x: batch.x });
    const a = Array.from(out.logits.data as Float32Array);
    const b = Array.from(evaluated.predictions.logits.data as Float32Array);
    expect(a.length).toBe(15);
    a.forEach((v, i) => {
      expect(v).toBeCloseTo(b[i], 5);
    });
    await session.release();
    await t.release();
  });

  it('a checkpoint restores training exactly', async () => {
    // No dropout here: its random stream lives in the ORT session, not in the checkpoint.
    const make = () => compileTrainStep({ model: mlpSpec(4, 8, 0), optimizer: nn.adam(), dtype: 'float64' });
    const a = await make();
    for (let i = 0; i < 3; i++) await a.step(data(8, i), 1e-2);
    const saved = a.state();
    expect(saved.step).toBe(3);
    const b = await make();
    b.load(saved);
    // The loss a step reports is the loss at the parameters before its update (= evaluate's).
    const before = await a.evaluate(data(8, 7));
    const ra = await a.step(data(8, 7), 1e-2);
    expect(ra.loss).toBeCloseTo(before.loss, 12);
    const rb = await b.step(data(8, 7), 1e-2);
    expect(rb.loss).toBe(ra.loss);
    expect(Array.from(b.state().params)).toEqual(Array.from(a.state().params));
    expect(Array.from(b.state().optimizer.v)).toEqual(Array.from(a.state().optimizer.v));
    expect(() => b.load({ ...saved, params: new Float64Array(3) })).toThrow(/checkpoint/);
    for (const t of [a, b]) await t.release();
  });

  it('an MLP on 4,000 MNIST digits beats chance by far', async () => {
    const r = await trainMnistMlp({ train: loadDigits(0, 400), test: loadDigits(900, 1000), epochs: 2 });
    expect(r.testAccuracy).toBeGreaterThan(0.85);
  });
});
