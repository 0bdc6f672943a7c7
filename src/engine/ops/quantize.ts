/**
 * Int8 inference ops, the pattern onnxruntime's dynamic quantisation (and optimum's
 * `model_quantized.onnx`) emits for a float MatMul x·W:
 *
 *   xq, xs, xz = DynamicQuantizeLinear(x)           uint8 x, per-tensor scale and zero point
 *   acc        = MatMulInteger(xq, Wq, xz, Wz)      int32 [.., M, N]; Wq int8 [K, N]
 *   y          = Cast(acc, float32) · xs · Ws       Ws per column [N]
 *
 * onnxruntime fuses it into MatMulIntegerToFloat / DynamicQuantizeMatMul (graph optimisation
 * `all`). Integer outputs: no gradients (inference graphs only).
 */
import type { OpSpec } from '../ir/types';
import { check, emitSame } from './util';

export const quantizeOps: OpSpec[] = [
  {
    name: 'DynamicQuantizeLinear',
    infer([x]) {
      check(x.dtype === 'float32', 'DynamicQuantizeLinear: input must be float32');
      return [
        { dtype: 'uint8', shape: x.shape },
        { dtype: 'float32', shape: [] },
        { dtype: 'uint8', shape: [] },
      ];
    },
    emit: emitSame('DynamicQuantizeLinear'),
  },
  {
    // Inputs: A uint8 [.., M, K], B int8 [K, N], A's zero point uint8 [], B's int8 [] or [N].
    name: 'MatMulInteger',
    infer([a, b, az, bz]) {
      check(a.dtype === 'uint8', 'MatMulInteger: A must be uint8');
      check(b.dtype === 'int8' && b.shape.length === 2, 'MatMulInteger: B must be int8 [K, N]');
      check(a.shape[a.shape.length - 1] === b.shape[0], `MatMulInteger: [${a.shape}] × [${b.shape}]`);
      check(!az || az.dtype === 'uint8', "MatMulInteger: A's zero point must be uint8");
      check(!bz || bz.dtype === 'int8', "MatMulInteger: B's zero point must be int8");
      return [{ dtype: 'int32', shape: [...a.shape.slice(0, -1), b.shape[1]] }];
    },
    emit: emitSame('MatMulInteger'),
  },
];
