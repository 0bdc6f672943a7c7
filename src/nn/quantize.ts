/**
 * Int8 weights for inference graphs (onnxruntime's dynamic quantisation pattern; see
 * src/engine/ops/quantize.ts): each weight column is scaled symmetrically into int8
 * (scale = max |w| / 127, zero point 0); activations are quantised per call by
 * DynamicQuantizeLinear. About 4× smaller weights; on CPU, faster single-stream decode.
 */
import type { Parameter, Value } from '../engine/ir/types';
import { tensorFrom } from '../engine/runtime/tensor';

/** Per-column symmetric int8 of a [K, N] float weight. */
export function quantizeColumns(weight: Parameter): { values: Int8Array; scales: Float32Array } {
  const [k, n] = weight.value.dims;
  const w = weight.value.data as Float32Array;
  const scales = new Float32Array(n);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < n; j++) scales[j] = Math.max(scales[j], Math.abs(w[i * n + j]));
  for (let j = 0; j < n; j++) scales[j] = scales[j] / 127 || 1;
  const values = new Int8Array(k * n);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < n; j++) values[i * n + j] = Math.round(w[i * n + j] / scales[j]);
  return { values, scales };
}

/** x · W with W as int8 constants: [.., K] → [.., N] float32. */
export function int8MatMul(x: Value, weight: Parameter): Value {
  const g = x.graph;
  const [k, n] = weight.value.dims;
  const { values, scales } = quantizeColumns(weight);
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
