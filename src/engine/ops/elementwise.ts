/** Elementwise arithmetic with numpy broadcasting; gradients are summed back over broadcast axes. */

import type { EmitContext, GradContext, OpSpec, Value, ValueInfo } from '../ir/types';
import { onnxDataType } from '../onnx/dtypes';
import type { TensorDType } from '../runtime/tensor';
import { broadcastShapes, check, emitSame, onnx, sameDType, unbroadcast } from './util';

function binary(
  name: string,
  grad: (c: GradContext, a: Value, b: Value, dy: Value) => [Value | null, Value | null],
): OpSpec {
  return {
    name,
    infer(inputs) {
      check(inputs.length === 2, `${name} takes 2 inputs`);
      return [
        { dtype: sameDType(name, inputs), shape: broadcastShapes(name, inputs[0].shape, inputs[1].shape) },
      ];
    },
    emit: emitSame(name),
    grad(c) {
      const [a, b] = c.inputs;
      const dy = c.dOutputs[0]!;
      const [da, db] = grad(c, a, b, dy);
      return [da && unbroadcast(da, a.shape), db && unbroadcast(db, b.shape)];
    },
  };
}

export function unary(name: string, grad: (c: GradContext, x: Value, y: Value, dy: Value) => Value): OpSpec {
  return {
    name,
    infer(inputs: readonly ValueInfo[]) {
      check(inputs.length === 1, `${name} takes 1 input`);
      return [{ dtype: inputs[0].dtype, shape: inputs[0].shape }];
    },
    emit: emitSame(name),
    grad: (c) => [grad(c, c.inputs[0], c.outputs[0], c.dOutputs[0]!)],
  };
}

const one = (v: Value) => v.graph.scalar(1, v.dtype);

export const elementwiseOps: OpSpec[] = [
  binary('Add', (c, _a, _b, dy) => [c.needs[0] ? dy : null, c.needs[1] ? dy : null]),
  binary('Sub', (c, _a, _b, dy) => [c.needs[0] ? dy : null, c.needs[1] ? c.g.op('Neg', [dy]) : null]),
  binary('Mul', (c, a, b, dy) => [
    c.needs[0] ? c.g.op('Mul', [dy, b]) : null,
    c.needs[1] ? c.g.op('Mul', [dy, a]) : null,
  ]),
  binary('Div', (c, _a, b, dy) => {
    const g = c.g;
    const da = c.needs[0] || c.needs[1] ? g.op('Div', [dy, b]) : null;
    // d(a/b)/db = -a/b² = -(dy/b)·(a/b) = -da·y
    return [c.needs[0] ? da : null, c.needs[1] ? g.op('Neg', [g.op('Mul', [da!, c.outputs[0]])]) : null];
  }),
  binary('Pow', (c, a, b, dy) => {
    const g = c.g;
    const y = c.outputs[0];
    const da = c.needs[0]
      ? g.op('Mul', [dy, g.op('Mul', [b, g.op('Pow', [a, g.op('Sub', [b, one(b)])])])])
      : null;
    const db = c.needs[1] ? g.op('Mul', [dy, g.op('Mul', [y, g.op('Log', [a])])]) : null;
    return [da, db];
  }),
  unary('Neg', (c, _x, _y, dy) => c.g.op('Neg', [dy])),
  unary('Exp', (c, _x, y, dy) => c.g.op('Mul', [dy, y])),
  unary('Log', (c, x, _y, dy) => c.g.op('Div', [dy, x])),
  unary('Sqrt', (c, _x, y, dy) => c.g.op('Div', [dy, c.g.op('Mul', [y, c.g.scalar(2, y.dtype)])])),
  unary('Abs', (c, x, _y, dy) => c.g.op('Mul', [dy, c.g.op('Sign', [x])])),
  // Periodic activations (CPPN art, positional features): d sin = cos, d cos = −sin.
  unary('Sin', (c, x, _y, dy) => c.g.op('Mul', [dy, c.g.op('Cos', [x])])),
  unary('Cos', (c, x, _y, dy) => c.g.op('Neg', [c.g.op('Mul', [dy, c.g.op('Sin', [x])])])),
  {
    name: 'Sign',
    infer: (inputs) => [{ dtype: inputs[0].dtype, shape: inputs[0].shape }],
    emit: emitSame('Sign'),
    grad: (c) => [c.g.op('Mul', [c.dOutputs[0]!, c.g.scalar(0, c.inputs[0].dtype)])],
  },
  {
    ...unary('Erf', (c, x, _y, dy) => {
      // d erf(x)/dx = 2/√π · exp(−x²)
      const g = c.g;
      const e = g.op('Exp', [g.op('Neg', [g.op('Mul', [x, x])])]);
      return g.op('Mul', [dy, g.op('Mul', [e, g.scalar(2 / Math.sqrt(Math.PI), x.dtype)])]);
    }),
    emit: (ctx, [x], [y], _a, n) => emitErf(ctx, x, y, n.inputs[0].dtype),
  },
];

/** ORT has no float64 Erf kernel: float64 goes through float32 (≈ 1e-7 relative error). */
export function emitErf(ctx: EmitContext, x: string, y: string, dtype: TensorDType): void {
  if (dtype !== 'float64') {
    ctx.node('Erf', [x], [y]);
    return;
  }
  const x32 = ctx.fresh('erf');
  const y32 = ctx.fresh('erf');
  ctx.node('Cast', [x], [x32], { to: onnx.int(onnxDataType.float32) });
  ctx.node('Erf', [x32], [y32]);
  ctx.node('Cast', [y32], [y], { to: onnx.int(onnxDataType.float64) });
}
