/** Activations, softmax family, Clip and Dropout. */

import type { OpSpec } from '../ir/types';
import { tensorFrom } from '../runtime/tensor';
import { emitErf, unary } from './elementwise';
import { check, emitSame, normAxis, numAttr, onnx } from './util';

function softmaxLike(name: 'Softmax' | 'LogSoftmax'): OpSpec {
  return {
    name,
    infer(inputs, attrs) {
      normAxis(numAttr(attrs, 'axis', -1), inputs[0].shape.length);
      return [{ dtype: inputs[0].dtype, shape: inputs[0].shape }];
    },
    emit: emitSame(name, (a) => ({ axis: onnx.int(numAttr(a, 'axis', -1)) })),
    grad(c) {
      const g = c.g;
      const y = c.outputs[0];
      const dy = c.dOutputs[0]!;
      const axes = [numAttr(c.attrs, 'axis', -1)];
      if (name === 'Softmax') {
        // dx = y ⊙ (dy − Σ(dy ⊙ y))
        const s = g.op('ReduceSum', [g.op('Mul', [dy, y])], { axes, keepdims: true });
        return [g.op('Mul', [y, g.op('Sub', [dy, s])])];
      }
      // dx = dy − exp(y) ⊙ Σ dy
      const s = g.op('ReduceSum', [dy], { axes, keepdims: true });
      return [g.op('Sub', [dy, g.op('Mul', [g.op('Exp', [y]), s])])];
    },
  };
}

export const activationOps: OpSpec[] = [
  unary('Relu', (c, _x, y, dy) => {
    const g = c.g;
    return g.op('Where', [g.op('Greater', [y, g.scalar(0, y.dtype)]), dy, g.scalar(0, y.dtype)]);
  }),
  {
    ...unary('LeakyRelu', (c, x, _y, dy) => {
      const g = c.g;
      const alpha = g.scalar(numAttr(c.attrs, 'alpha', 0.01), x.dtype);
      return g.op('Where', [g.op('Greater', [x, g.scalar(0, x.dtype)]), dy, g.op('Mul', [dy, alpha])]);
    }),
    emit: emitSame('LeakyRelu', (a) => ({ alpha: onnx.float(numAttr(a, 'alpha', 0.01)) })),
  },
  unary('Sigmoid', (c, _x, y, dy) => {
    const g = c.g;
    return g.op('Mul', [dy, g.op('Mul', [y, g.op('Sub', [g.scalar(1, y.dtype), y])])]);
  }),
  unary('Tanh', (c, _x, y, dy) => {
    const g = c.g;
    return g.op('Mul', [dy, g.op('Sub', [g.scalar(1, y.dtype), g.op('Mul', [y, y])])]);
  }),
  {
    // Exact (erf) GELU; ONNX has no Gelu before opset 20, so it is emitted as x·½(1 + erf(x/√2)).
    ...unary('Gelu', (c, x, _y, dy) => {
      const g = c.g;
      const t = x.dtype;
      const cdf = g.op('Mul', [
        g.scalar(0.5, t),
        g.op('Add', [g.scalar(1, t), g.op('Erf', [g.op('Mul', [x, g.scalar(Math.SQRT1_2, t)])])]),
      ]);
      const pdf = g.op('Mul', [
        g.op('Exp', [g.op('Mul', [g.op('Mul', [x, x]), g.scalar(-0.5, t)])]),
        g.scalar(1 / Math.sqrt(2 * Math.PI), t),
      ]);
      return g.op('Mul', [dy, g.op('Add', [cdf, g.op('Mul', [x, pdf])])]);
    }),
    emit(ctx, [x], [y], _a, n) {
      const dtype = n.inputs[0].dtype;
      const s = ctx.fresh('gelu');
      const half = ctx.fresh('gelu');
      ctx.node('Div', [x, ctx.constant(tensorFrom(dtype, [], [Math.SQRT2]))], [s]);
      const e = ctx.fresh('gelu');
      emitErf(ctx, s, e, dtype);
      const p = ctx.fresh('gelu');
      ctx.node('Add', [e, ctx.constant(tensorFrom(dtype, [], [1]))], [p]);
      ctx.node('Mul', [x, p], [half]);
      ctx.node('Mul', [half, ctx.constant(tensorFrom(dtype, [], [0.5]))], [y]);
    },
  },
  softmaxLike('Softmax'),
  softmaxLike('LogSoftmax'),
  {
    name: 'Clip',
    infer: (inputs) => [{ dtype: inputs[0].dtype, shape: inputs[0].shape }],
    emit(ctx, [x], [y], a, n) {
      // opset ≥ 11 takes min/max as inputs of x's dtype; the IR keeps them as attributes.
      const dtype = n.inputs[0].dtype;
      const lo = a.min === undefined ? '' : ctx.constant(tensorFrom(dtype, [], [numAttr(a, 'min')]));
      const hi = a.max === undefined ? '' : ctx.constant(tensorFrom(dtype, [], [numAttr(a, 'max')]));
      ctx.node('Clip', hi ? [x, lo, hi] : lo ? [x, lo] : [x], [y]);
    },
    grad(c) {
      // Gradient 1 inside [min, max] including the bounds (as PyTorch's clamp), 0 outside.
      const g = c.g;
      const inside = g.op('Equal', [c.outputs[0], c.inputs[0]]);
      return [g.op('Where', [inside, c.dOutputs[0]!, g.scalar(0, c.inputs[0].dtype)])];
    },
  },
  {
    // Training-mode dropout, seeded; each run draws a new mask (same sequence for the same seed).
    name: 'Dropout',
    random: true,
    infer(inputs, attrs) {
      const r = numAttr(attrs, 'ratio', 0.5);
      check(r >= 0 && r < 1, `Dropout ratio must be in [0, 1), got ${r}`);
      return [
        { dtype: inputs[0].dtype, shape: inputs[0].shape },
        { dtype: 'bool', shape: inputs[0].shape },
      ];
    },
    emit(ctx, [x], outputs, a, n) {
      const dtype = n.inputs[0].dtype;
      const ratio = ctx.constant(tensorFrom(dtype, [], [numAttr(a, 'ratio', 0.5)]));
      const training = ctx.constant(tensorFrom('bool', [], [1]));
      const mask = outputs[1] || ctx.fresh('dropout_mask');
      ctx.node('Dropout', [x, ratio, training], [outputs[0], mask], {
        seed: onnx.int(numAttr(a, 'seed', 0)),
      });
    },
    grad(c) {
      const g = c.g;
      const t = c.inputs[0].dtype;
      const scale = g.scalar(1 / (1 - numAttr(c.attrs, 'ratio', 0.5)), t);
      const kept = g.op('Cast', [c.outputs[1]], { to: t });
      return [g.op('Mul', [c.dOutputs[0]!, g.op('Mul', [kept, scale])])];
    },
  },
];
