/**
 * Plain SGD folded into the GEMM that produces the gradient, for the common dense layer (measured
 * on the MLP train step: the Mul + Sub pair over each weight was ≈ 20 % of its kernel time, and
 * the bias gradient's ReduceSum over the batch axis is slow in ORT). The backward pass is seeded
 * with lr (`gradientScale` of plain SGD), so the gradient already is the step, and the GEMM's α
 * carries its sign:
 *
 *   weight: lr·g = α·op(A)·op(B)        → p' = Gemm(op(A), op(B), C = p, α' = −α, β = 1)
 *   bias:   lr·g = ReduceSum(dY, axis 0) → p' = Gemm(−1ᵀ, dY, C = p)   (a [1, N]·[N, out] product)
 *
 * Only when the gradient feeds nothing else (so the original GEMM/ReduceSum is dropped from the
 * emitted graph, which keeps only what the outputs need). Anything else returns null and the
 * optimizer writes p − grad.
 */
import type { Graph, Value } from '../engine/index';
import { tensorFrom } from '../engine/runtime/tensor';

function usedElsewhere(g: Graph, v: Value): boolean {
  return g.nodes.some((n) => n.inputs.includes(v)) || g.outputs.some((o) => o.value === v);
}

function sameShape(a: Value, b: Value): boolean {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

/** Weight gradient from a two-input Gemm: the same product, negated, with p as C. */
function fuseWeight(g: Graph, params: Value, grad: Value): Value | null {
  const n = grad.producer;
  if (n?.op !== 'Gemm' || n.inputs.length !== 2) return null;
  const alpha = typeof n.attrs.alpha === 'number' ? n.attrs.alpha : 1;
  return g.op('Gemm', [...n.inputs, params], { ...n.attrs, alpha: -alpha, beta: 1 });
}

/** Bias gradient Reshape(ReduceSum(dY [N, out], axes [0], keepdims)) → one [1, N]·[N, out] Gemm. */
function fuseBias(g: Graph, params: Value, grad: Value): Value | null {
  const reshape = grad.producer;
  if (reshape?.op !== 'Reshape' || params.shape.length !== 1) return null;
  const reduce = reshape.inputs[0].producer;
  if (reduce?.op !== 'ReduceSum' || usedElsewhereThan(g, reshape.inputs[0], grad)) return null;
  const dy = reduce.inputs[0];
  const axes = reduce.attrs.axes;
  if (dy.shape.length !== 2 || !Array.isArray(axes) || axes.length !== 1 || axes[0] !== 0) return null;
  const rows = Number(dy.shape[0]);
  if (!Number.isInteger(rows)) return null;
  const minusOnes = g.constant(tensorFrom(params.dtype, [1, rows], new Array<number>(rows).fill(-1)));
  // The [1, out] product is the update as it is: the train step reads it back in the bias's own
  // shape (OptimizerUpdate.params), so no Reshape node runs.
  return g.op('Gemm', [minusOnes, dy, params]);
}

/** Is `v` read by any node other than the producer of `except`? */
function usedElsewhereThan(g: Graph, v: Value, except: Value): boolean {
  return g.nodes.some((n) => n !== except.producer && n.inputs.includes(v));
}

/** p − grad (grad already scaled by lr) as one GEMM when the gradient's producer allows it (a
 * bias comes back as [1, out]: same values, the shape the GEMM gives). */
export function fusedSgdStep(g: Graph, params: Value, grad: Value): Value | null {
  if (!sameShape(params, grad) || usedElsewhere(g, grad)) return null;
  const producer = grad.producer?.op;
  if (producer === 'Gemm') return fuseWeight(g, params, grad);
  return producer === 'Reshape' ? fuseBias(g, params, grad) : null;
}
