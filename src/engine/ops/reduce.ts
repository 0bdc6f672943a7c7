/** Reductions over axes (keepdims or not) and ArgMax. */
import type { Attrs, OpSpec, Shape, Value, ValueInfo } from '../ir/types';
import { boolAttr, check, int64s, intsAttr, normAxis, numAttr, onnx, staticDim } from './util';

/** Axes normalised and sorted; an empty list means all axes. */
export function reduceAxes(shape: Shape, attrs: Attrs): number[] {
  const axes = intsAttr(attrs, 'axes', []);
  const all = axes.length === 0 ? [...shape.keys()] : axes.map((a) => normAxis(a, shape.length));
  return [...new Set(all)].sort((a, b) => a - b);
}

function reducedInfo(x: ValueInfo, attrs: Attrs): ValueInfo {
  const axes = reduceAxes(x.shape, attrs);
  const keep = boolAttr(attrs, 'keepdims', true);
  const shape = keep
    ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : x.shape.filter((_, i) => !axes.includes(i));
  return { dtype: x.dtype, shape };
}

/** dY reshaped so it broadcasts against X again (re-inserting reduced axes as 1). */
function keptGrad(x: Value, dy: Value, attrs: Attrs): Value {
  if (boolAttr(attrs, 'keepdims', true)) return dy;
  const axes = reduceAxes(x.shape, attrs);
  return dy.graph.op('Reshape', [dy], {
    shape: x.shape.map((d, i) => (axes.includes(i) ? 1 : staticDim(d))),
  });
}

function reduce(name: 'ReduceSum' | 'ReduceMean' | 'ReduceMax', grad: OpSpec['grad']): OpSpec {
  return {
    name,
    infer: (inputs, attrs) => [reducedInfo(inputs[0], attrs)],
    emit(ctx, [x], [y], a, n) {
      const axes = reduceAxes(n.inputs[0].shape, a);
      const keepdims = onnx.int(Number(boolAttr(a, 'keepdims', true)));
      // Opset 13+: ReduceSum takes axes as an input; ReduceMean/Max take an attribute until opset 18.
      if (name === 'ReduceSum') ctx.node(name, [x, ctx.constant(int64s(axes))], [y], { keepdims });
      else ctx.node(name, [x], [y], { axes: onnx.ints(axes), keepdims });
    },
    grad,
  };
}

export const reduceOps: OpSpec[] = [
  reduce('ReduceSum', (c) => {
    const x = c.inputs[0];
    return [c.g.op('Expand', [keptGrad(x, c.dOutputs[0]!, c.attrs)], { shape: x.shape.map(staticDim) })];
  }),
  reduce('ReduceMean', (c) => {
    const x = c.inputs[0];
    const count = reduceAxes(x.shape, c.attrs).reduce((n, a) => n * staticDim(x.shape[a]), 1);
    const scaled = c.g.op('Mul', [keptGrad(x, c.dOutputs[0]!, c.attrs), c.g.scalar(1 / count, x.dtype)]);
    return [c.g.op('Expand', [scaled], { shape: x.shape.map(staticDim) })];
  }),
  reduce('ReduceMax', (c) => {
    // The gradient is shared equally among tied maxima (as PyTorch's amax).
    const g = c.g;
    const x = c.inputs[0];
    const keepAttrs = { ...c.attrs, keepdims: true };
    const yk = boolAttr(c.attrs, 'keepdims', true) ? c.outputs[0] : keptGrad(x, c.outputs[0], c.attrs);
    const mask = g.op('Cast', [g.op('Equal', [x, yk])], { to: x.dtype });
    const count = g.op('ReduceSum', [mask], keepAttrs);
    const dy = keptGrad(x, c.dOutputs[0]!, c.attrs);
    return [g.op('Mul', [mask, g.op('Div', [dy, count])])];
  }),
  {
    name: 'ArgMax',
    infer(inputs, attrs) {
      const x = inputs[0];
      const axis = normAxis(numAttr(attrs, 'axis', -1), x.shape.length);
      const keep = boolAttr(attrs, 'keepdims', false);
      check(x.shape.length > 0, 'ArgMax needs rank ≥ 1');
      return [
        {
          dtype: 'int64',
          shape: keep ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis),
        },
      ];
    },
    emit(ctx, inputs, outputs, a, n) {
      const axis = normAxis(numAttr(a, 'axis', -1), n.inputs[0].shape.length);
      ctx.node('ArgMax', inputs, outputs, {
        axis: onnx.int(axis),
        keepdims: onnx.int(Number(boolAttr(a, 'keepdims', false))),
      });
    },
  },
];
