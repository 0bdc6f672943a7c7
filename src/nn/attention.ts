/**
 * Multi-head causal self-attention and a pre-LayerNorm transformer block (GPT-2's layout):
 *
 *   h   = x + proj(attention(ln1(x)))
 *   out = h + fc2(gelu(fc1(ln2(h))))
 *
 * Keys and values of earlier positions may come in as a cache (`past`, [B, heads, P, head_dim]);
 * the block returns the extended cache (`present`, [B, heads, P + S, head_dim]) for the next step.
 */
import type { Parameter, Value } from '../engine/index';
import { tensorFrom } from '../engine/runtime/tensor';
import { type Init, normal } from './init';
import { type Layer, layerNorm, linear, named } from './layers';
import type { Rng } from './rng';

/** Cached keys and values of one layer, each [B, heads, P, head_dim]. */
export interface KeyValue {
  key: Value;
  value: Value;
}

/** How a sequence attends: which (query, key) pairs are hidden, and the cache of earlier steps. */
export interface AttendOptions {
  /** bool [S, P + S]: true where query i may NOT see key j (j after i). */
  mask: Value;
  past?: KeyValue;
}

export interface AttentionResult {
  output: Value;
  present: KeyValue;
}

/** bool [T, T], true above the diagonal: position i sees keys 0..i. */
export function causalMask(g: Value['graph'], steps: number): Value {
  const cells = Array.from({ length: steps * steps }, (_, k) => Number(k % steps > Math.floor(k / steps)));
  return g.constant(tensorFrom('bool', [steps, steps], cells));
}

export interface SelfAttention extends Layer {
  readonly heads: number;
  attend(x: Value, options: AttendOptions): AttentionResult;
}

export interface AttentionOptions {
  /** Weight initialiser of the qkv and output projections (default N(0, 0.02), as GPT-2). */
  init?: Init;
  /** Initialiser of the output projection (GPT-2 scales it by 1/√(2·layers)). */
  projInit?: Init;
}

/** Causal multi-head self-attention over x [B, S, D]; `attend` takes a mask and a KV cache. */
export function selfAttention(
  rng: Rng,
  dim: number,
  heads: number,
  options: AttentionOptions = {},
): SelfAttention {
  if (dim % heads !== 0) throw new RangeError(`dim ${dim} is not divisible by ${heads} heads`);
  const hd = dim / heads;
  const qkv = named('qkv', linear(rng, dim, 3 * dim, { init: options.init ?? normal(0.02) }));
  const proj = named(
    'proj',
    linear(rng, dim, dim, { init: options.projInit ?? options.init ?? normal(0.02) }),
  );
  const attend = (x: Value, o: AttendOptions): AttentionResult => {
    const g = x.graph;
    const t = x.dtype;
    // [B, S, D] → [B, heads, S, hd]
    const split = (v: Value) =>
      g.op('Transpose', [g.op('Reshape', [v], { shape: [0, 0, heads, hd] })], { perm: [0, 2, 1, 3] });
    const [q, k, v] = g.ops('Split', [qkv(x)], { axis: -1, split: [dim, dim, dim] }).map(split);
    const key = o.past ? g.op('Concat', [o.past.key, k], { axis: 2 }) : k;
    const value = o.past ? g.op('Concat', [o.past.value, v], { axis: 2 }) : v;
    // Scaling q (S·hd values) is cheaper than scaling the scores (S·(P+S)).
    const qs = g.op('Mul', [q, g.scalar(1 / Math.sqrt(hd), t)]);
    const scores = g.op('MatMul', [qs, g.op('Transpose', [key], { perm: [0, 1, 3, 2] })]);
    // −1e9 rather than −∞: exp underflows to exactly 0 and a fully masked row stays finite.
    const masked = g.op('Where', [o.mask, g.scalar(-1e9, t), scores]);
    const probs = g.op('Softmax', [masked], { axis: -1 });
    const merged = g.op(
      'Reshape',
      [g.op('Transpose', [g.op('MatMul', [probs, value])], { perm: [0, 2, 1, 3] })],
      {
        shape: [0, 0, dim],
      },
    );
    return { output: proj(merged), present: { key, value } };
  };
  const forward = (x: Value) => attend(x, { mask: causalMask(x.graph, Number(x.shape[1])) }).output;
  return Object.assign(forward, { params: [...qkv.params, ...proj.params], buffers: [], heads, attend });
}

export interface BlockOptions extends AttentionOptions {
  /** Hidden width of the MLP as a multiple of dim (default 4). */
  mlpRatio?: number;
  /** MLP activation (default GELU, erf form). */
  activation?: (x: Value) => Value;
}

export interface TransformerBlock extends Layer {
  readonly attention: SelfAttention;
  run(x: Value, options: AttendOptions): AttentionResult;
}

export function transformerBlock(
  rng: Rng,
  dim: number,
  heads: number,
  options: BlockOptions = {},
): TransformerBlock {
  const init = options.init ?? normal(0.02);
  const ln1 = named('ln1', layerNorm(dim));
  const attention = named('attn', selfAttention(rng, dim, heads, options));
  const ln2 = named('ln2', layerNorm(dim));
  const hidden = (options.mlpRatio ?? 4) * dim;
  const fc1 = named('fc1', linear(rng, dim, hidden, { init }));
  const fc2 = named('fc2', linear(rng, hidden, dim, { init: options.projInit ?? init }));
  const act = options.activation ?? ((x: Value) => x.graph.op('Gelu', [x]));
  const run = (x: Value, o: AttendOptions): AttentionResult => {
    const g = x.graph;
    const a = attention.attend(ln1(x), o);
    const h = g.op('Add', [x, a.output]);
    return { output: g.op('Add', [h, fc2(act(fc1(ln2(h))))]), present: a.present };
  };
  const params = [ln1, attention, ln2, fc1, fc2].flatMap((l) => l.params);
  const forward = (x: Value) => run(x, { mask: causalMask(x.graph, Number(x.shape[1])) }).output;
  return Object.assign(forward, { params, buffers: [] as Parameter[], attention, run });
}
