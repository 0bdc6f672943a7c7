/** The `separate` parameter layout (one input per parameter, SGD folded into the gradient GEMMs)
 * must train exactly as the `packed` one: same losses, parameters, optimizer state, checkpoints. */
import { describe, expect, it } from 'vitest';
import { ancestors } from '../../src/engine/autodiff';
import type { Value } from '../../src/engine/ir/types';
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

  it('plain SGD (backward seeded with lr, fused cross-entropy) trains as the textbook step', async () => {
    // Reference: p − lr·g with an unscaled backward, and the loss built from its parts.
    const textbook: Optimizer = {
      name: 'textbook-sgd',
      stateNames: [],
      update: ({ g, params, grad, lr }) => ({
        params: g.op('Sub', [params, g.op('Mul', [grad, lr])]),
        state: {},
      }),
    };
    const partsLoss = (logits: Value, y: Value) => {
      const g = logits.graph;
      const logp = g.op('LogSoftmax', [logits], { axis: -1 });
      const picked = g.op('GatherElements', [logp, g.op('Unsqueeze', [y], { axes: [-1] })], { axis: -1 });
      return g.op('Neg', [g.op('ReduceMean', [picked], { keepdims: false })]);
    };
    for (const paramLayout of ['packed', 'separate'] as const) {
      const reference = await compileTrainStep({
        model: { ...mlpSpec(3), loss: (p, b) => partsLoss(p.logits, b.y) },
        optimizer: textbook,
        dtype: 'float64',
        paramLayout: 'packed',
      });
      const fused = await compileTrainStep({
        model: mlpSpec(3),
        optimizer: nn.sgd(),
        dtype: 'float64',
        paramLayout,
      });
      expect(fused.paramLayout).toBe(paramLayout);
      for (let i = 0; i < 4; i++) {
        const lr = 0.05 * (i + 1);
        const a = await reference.step(data(i), lr);
        const b = await fused.step(data(i), lr);
        expect(b.loss).toBeCloseTo(a.loss, 12);
      }
      const expected = reference.state().params;
      Array.from(fused.state().params).forEach((v, i) => {
        expect(v).toBeCloseTo(expected[i], 12);
      });
      // And the step did move the parameters (so matching means something).
      const initial = mlpSpec(3).params.flatMap((p) => Array.from(p.value.data as Float32Array));
      expect(expected.some((v, i) => Math.abs(v - initial[i]) > 1e-3)).toBe(true);
      for (const t of [reference, fused]) await t.release();
    }
  });

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
        Add: n('Add'),
        Sub: n('Sub'),
        Mul: n('Mul'),
        Neg: n('Neg'),
        ReduceSum: n('ReduceSum'),
        Gemm: n('Gemm'),
      };
    };
    const packed = count('packed');
    const separate = count('separate');
    expect(packed.Split + packed.Concat).toBe(2);
    expect(separate.Split + separate.Concat).toBe(0);
    // The packed update's Sub (p − grad) and the two bias ReduceSums are gone; two bias GEMMs
    // replace them.
    expect(separate.Sub).toBe(packed.Sub - 1);
    expect(separate.Add).toBe(packed.Add);
    expect(separate.ReduceSum).toBe(packed.ReduceSum - 2);
    expect(separate.Gemm).toBe(packed.Gemm + 2);
    // The backward is seeded with the lr input itself (no Neg; the GEMMs' α carries the sign): no
    // layer gradient or update is scaled on its own.
    expect(packed.Neg).toBe(0);
    expect(separate.Neg).toBe(0);
    expect(separate.Mul).toBe(packed.Mul);
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
