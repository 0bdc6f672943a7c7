/**
 * Ops that exported models use as single nodes where maas's own layers compose primitives:
 * BatchNormalization (inference form: running statistics as inputs), LayerNormalization (opset
 * 17), Flatten and GlobalAveragePool. They are emitted as the same ONNX node (so an imported graph
 * exports as it came in) and differentiated by composing registered ops.
 */
import type { Dim, GradContext, OpSpec, Shape, Value } from '../ir/types';
import { check, emitSame, normAxis, numAttr, onnx, product, staticDim } from './util';

/** The product of a group of dims: a number, or the symbols joined as Reshape names them. */
function groupDim(dims: Shape): Dim {
  const symbols = dims.filter((d): d is string => typeof d === 'string');
  const k = product(dims.filter((d): d is number => typeof d === 'number'));
  if (symbols.length === 0) return k;
  return k === 1 ? symbols.join('*') : `${symbols.join('*')}*${k}`;
}

const allBut = (rank: number, keep: number) => [...Array(rank).keys()].filter((a) => a !== keep);
const reshapeTo = (v: Value, like: Value) => v.graph.op('Reshape', [v], { shape: like.shape.map(staticDim) });

/** A per-channel [C] vector viewed as [C, 1, …] so it broadcasts over NC… (channel axis 1). */
const channelView = (v: Value, rank: number) =>
  v.graph.op('Reshape', [v], { shape: [staticDim(v.shape[0]), ...Array(rank - 2).fill(1)] });

function batchNormGrad(c: GradContext): (Value | null)[] {
  const g = c.g;
  const [x, scale, , mean, variance] = c.inputs;
  const dy = c.dOutputs[0]!;
  const rank = x.shape.length;
  const eps = g.scalar(numAttr(c.attrs, 'epsilon', 1e-5), x.dtype);
  const inv = g.op('Div', [g.scalar(1, x.dtype), g.op('Sqrt', [g.op('Add', [variance, eps])])]);
  const axes = allBut(rank, 1);
  const sum = (v: Value) => g.op('ReduceSum', [v], { axes, keepdims: false });
  const centred = () => g.op('Sub', [x, channelView(mean, rank)]);
  const sumDy = c.needs[2] || c.needs[3] ? sum(dy) : null;
  const scaleInv = g.op('Mul', [scale, inv]);
  return [
    c.needs[0] ? g.op('Mul', [dy, channelView(scaleInv, rank)]) : null,
    c.needs[1] ? sum(g.op('Mul', [dy, g.op('Mul', [centred(), channelView(inv, rank)])])) : null,
    sumDy,
    c.needs[3] ? g.op('Neg', [g.op('Mul', [sumDy!, scaleInv])]) : null,
    // dVar = Σ dy·(x − mean) · scale · (−½)·inv³
    c.needs[4]
      ? g.op('Mul', [
          g.op('Mul', [sum(g.op('Mul', [dy, centred()])), scale]),
          g.op('Mul', [g.op('Mul', [inv, g.op('Mul', [inv, inv])]), g.scalar(-0.5, x.dtype)]),
        ])
      : null,
  ];
}

function layerNormGrad(c: GradContext): (Value | null)[] {
  const g = c.g;
  const [x, scale, bias] = c.inputs;
  const dy = c.dOutputs[0]!;
  const rank = x.shape.length;
  const axis = normAxis(numAttr(c.attrs, 'axis', -1), rank);
  const normAxes = [...Array(rank).keys()].slice(axis);
  const leadAxes = [...Array(axis).keys()];
  const mean = (v: Value) => g.op('ReduceMean', [v], { axes: normAxes, keepdims: true });
  const eps = g.scalar(numAttr(c.attrs, 'epsilon', 1e-5), x.dtype);
  const centred = g.op('Sub', [x, mean(x)]);
  const inv = g.op('Div', [
    g.scalar(1, x.dtype),
    g.op('Sqrt', [g.op('Add', [mean(g.op('Mul', [centred, centred])), eps])]),
  ]);
  const xhat = g.op('Mul', [centred, inv]);
  const sumLead = (v: Value) =>
    leadAxes.length ? g.op('ReduceSum', [v], { axes: leadAxes, keepdims: false }) : v;
  let dx: Value | null = null;
  if (c.needs[0]) {
    // dx = inv · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)), dx̂ = dy · scale
    const dxhat = g.op('Mul', [dy, scale]);
    const inner = g.op('Sub', [
      g.op('Sub', [dxhat, mean(dxhat)]),
      g.op('Mul', [xhat, mean(g.op('Mul', [dxhat, xhat]))]),
    ]);
    dx = g.op('Mul', [inv, inner]);
  }
  return [dx, c.needs[1] ? sumLead(g.op('Mul', [dy, xhat])) : null, bias && c.needs[2] ? sumLead(dy) : null];
}

