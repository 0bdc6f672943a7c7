/**
 * A GPT (decoder-only transformer LM): token + learned position embeddings, pre-LayerNorm blocks
 * with causal self-attention, a final LayerNorm and a linear head. Trains through
 * `languageModelSpec(model, { batch, seq })`; exports to ONNX with or without a KV cache
 * (`exportGpt`; the I/O names are listed in src/engine/README.md).
 */
import { fail } from '../common/errors';
import { Graph } from '../engine/ir/graph';
import type { Value } from '../engine/ir/types';
import { encodeModel } from '../engine/onnx/encode';
import { tensorFrom } from '../engine/runtime/tensor';
import {
  type AttendOptions,
  causalMask,
  type KeyValue,
  type TransformerBlock,
  transformerBlock,
} from './attention';
import { normal } from './init';
import { embedding, type Layer, layerNorm, linear, named } from './layers';
import type { TokenModel } from './lm';
import { Rng } from './rng';

export interface GptConfig {
  vocab: number;
  /** Longest sequence (cache included) the position table covers, in tokens. */
  context: number;
  layers: number;
  dim: number;
  heads: number;
  /** MLP width as a multiple of dim (default 4). */
  mlpRatio?: number;
  seed?: number;
}

export interface GptRunOptions {
  /** int64 [S] (or [B, S], per row): absolute position of each input token. */
  positions: Value;
  /** bool [S, P + S] (or [B, 1, S, P + S], per row): true where a query may not attend. */
  mask: Value;
  /** One cache entry per layer, or none. */
  past?: KeyValue[];
}

export interface Gpt extends TokenModel {
  readonly config: Required<GptConfig>;
  readonly blocks: TransformerBlock[];
  /** Logits [B, S, V] and each layer's extended cache. */
  run(ids: Value, options: GptRunOptions): { logits: Value; present: KeyValue[] };
}

export function gptModel(config: GptConfig): Gpt {
  const c: Required<GptConfig> = { mlpRatio: 4, seed: 1, ...config };
  if (c.dim % c.heads !== 0) fail('invalid_request', `dim ${c.dim} is not divisible by ${c.heads} heads`);
  const rng = new Rng(c.seed);
  const init = normal(0.02);
  const wte = named('wte', embedding(rng, c.vocab, c.dim, init));
  const wpe = named('wpe', embedding(rng, c.context, c.dim, init));
  // GPT-2: residual projections start smaller, N(0, 0.02/√(2·layers)), so depth does not grow the residual.
  const projInit = normal(0.02 / Math.sqrt(2 * c.layers));
  const blocks = Array.from({ length: c.layers }, (_, i) =>
    named(`h${i}`, transformerBlock(rng, c.dim, c.heads, { init, projInit, mlpRatio: c.mlpRatio })),
  );
  const lnF = named('ln_f', layerNorm(c.dim));
  const head: Layer = named('lm_head', linear(rng, c.dim, c.vocab, { init, bias: false }));
  const run = (ids: Value, o: GptRunOptions) => {
    const g = ids.graph;
    let x = g.op('Add', [wte(ids), wpe(o.positions)]);
    const present: KeyValue[] = [];
    blocks.forEach((b, i) => {
      const attend: AttendOptions = { mask: o.mask, past: o.past?.[i] };
      const r = b.run(x, attend);
      x = r.output;
      present.push(r.present);
    });
    return { logits: head(lnF(x)), present };
  };
  const logits = (ids: Value) => {
    const g = ids.graph;
    const steps = Number(ids.shape[1]);
    if (!(steps <= c.context))
      fail('invalid_request', `sequence of ${steps} exceeds the context of ${c.context}`);
    const positions = g.constant(tensorFrom('int64', [steps], [...Array(steps).keys()]));
    return run(ids, { positions, mask: causalMask(g, steps) }).logits;
  };
  return {
    config: c,
    blocks,
    vocab: c.vocab,
    params: [...wte.params, ...wpe.params, ...blocks.flatMap((b) => b.params), ...lnF.params, ...head.params],
    run,
    logits,
  };
}

/** Sequence length (as an int64 scalar) of dim `axis` of `v`. */
function dimOf(v: Value, axis: number): Value {
  const g = v.graph;
  return g.op('Squeeze', [g.op('Shape', [v], { start: axis, end: axis + 1 })], { axes: [0] });
}

/**
 * Inference ONNX of a GPT (parameters as float32 initializers; call `trainer.syncParameters()`
 * first). Input `input_ids` int64 [batch, seq]; output `logits` float32 [batch, seq, vocab].
 * With `kvCache` (default true) also inputs `past_key_<i>`, `past_value_<i>` float32
 * [batch, heads, past, head_dim] (past may be 0) and outputs `present_key_<i>`, `present_value_<i>`
 * [batch, heads, past+seq, head_dim]; positions start at `past`. past + seq must not exceed the context.
 */
export function exportGpt(model: Gpt, options: { kvCache?: boolean } = {}): Uint8Array {
  const { layers, heads, dim } = model.config;
  const cache = options.kvCache ?? true;
  const g = new Graph();
  const ids = g.input('input_ids', 'int64', ['batch', 'seq']);
  const cacheShape = ['batch', heads, 'past', dim / heads];
  const past: KeyValue[] = [];
  if (cache) {
    for (let i = 0; i < layers; i++) {
      const key = g.input(`past_key_${i}`, 'float32', cacheShape);
      past.push({ key, value: g.input(`past_value_${i}`, 'float32', cacheShape) });
    }
  }
  const seq = dimOf(ids, 1);
  const start = cache ? dimOf(past[0].key, 2) : g.scalar(0, 'int64');
  const total = cache ? g.op('Add', [start, seq]) : seq;
  const positions = g.op('Range', [start, total], { dim: 'seq' });
  const keys = cache ? g.op('Range', [g.scalar(0, 'int64'), total], { dim: 'past+seq' }) : positions;
  const mask = g.op('Greater', [keys, g.op('Unsqueeze', [positions], { axes: [-1] })]);
  const r = model.run(ids, { positions, mask, past: cache ? past : undefined });
  g.output('logits', r.logits);
  if (cache) {
    r.present.forEach((kv, i) => {
      g.output(`present_key_${i}`, kv.key);
      g.output(`present_value_${i}`, kv.value);
    });
  }
  return encodeModel(g, { name: cache ? 'maas-gpt-kv' : 'maas-gpt' });
}
