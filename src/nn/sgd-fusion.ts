/**
 * Plain SGD (p ← p − lr·g) folded into the GEMM that produces the gradient, for the common dense
 * layer (measured on the MLP train step: the Mul + Sub pair over each weight was ≈ 20 % of its
 * kernel time, and the bias gradient's ReduceSum over the batch axis is slow in ORT):
 *
 *   weight: g = α·op(A)·op(B)        → p' = Gemm(op(A), op(−lr·B), C = p, β = 1)
 *   bias:   g = ReduceSum(dY, axis 0) → p' = Gemm(−lr·1ᵀ, dY, C = p)   (a [1, N]·[N, out] product)
 *
 * Only when the gradient feeds nothing else (so the original GEMM/ReduceSum is dropped from the
 * emitted graph, which keeps only what the outputs need). Anything else returns null and the
 * optimizer writes the plain update.
 */
import type { Graph, Value } from '../engine/index';

function usedElsewhere(g: Graph, v: Value): boolean {
  return g.nodes.some((n) => n.inputs.includes(v)) || g.outputs.some((o) => o.value === v);
}

function size(v: Value): number {
  return v.shape.reduce<number>((a, d) => a * Number(d), 1);
}

function sameShape(a: Value, b: Value): boolean {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

/** Weight gradient from a two-input Gemm: fold −lr into the smaller operand and p into C. */
function fuseWeight(g: Graph, params: Value, grad: Value, negLr: Value): Value | null {
  const n = grad.producer;
  if (n?.op !== 'Gemm' || n.inputs.length !== 2) return null;
  const [a, b] = n.inputs;
  const scaleA = size(a) <= size(b);
  const scaled = g.op('Mul', [scaleA ? a : b, negLr]);
  return g.op('Gemm', scaleA ? [scaled, b, params] : [a, scaled, params], { ...n.attrs, beta: 1 });
}

/** Bias gradient Reshape(ReduceSum(dY [N, out], axes [0], keepdims)) → one [1, N]·[N, out] Gemm. */
function fuseBias(g: Graph, params: Value, grad: Value, negLr: Value): Value | null {
  const reshape = grad.producer;
  if (reshape?.op !== 'Reshape' || params.shape.length !== 1) return null;
  const reduce = reshape.inputs[0].producer;
  if (reduce?.op !== 'ReduceSum' || usedElsewhereThan(g, reshape.inputs[0], grad)) return null;
  const dy = reduce.inputs[0];
  const axes = reduce.attrs.axes;
  if (dy.shape.length !== 2 || !Array.isArray(axes) || axes.length !== 1 || axes[0] !== 0) return null;
  const rows = Number(dy.shape[0]);
  if (!Number.isInteger(rows)) return null;
  const row = g.op('Expand', [negLr], { shape: [1, rows] });
  const updated = g.op('Gemm', [row, dy, params]);
  return g.op('Reshape', [updated], { shape: params.shape.map(Number) });
}

/** Is `v` read by any node other than the producer of `except`? */
function usedElsewhereThan(g: Graph, v: Value, except: Value): boolean {
  return g.nodes.some((n) => n !== except.producer && n.inputs.includes(v));
}

/** p − lr·grad as one fused GEMM when the gradient's producer allows it; otherwise null. */
export function fusedSgdStep(g: Graph, params: Value, grad: Value, lr: Value): Value | null {
  if (!sameShape(params, grad) || usedElsewhere(g, grad)) return null;
  const producer = grad.producer?.op;
  if (producer !== 'Gemm' && producer !== 'Reshape') return null;
  const negLr = g.op('Neg', [lr]);
  return producer === 'Gemm' ? fuseWeight(g, params, grad, negLr) : fuseBias(g, params, grad, negLr);
}
