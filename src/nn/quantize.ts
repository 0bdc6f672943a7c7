/**
 * Int8 weights for inference graphs (onnxruntime's dynamic quantisation pattern; see
 * src/engine/ops/quantize.ts): each weight column is scaled symmetrically into int8, the codes
 * kept within ±63 as the file quantiser does (`quantizeInt8`: 7 bits, since AVX2's u8 × s8 kernel
 * saturates with 8); activations are quantised per call by DynamicQuantizeLinear. About 4×
 * smaller weights; on CPU, faster single-stream decode.
 */
import { type Parameter, quantizeInt8, type Value } from '../engine/index';
import { tensorFrom } from '../engine/runtime/tensor';

/** x · W with W as int8 constants: [.., K] → [.., N] float32. */
export function int8MatMul(x: Value, weight: Parameter): Value {
  const g = x.graph;
  const [k, n] = weight.value.dims;
  const { values, scales } = quantizeInt8(weight.value.data as Float32Array, k, n);
  const [xq, xScale, xZero] = g.ops('DynamicQuantizeLinear', [x]);
  const acc = g.op('MatMulInteger', [
    xq,
    g.constant(tensorFrom('int8', [k, n], values)),
    xZero,
    g.scalar(0, 'int8'),
  ]);
  const scale = g.op('Mul', [xScale, g.constant(tensorFrom('float32', [n], scales))]);
  return g.op('Mul', [g.op('Cast', [acc], { to: 'float32' }), scale]);
}
