import { describe, expect, it } from 'vitest';
import { gradients } from '../../src/engine/autodiff';
import { Graph } from '../../src/engine/ir/graph';
import { encodeModel } from '../../src/engine/onnx/encode';
import { EngineSession } from '../../src/engine/runtime/session';
import { tensorFrom, toNumbers } from '../../src/engine/runtime/tensor';

describe('autodiff', () => {
  it('sums gradients where a value fans out: d/dx Σ(x·x + exp(x)) = 2x + eˣ', async () => {
    const g = new Graph();
    const x = g.input('x', 'float64', [3]);
    const loss = g.op('ReduceSum', [g.op('Add', [g.op('Mul', [x, x]), g.op('Exp', [x])])], {
      keepdims: false,
    });
    const [dx] = gradients(g, loss, [x]);
    g.output('dx', dx!);
    const s = await EngineSession.create(encodeModel(g));
    const xs = [0.5, -1, 2];
    const out = toNumbers((await s.run({ x: tensorFrom('float64', [3], xs) })).dx);
    await s.release();
    out.forEach((v, i) => {
      expect(v).toBeCloseTo(2 * xs[i] + Math.exp(xs[i]), 12);
    });
  });

  it('does no gradient work for values that do not need it', () => {
    const build = () => {
      const g = new Graph();
      const x = g.input('x', 'float32', [4]);
      const c = g.input('c', 'float32', [4]);
      const z = g.op('Tanh', [g.op('Exp', [g.op('Sigmoid', [c])])]);
      const loss = g.op('ReduceSum', [g.op('Mul', [x, z])], { keepdims: false });
      return { g, x, c, loss };
    };
    const a = build();
    const before = a.g.nodes.length;
    gradients(a.g, a.loss, [a.x]);
    const onlyX = a.g.nodes.length - before;
    const b = build();
    gradients(b.g, b.loss, [b.x, b.c]);
    const both = b.g.nodes.length - before;
    // dx = expand(1)·z: a couple of nodes; dc walks back through Tanh, Exp and Sigmoid too.
    expect(onlyX).toBeLessThanOrEqual(3);
    expect(both).toBeGreaterThan(onlyX + 5);
    expect(gradients(a.g, a.loss, [a.g.input('unused', 'float32', [2])])).toEqual([null]);
  });

  it('stops at integer values (ArgMax → Cast passes no gradient)', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 3]);
    const idx = g.op('ArgMax', [x], { axis: 1 });
    const loss = g.op('ReduceSum', [g.op('Cast', [idx], { to: 'float32' })], { keepdims: false });
    expect(gradients(g, loss, [x])).toEqual([null]);
  });
});
