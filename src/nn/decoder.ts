/**
 * Pieces of inference decoders in the published Hugging Face layout, where a batch may be
 * left-padded and every row says which of its cache positions are real (`attention_mask`):
 *
 * - `paddedCausalMask`: hide keys after the query and keys that are padding;
 * - `positionsFromMask`: positions counted over real tokens only (GPT-2 graphs have no
 *   `position_ids` input, so a left-padded row still starts at position 0);
 * - `rotaryTables` / `applyRotary`: rotary position embeddings (Llama, non-interleaved halves);
 * - `groupedAttention`: scaled dot-product attention where several query heads share one
 *   key/value head (grouped-query attention; plain multi-head when the counts are equal).
 */
import type { Value } from '../engine/ir/types';
import { tensorFrom } from '../engine/runtime/tensor';

/** −1e9 rather than −∞: exp underflows to exactly 0 and a fully masked row stays finite. */
const HIDDEN = -1e9;

/** Scalar int64 length of dim `axis` of `v`. */
export function dimLength(v: Value, axis: number): Value {
  const g = v.graph;
  return g.op('Squeeze', [g.op('Shape', [v], { start: axis, end: axis + 1 })], { axes: [0] });
}

/** Cache slots of one step: keys 0 … P+S−1 and this step's queries P … P+S−1 (int64). */
export interface StepPositions {
  /** int64 [P + S]: every key slot. */
  keys: Value;
  /** int64 [S]: the cache slot of each query. */
  queries: Value;
}

/**
 * Slots from the past length P and the step length S (int64 scalars). `dims` names the symbolic
 * lengths so that shapes line up with the graph's inputs (e.g. `past_sequence_length+sequence_length`).
 */
export function stepPositions(
  past: Value,
  steps: Value,
  dims: { seq: string; total: string },
): StepPositions {
  const g = past.graph;
  const total = g.op('Add', [past, steps]);
  return {
    keys: g.op('Range', [g.scalar(0, 'int64'), total], { dim: dims.total }),
    queries: g.op('Range', [past, total], { dim: dims.seq }),
  };
}

/**
 * bool [B, 1, S, P+S]: true where query s may NOT see key j, because j comes after it (causal)
 * or `attentionMask[b, j]` is 0 (padding). `attentionMask` is int64 [B, P+S].
 */
export function paddedCausalMask(attentionMask: Value, slots: StepPositions): Value {
  const g = attentionMask.graph;
  const future = g.op('Greater', [
    g.op('Unsqueeze', [slots.keys], { axes: [0] }),
    g.op('Unsqueeze', [slots.queries], { axes: [1] }),
  ]);
  const padding = g.op('Equal', [attentionMask, g.scalar(0, 'int64')]);
  return g.op('Or', [future, g.op('Unsqueeze', [padding], { axes: [1, 2] })]);
}

/**
 * int64 [B, S]: each query's position among the real tokens of its row, i.e. (number of
 * unmasked keys up to and including its slot) − 1, at least 0. Without padding this is P + s.
 * Computed as mask · [j ≤ slot(s)] (a [B, P+S] × [P+S, S] product: a cumulative sum in one MatMul).
 */
export function positionsFromMask(attentionMask: Value, slots: StepPositions): Value {
  const g = attentionMask.graph;
  const upTo = g.op('Not', [
    g.op('Greater', [
      g.op('Unsqueeze', [slots.keys], { axes: [1] }),
      g.op('Unsqueeze', [slots.queries], { axes: [0] }),
    ]),
  ]);
  const seen = g.op('MatMul', [
    g.op('Cast', [attentionMask], { to: 'float32' }),
    g.op('Cast', [upTo], { to: 'float32' }),
  ]);
  const position = g.op('Relu', [g.op('Sub', [seen, g.scalar(1, 'float32')])]);
  return g.op('Cast', [position], { to: 'int64' });
}

/** cos and sin of rotary angles, each [B, 1, S, head_dim] (broadcast over heads). */
export interface RotaryTables {
  cos: Value;
  sin: Value;
}

/**
 * Rotary tables for `positionIds` int64 [B, S]: angle(p, i) = p · theta^(−2i / head_dim) for
 * i < head_dim/2, the two halves of the head repeating the same angles (Hugging Face's layout).
 */
export function rotaryTables(positionIds: Value, headDim: number, theta: number): RotaryTables {
  const g = positionIds.graph;
  const half = headDim / 2;
  const inverseFrequency = Array.from({ length: half }, (_, i) => theta ** ((-2 * i) / headDim));
  const positions = g.op('Unsqueeze', [g.op('Cast', [positionIds], { to: 'float32' })], { axes: [-1] });
  const angles = g.op('Mul', [positions, g.constant(tensorFrom('float32', [half], inverseFrequency))]);
  const full = g.op('Unsqueeze', [g.op('Concat', [angles, angles], { axis: -1 })], { axes: [1] });
  return { cos: g.op('Cos', [full]), sin: g.op('Sin', [full]) };
}

/** x · cos + rotate_half(x) · sin, with rotate_half([a, b]) = [−b, a] over the last axis. */
export function applyRotary(x: Value, tables: RotaryTables): Value {
  const g = x.graph;
  const headDim = Number(x.shape[x.shape.length - 1]);
  const [a, b] = g.ops('Split', [x], { axis: -1, split: [headDim / 2, headDim / 2] });
  const rotated = g.op('Concat', [g.op('Neg', [b]), a], { axis: -1 });
  return g.op('Add', [g.op('Mul', [x, tables.cos]), g.op('Mul', [rotated, tables.sin])]);
}

/**
 * softmax(q·kᵀ/√d, hidden where `mask`)·v for q [B, H, S, d] and key/value [B, KV, T, d]
 * (H a multiple of KV; query head h uses key/value head ⌊h / (H/KV)⌋) → [B, S, H·d].
 * The KV heads are never copied: each group of H/KV query heads is stacked along the rows, so
 * one MatMul per KV head serves the whole group (the mask is repeated along the rows to match).
 */
export function groupedAttention(q: Value, key: Value, value: Value, mask: Value): Value {
  const g = q.graph;
  const t = q.dtype;
  const heads = Number(q.shape[1]);
  const kvHeads = Number(key.shape[1]);
  const headDim = Number(q.shape[3]);
  const group = heads / kvHeads;
  // Scaling q (S·d values) is cheaper than scaling the scores (S·T).
  const scaled = g.op('Mul', [q, g.scalar(1 / Math.sqrt(headDim), t)]);
  const rows = group === 1 ? scaled : g.op('Reshape', [scaled], { shape: [0, kvHeads, -1, headDim] });
  const rowMask = group === 1 ? mask : g.op('Concat', Array(group).fill(mask), { axis: 2 });
  const scores = g.op('MatMul', [rows, g.op('Transpose', [key], { perm: [0, 1, 3, 2] })]);
  const probs = g.op('Softmax', [g.op('Where', [rowMask, g.scalar(HIDDEN, t), scores])], { axis: -1 });
  const context = g.op('MatMul', [probs, value]);
  const perHead = group === 1 ? context : g.op('Reshape', [context], { shape: [0, heads, -1, headDim] });
  return g.op('Reshape', [g.op('Transpose', [perHead], { perm: [0, 2, 1, 3] })], {
    shape: [0, 0, heads * headDim],
  });
}
