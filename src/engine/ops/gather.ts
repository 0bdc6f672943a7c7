/** Indexing (Gather, GatherND, ScatterND-add), selection (Where) and comparison masks. */

import type { OpSpec, ValueInfo } from '../ir/types';
import { tensorFrom } from '../runtime/tensor';
import {
  broadcastShapes,
  check,
  emitSame,
  int64s,
  intsAttr,
  normAxis,
  numAttr,
  onnx,
  sameDType,
  staticDim,
  unbroadcast,
} from './util';

function compare(name: 'Equal' | 'Less' | 'Greater' | 'And' | 'Or'): OpSpec {
  return {
    name,
    infer(inputs) {
      sameDType(name, inputs);
      return [{ dtype: 'bool', shape: broadcastShapes(name, inputs[0].shape, inputs[1].shape) }];
    },
    emit: emitSame(name),
  };
}

const indexInfo = (v: ValueInfo, op: string) =>
  check(v.dtype === 'int64' || v.dtype === 'int32', `${op}: indices must be int64 or int32`);

export const gatherOps: OpSpec[] = [
  {
    name: 'Gather',
    infer([data, idx], a) {
      indexInfo(idx, 'Gather');
      const axis = normAxis(numAttr(a, 'axis', 0), data.shape.length);
      return [
        {
          dtype: data.dtype,
          shape: [...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)],
        },
      ];
    },
    emit: emitSame('Gather', (a) => ({ axis: onnx.int(numAttr(a, 'axis', 0)) })),
    grad(c) {
      const [data, idx] = c.inputs;
      check(
        normAxis(numAttr(c.attrs, 'axis', 0), data.shape.length) === 0,
        'Gather: gradient only for axis 0',
      );
      // Rows gathered several times accumulate: ScatterND with reduction "add" (bit-exact, docs/engine.md).
      const nd = c.g.op('Unsqueeze', [idx], { axes: [-1] });
      return [c.g.op('ScatterNDAdd', [c.dOutputs[0]!, nd], { shape: data.shape.map(staticDim) }), null];
    },
  },
  {
    name: 'GatherND',
    infer([data, idx]) {
      indexInfo(idx, 'GatherND');
      const k = staticDim(idx.shape[idx.shape.length - 1]);
      check(k <= data.shape.length, 'GatherND: index depth exceeds data rank');
      return [{ dtype: data.dtype, shape: [...idx.shape.slice(0, -1), ...data.shape.slice(k)] }];
    },
    emit: emitSame('GatherND'),
    grad(c) {
      const [data, idx] = c.inputs;
      return [c.g.op('ScatterNDAdd', [c.dOutputs[0]!, idx], { shape: data.shape.map(staticDim) }), null];
    },
  },
  {
    // zeros(shape) with `updates` added at `indices` (repeated indices accumulate).
    name: 'ScatterNDAdd',
    infer([updates, idx], a) {
      indexInfo(idx, 'ScatterNDAdd');
      return [{ dtype: updates.dtype, shape: intsAttr(a, 'shape') }];
    },
    emit(ctx, [updates, idx], outputs, a, n) {
      const zeros = ctx.fresh('zeros');
      ctx.node('ConstantOfShape', [ctx.constant(int64s(intsAttr(a, 'shape')))], [zeros], {
        value: onnx.tensor(tensorFrom(n.inputs[0].dtype, [1], [0])),
      });
      ctx.node('ScatterND', [zeros, idx, updates], outputs, { reduction: onnx.string('add') });
    },
    grad: (c) => [c.g.op('GatherND', [c.dOutputs[0]!, c.inputs[1]]), null],
  },
  {
    // out[i][j] = data[i][idx[i][j]] along `axis` (e.g. the log-prob of each label).
    name: 'GatherElements',
    infer([data, idx], a) {
      indexInfo(idx, 'GatherElements');
      normAxis(numAttr(a, 'axis', 0), data.shape.length);
      check(idx.shape.length === data.shape.length, 'GatherElements: indices must have the rank of data');
      return [{ dtype: data.dtype, shape: idx.shape }];
    },
    emit: emitSame('GatherElements', (a) => ({ axis: onnx.int(numAttr(a, 'axis', 0)) })),
    grad(c) {
      const [data, idx] = c.inputs;
      const attrs = { axis: numAttr(c.attrs, 'axis', 0), shape: data.shape.map(staticDim) };
      return [c.g.op('ScatterElementsAdd', [c.dOutputs[0]!, idx], attrs), null];
    },
  },
  {
    // zeros(shape) with `updates` added at `indices` along `axis` (repeats accumulate).
    name: 'ScatterElementsAdd',
    infer([updates, idx], a) {
      indexInfo(idx, 'ScatterElementsAdd');
      check(
        updates.shape.length === idx.shape.length,
        'ScatterElementsAdd: updates and indices differ in rank',
      );
      return [{ dtype: updates.dtype, shape: intsAttr(a, 'shape') }];
    },
    emit(ctx, [updates, idx], outputs, a, n) {
      const zeros = ctx.fresh('zeros');
      ctx.node('ConstantOfShape', [ctx.constant(int64s(intsAttr(a, 'shape')))], [zeros], {
        value: onnx.tensor(tensorFrom(n.inputs[0].dtype, [1], [0])),
      });
      ctx.node('ScatterElements', [zeros, idx, updates], outputs, {
        axis: onnx.int(numAttr(a, 'axis', 0)),
        reduction: onnx.string('add'),
      });
    },
    grad: (c) => [
      c.g.op('GatherElements', [c.dOutputs[0]!, c.inputs[1]], { axis: numAttr(c.attrs, 'axis', 0) }),
      null,
    ],
  },
  {
    name: 'Where',
    infer([cond, a, b]) {
      check(cond.dtype === 'bool', 'Where: condition must be bool');
      const shape = broadcastShapes('Where', cond.shape, broadcastShapes('Where', a.shape, b.shape));
      return [{ dtype: sameDType('Where', [a, b]), shape }];
    },
    emit: emitSame('Where'),
    grad(c) {
      const g = c.g;
      const [cond, a, b] = c.inputs;
      const dy = c.dOutputs[0]!;
      const zero = g.scalar(0, dy.dtype);
      return [
        null,
        c.needs[1] ? unbroadcast(g.op('Where', [cond, dy, zero]), a.shape) : null,
        c.needs[2] ? unbroadcast(g.op('Where', [cond, zero, dy]), b.shape) : null,
      ];
    },
  },
  compare('Equal'),
  compare('Less'),
  compare('Greater'),
  compare('And'),
  compare('Or'),
  {
    name: 'Not',
    infer: ([x]) => [{ dtype: 'bool', shape: x.shape }],
    emit: emitSame('Not'),
  },
];
