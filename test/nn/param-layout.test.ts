/** The `separate` parameter layout (one input per parameter, SGD folded into the gradient GEMMs)
 * must train exactly as the `packed` one: same losses, parameters, optimizer state, checkpoints. */
import { describe, expect, it } from 'vitest';
import { ancestors } from '../../src/engine/autodiff';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { compileTrainStep } from '../../src/engine/train/compile';
import {
  buildTrainGraph,
  chooseParamLayout,
  type ModelSpec,
  packLayout,
} from '../../src/engine/train/graphs';
import type { Optimizer } from '../../src/engine/train/optimizer';
import * as nn from '../../src/nn/index';

function mlpSpec(seed: number, inputs = 6, hidden = 16): ModelSpec {
  const rng = new nn.Rng(seed);
  const mlp = nn.sequential(nn.linear(rng, inputs, hidden), nn.relu(), nn.linear(rng, hidden, 3));
  return {
    params: mlp.params,
    batch: { x: { dtype: 'float32', shape: [8, inputs] }, y: { dtype: 'int64', shape: [8] } },
    forward: (b) => ({ logits: mlp(b.x) }),
    loss: (p, b) => nn.crossEntropy(p.logits, b.y),
    metrics: (p, b) => ({ accuracy: nn.accuracy(p.logits, b.y) }),
  };
}

function data(seed: number, inputs = 6) {
  const r = new nn.Rng(seed);
  return {
    x: tensorFrom(
      'float32',
      [8, inputs],
      Array.from({ length: 8 * inputs }, () => r.uniform(-1, 1)),
    ),
    y: tensorFrom(
      'int64',
      [8],
      Array.from({ length: 8 }, () => r.int(3)),
    ),
  };
}

async function trainBoth(optimizer: () => Optimizer) {
  const make = (paramLayout: 'packed' | 'separate') =>
    compileTrainStep({ model: mlpSpec(3), optimizer: optimizer(), dtype: 'float64', paramLayout });
  const packed = await make('packed');
  const separate = await make('separate');
  expect([packed.paramLayout, separate.paramLayout]).toEqual(['packed', 'separate']);
  const losses: [number, number][] = [];
  for (let i = 0; i < 5; i++) {
    // One batch every step, so the loss must fall.
    const a = await packed.step(data(0), 0.1);
    const b = await separate.step(data(0), 0.1);
    losses.push([a.loss, b.loss]);
  }
  return { packed, separate, losses };
}

describe('parameter layouts', () => {
  for (const [name, optimizer] of [
    ['sgd (fused into the GEMMs)', () => nn.sgd()],
    ['sgd momentum', () => nn.sgd({ momentum: 0.9 })],
    ['adam', () => nn.adam()],
  ] as const) {
    it(`separate trains as packed: ${name}`, async () => {
      const { packed, separate, losses } = await trainBoth(optimizer);
      for (const [a, b] of losses) expect(b).toBeCloseTo(a, 12);
      expect(losses[4][0]).toBeLessThan(losses[0][0]);
      const sa = packed.state();
      const sb = separate.state();
      Array.from(sb.params).forEach((v, i) => {
        expect(v).toBeCloseTo(sa.params[i], 12);
      });
      for (const s of Object.keys(sa.optimizer)) {
        Array.from(sb.optimizer[s]).forEach((v, i) => {
          expect(v).toBeCloseTo(sa.optimizer[s][i], 12);
        });
      }
      const ea = await packed.evaluate(data(9));
      const eb = await separate.evaluate(data(9));
      expect(eb.loss).toBeCloseTo(ea.loss, 12);
      for (const t of [packed, separate]) await t.release();
    });
  }

  it('a separate-layout checkpoint loads into a packed trainer and back', async () => {
    const { packed, separate } = await trainBoth(() => nn.adam());
    const fresh = await compileTrainStep({
      model: mlpSpec(3),
      optimizer: nn.adam(),
      dtype: 'float64',
      paramLayout: 'packed',
    });
    fresh.load(separate.state());
    separate.load(packed.state());
    const a = await fresh.step(data(11), 0.1);
    const b = await separate.step(data(11), 0.1);
    const c = await packed.step(data(11), 0.1);
    expect(b.loss).toBeCloseTo(c.loss, 12);
    expect(a.loss).toBeCloseTo(c.loss, 6);
    expect(() => separate.load({ ...packed.state(), params: new Float64Array(2) })).toThrow(/checkpoint/);
    for (const t of [packed, separate, fresh]) await t.release();
  });

  it('plain SGD on dense layers: no Split or Concat, and the update inside the gradient GEMMs', () => {
    const spec = mlpSpec(1);
    const layout = packLayout(spec.params);
    // What the emitted graph holds: the nodes the outputs depend on.
    const count = (mode: 'packed' | 'separate') => {
      const g = buildTrainGraph(spec, nn.sgd(), layout, 'float32', mode).graph;
      const nodes = ancestors(g.outputs.map((o) => o.value));
      const n = (op: string) => nodes.filter((node) => node.op === op).length;
      return {
        Split: n('Split'),
        Concat: n('Concat'),
        Sub: n('Sub'),
        ReduceSum: n('ReduceSum'),
        Gemm: n('Gemm'),
      };
    };
    const packed = count('packed');
    const separate = count('separate');
    expect(packed.Split + packed.Concat).toBe(2);
    expect(separate.Split + separate.Concat).toBe(0);
    // The packed update's Sub and the two bias ReduceSums are gone; two bias GEMMs replace them.
    expect(separate.Sub).toBe(packed.Sub - 1);
    expect(separate.ReduceSum).toBe(packed.ReduceSum - 2);
    expect(separate.Gemm).toBe(packed.Gemm + 2);
  });

  it('chooses separate only for large tensors and an elementwise optimizer', () => {
    const big = packLayout(mlpSpec(1, 784, 256).params);
    const small = packLayout(mlpSpec(1).params);
    expect(chooseParamLayout(big, nn.sgd())).toBe('separate');
    expect(chooseParamLayout(big, nn.adam())).toBe('separate');
    expect(chooseParamLayout(big, nn.sgd({ clipGradNorm: 1 }))).toBe('packed');
    expect(chooseParamLayout(small, nn.sgd())).toBe('packed');
  });
});
