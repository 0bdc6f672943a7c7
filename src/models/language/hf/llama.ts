/**
 * A Llama-style decoder built with maas's own engine, exported in the Hugging Face ONNX layout
 * (see layout.ts): RMSNorm, rotary positions from `position_ids`, grouped-query attention (fewer
 * key/value heads than query heads), SwiGLU MLP, untied LM head. Weights are random (seeded):
 * this is for fixtures and benchmarks of the serving path, not a trained model.
 */
import { fail } from '../../../common/errors';
import { Graph } from '../../../engine/ir/graph';
import type { Parameter, Value } from '../../../engine/ir/types';
import { encodeModel } from '../../../engine/onnx/encode';
import type { KeyValue } from '../../../nn/attention';
import {
  applyRotary,
  groupedAttention,
  paddedCausalMask,
  type RotaryTables,
  rotaryTables,
} from '../../../nn/decoder';
import { normal } from '../../../nn/init';
import { embedding, type Layer, linear, named } from '../../../nn/layers';
import { rmsNorm } from '../../../nn/norm';
import { int8MatMul } from '../../../nn/quantize';
import { Rng } from '../../../nn/rng';
import { decoderInputs, decoderOutputs, type LogitBias } from './layout';

export interface LlamaConfig {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  /** Key/value heads; `heads` must be a multiple of it. */
  kvHeads: number;
  /** SwiGLU width. */
  intermediate: number;
  /** Longest sequence (cache included) the model is declared for, in tokens. */
  context: number;
  rmsNormEps?: number;
  ropeTheta?: number;
  /** Std of the normal the weights are drawn from (Hugging Face's initializer_range is 0.02). */
  initStd?: number;
  seed?: number;
}

export interface LlamaModel {
  readonly config: Required<LlamaConfig>;
  readonly headDim: number;
  readonly params: Parameter[];
  /** Logits [B, S, V] and each layer's extended cache. */
  run(ids: Value, o: LlamaRunOptions): { logits: Value; present: KeyValue[] };
}

export interface LlamaRunOptions {
  positionIds: Value;
  mask: Value;
  past: KeyValue[];
  /** Every projection and the LM head with int8 weights (optimum's `model_quantized.onnx`). */
  int8?: boolean;
}

type Linear = ReturnType<typeof linear>;

/** x·W through the float layer, or with W quantised to int8. */
const project = (layer: Linear, x: Value, int8: boolean) => (int8 ? int8MatMul(x, layer.weight) : layer(x));

interface LayerStep {
  mask: Value;
  rotary: RotaryTables;
  past: KeyValue;
  int8: boolean;
}

interface LlamaLayer {
  params: Parameter[];
  run(x: Value, step: LayerStep): { output: Value; present: KeyValue };
}

function llamaLayer(rng: Rng, c: Required<LlamaConfig>, headDim: number): LlamaLayer {
  const init = normal(c.initStd);
  const proj = (name: string, inF: number, outF: number) =>
    named(name, linear(rng, inF, outF, { init, bias: false }));
  const inputNorm = named('input_layernorm', rmsNorm(c.hidden, c.rmsNormEps));
  const q = proj('self_attn.q_proj', c.hidden, c.heads * headDim);
  const k = proj('self_attn.k_proj', c.hidden, c.kvHeads * headDim);
  const v = proj('self_attn.v_proj', c.hidden, c.kvHeads * headDim);
  const o = proj('self_attn.o_proj', c.heads * headDim, c.hidden);
  const postNorm = named('post_attention_layernorm', rmsNorm(c.hidden, c.rmsNormEps));
  const gate = proj('mlp.gate_proj', c.hidden, c.intermediate);
  const up = proj('mlp.up_proj', c.hidden, c.intermediate);
  const down = proj('mlp.down_proj', c.intermediate, c.hidden);
  const layers: Layer[] = [inputNorm, q, k, v, o, postNorm, gate, up, down];
  return {
    params: layers.flatMap((l) => l.params),
    run(x, step) {
      const g = x.graph;
      const mm = (layer: Linear, t: Value) => project(layer, t, step.int8);
      const h = inputNorm(x);
      // [B, S, n·d] → [B, n, S, d]
      const split = (t: Value, n: number) =>
        g.op('Transpose', [g.op('Reshape', [t], { shape: [0, 0, n, headDim] })], { perm: [0, 2, 1, 3] });
      const query = applyRotary(split(mm(q, h), c.heads), step.rotary);
      const newKey = applyRotary(split(mm(k, h), c.kvHeads), step.rotary);
      const key = g.op('Concat', [step.past.key, newKey], { axis: 2 });
      const value = g.op('Concat', [step.past.value, split(mm(v, h), c.kvHeads)], { axis: 2 });
      const attended = g.op('Add', [x, mm(o, groupedAttention(query, key, value, step.mask))]);
      const m = postNorm(attended);
      const swish = (t: Value) => g.op('Mul', [t, g.op('Sigmoid', [t])]);
      const output = g.op('Add', [attended, mm(down, g.op('Mul', [swish(mm(gate, m)), mm(up, m)]))]);
      return { output, present: { key, value } };
    },
  };
}