export const normOps: OpSpec[] = [
  {
    name: 'BatchNormalization',
    infer([x, ...stats], a) {
      check(x.shape.length >= 2, 'BatchNormalization: input needs a channel axis (N, C, …)');
      check(!numAttr(a, 'training_mode', 0), 'BatchNormalization: only the inference form is supported');
      for (const s of stats)
        check(
          s.shape.length === 1 && s.shape[0] === x.shape[1] && s.dtype === x.dtype,
          `BatchNormalization: scale, bias, mean and var must be [${x.shape[1]}] ${x.dtype}`,
        );
      check(stats.length === 4, 'BatchNormalization: takes X, scale, B, mean, var');
      return [{ dtype: x.dtype, shape: x.shape }];
    },
    emit: (ctx, inputs, [y], a) =>
      ctx.node('BatchNormalization', inputs, [y], { epsilon: onnx.float(numAttr(a, 'epsilon', 1e-5)) }),
    grad: batchNormGrad,
  },
  {
    name: 'LayerNormalization',
    infer([x, scale, bias], a) {
      const axis = normAxis(numAttr(a, 'axis', -1), x.shape.length);
      const normShape = x.shape.slice(axis);
      for (const p of bias ? [scale, bias] : [scale])
        check(
          p.shape.length === normShape.length && p.shape.every((d, i) => d === normShape[i]),
          `LayerNormalization: scale and bias must be [${normShape}], got [${p.shape}]`,
        );
      return [{ dtype: x.dtype, shape: x.shape }];
    },
    emit: (ctx, inputs, [y], a) =>
      ctx.node('LayerNormalization', inputs, [y], {
        axis: onnx.int(numAttr(a, 'axis', -1)),
        epsilon: onnx.float(numAttr(a, 'epsilon', 1e-5)),
      }),
    grad: layerNormGrad,
  },
  {
    name: 'Flatten',
    infer([x], a) {
      const axis = numAttr(a, 'axis', 1);
      const at = axis < 0 ? axis + x.shape.length : axis;
      check(at >= 0 && at <= x.shape.length, `Flatten: axis ${axis} out of range for rank ${x.shape.length}`);
      return [{ dtype: x.dtype, shape: [groupDim(x.shape.slice(0, at)), groupDim(x.shape.slice(at))] }];
    },
    emit: emitSame('Flatten', (a) => ({ axis: onnx.int(numAttr(a, 'axis', 1)) })),
    grad: (c) => [reshapeTo(c.dOutputs[0]!, c.inputs[0])],
  },
  {
    name: 'GlobalAveragePool',
    infer([x]) {
      check(x.shape.length >= 3, 'GlobalAveragePool: input must be N, C, spatial…');
      return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)] }];
    },
    emit: emitSame('GlobalAveragePool'),
    grad(c) {
      const x = c.inputs[0];
      const count = product(x.shape.slice(2).map(staticDim));
      const scaled = c.g.op('Mul', [c.dOutputs[0]!, c.g.scalar(1 / count, x.dtype)]);
      return [c.g.op('Expand', [scaled], { shape: x.shape.map(staticDim) })];
    },
  },
];
