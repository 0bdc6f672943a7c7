/**
 * Ops whose output size is known only at run time: Shape (a tensor's dims as int64) and Range.
 * Inference graphs use them to derive positions from the length of a KV cache. Their outputs are
 * integers, so they have no gradient. Range's output length is a symbolic dim named by `dim`.
 */
import type { OpSpec } from '../ir/types';
import { tensorFrom } from '../runtime/tensor';
import { check, numAttr, onnx } from './util';

export const dynamicOps: OpSpec[] = [
  {
    // dims[start:end] of x as int64 [end − start] (opset 15's start/end attributes).
    name: 'Shape',
    infer([x], a) {
      const rank = x.shape.length;
      const start = numAttr(a, 'start', 0);
      const end = numAttr(a, 'end', rank);
      check(start >= 0 && end <= rank && start < end, `Shape: [${start}, ${end}) outside rank ${rank}`);
      return [{ dtype: 'int64', shape: [end - start] }];
    },
    emit: (ctx, inputs, outputs, a, n) =>
      ctx.node('Shape', inputs, outputs, {
        start: onnx.int(numAttr(a, 'start', 0)),
        end: onnx.int(numAttr(a, 'end', n.inputs[0].shape.length)),
      }),
  },
  {
    // [start, start + delta, …) below limit; start and limit are rank-0 inputs of one dtype.
    name: 'Range',
    infer([start, limit], a) {
      check(start.shape.length === 0 && limit.shape.length === 0, 'Range: start and limit must be scalars');
      check(start.dtype === limit.dtype, 'Range: start and limit dtypes differ');
      check(typeof a.dim === 'string' && a.dim.length > 0, 'Range: attribute dim must name the length');
      return [{ dtype: start.dtype, shape: [a.dim as string] }];
    },
    emit(ctx, [start, limit], outputs, a, n) {
      const delta = ctx.constant(tensorFrom(n.inputs[0].dtype, [], [numAttr(a, 'delta', 1)]));
      ctx.node('Range', [start, limit, delta], outputs);
    },
  },
];