export function llamaModel(config: LlamaConfig): LlamaModel {
  const c: Required<LlamaConfig> = { rmsNormEps: 1e-6, ropeTheta: 10000, initStd: 0.02, seed: 1, ...config };
  const headDim = c.hidden / c.heads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0)
    fail('invalid_request', `hidden ${c.hidden} must split into ${c.heads} heads of an even size`);
  if (c.heads % c.kvHeads !== 0)
    fail('invalid_request', `${c.heads} heads are not a multiple of ${c.kvHeads} key/value heads`);
  const rng = new Rng(c.seed);
  const init = normal(c.initStd);
  const embed = named('model.embed_tokens', embedding(rng, c.vocab, c.hidden, init));
  const blocks = Array.from({ length: c.layers }, (_, i) => {
    const block = llamaLayer(rng, c, headDim);
    for (const p of block.params) p.name = `model.layers.${i}.${p.name}`;
    return block;
  });
  const finalNorm = named('model.norm', rmsNorm(c.hidden, c.rmsNormEps));
  const head = named('lm_head', linear(rng, c.hidden, c.vocab, { init, bias: false }));
  return {
    config: c,
    headDim,
    params: [...embed.params, ...blocks.flatMap((b) => b.params), ...finalNorm.params, ...head.params],
    run(ids, o) {
      const rotary = rotaryTables(o.positionIds, headDim, c.ropeTheta);
      let x = embed(ids);
      const present: KeyValue[] = [];
      blocks.forEach((block, i) => {
        const r = block.run(x, { mask: o.mask, rotary, past: o.past[i], int8: o.int8 ?? false });
        x = r.output;
        present.push(r.present);
      });
      return { logits: project(head, finalNorm(x), o.int8 ?? false), present };
    },
  };
}

/** The model as `onnx/model.onnx` of a Hugging Face folder (float32 weights inside the graph). */
export function exportLlama(model: LlamaModel): Uint8Array {
  return encodeModel(llamaGraph(model), { name: LLAMA_GRAPH_NAME });
}

export const LLAMA_GRAPH_NAME = 'maas-llama';

/**
 * The inference graph in the layout of layout.ts (encode it with or without external data);
 * `int8`: the projections and the LM head with int8 weights (`onnx/model_quantized.onnx`).
 */
export function llamaGraph(
  model: LlamaModel,
  options: { int8?: boolean; logitBias?: LogitBias } = {},
): Graph {
  const c = model.config;
  const g = new Graph();
  const inputs = decoderInputs(g, {
    layers: c.layers,
    kvHeads: c.kvHeads,
    headDim: model.headDim,
    positionIds: true,
  });
  const mask = paddedCausalMask(inputs.attentionMask, inputs.slots);
  const positionIds = inputs.positionIds as Value;
  const r = model.run(inputs.inputIds, { positionIds, mask, past: inputs.past, int8: options.int8 });
  decoderOutputs(g, r.logits, r.present, options.logitBias);
  return g;
}

/** `config.json` of the model (model_type `llama`). */
export function llamaHfConfig(
  model: LlamaModel,
  ids: { bos: number; eos: number; pad?: number },
): Record<string, unknown> {
  const c = model.config;
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: c.hidden,
    num_attention_heads: c.heads,
    num_key_value_heads: c.kvHeads,
    head_dim: model.headDim,
    num_hidden_layers: c.layers,
    intermediate_size: c.intermediate,
    vocab_size: c.vocab,
    max_position_embeddings: c.context,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    hidden_act: 'silu',
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: false,
    initializer_range: c.initStd,
    bos_token_id: ids.bos,
    eos_token_id: ids.eos,
    ...(ids.pad === undefined ? {} : { pad_token_id: ids.pad }),
    torch_dtype: 'float32',
    use_cache: true,
  };
}
