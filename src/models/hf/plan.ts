/**
 * How to step a published decoder graph, read from its inputs/outputs (and config.json or
 * genai_config.json where the graph leaves a size symbolic):
 *
 *   inputs   input_ids [b, s] int64, attention_mask [b, past+s], position_ids [b, s] (Llama-style;
 *            GPT-2 style has none), past_key_values.{i}.key|value [b, kv_heads, past, head_dim],
 *            num_logits_to_keep (newer exports), use_cache_branch [1] bool (legacy merged graphs)
 *   outputs  logits [b, s, vocab], present.{i}.key|value [b, kv_heads, past+s, head_dim]
 *
 * onnxruntime-genai folders rename these through genai_config.json (`past_key_values.%d.key`).
 * The plan is stored in the version's metadata, so serving never re-reads the graph.
 */
import { fail } from '../../common/errors';

export interface GraphValue {
  name: string;
  dtype: string;
  shape: (number | string)[];
}

export interface DecoderPlan {
  inputIds: string;
  attentionMask: string | null;
  positionIds: string | null;
  numLogitsToKeep: string | null;
  useCacheBranch: string | null;
  logits: string;
  /** Per layer: the past input and the present output of its key and value. */
  layers: { pastKey: string; pastValue: string; presentKey: string; presentValue: string }[];
  kvHeads: number;
  headDim: number;
}

type Json = Record<string, unknown>;

interface Names {
  inputIds: string;
  attentionMask: string;
  positionIds: string;
  pastKey: string;
  pastValue: string;
  presentKey: string;
  presentValue: string;
  logits: string;
}

const OPTIMUM: Names = {
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  positionIds: 'position_ids',
  pastKey: 'past_key_values.%d.key',
  pastValue: 'past_key_values.%d.value',
  presentKey: 'present.%d.key',
  presentValue: 'present.%d.value',
  logits: 'logits',
};

/** genai_config.json's `model.decoder.inputs/outputs` maps over the optimum names. */
function genaiNames(genai: Json): Names {
  const decoder = ((genai.model as Json | undefined)?.decoder ?? {}) as Json;
  const inputs = (decoder.inputs ?? {}) as Json;
  const outputs = (decoder.outputs ?? {}) as Json;
  const pick = (map: Json, key: string, fallback: string) =>
    typeof map[key] === 'string' ? (map[key] as string) : fallback;
  return {
    inputIds: pick(inputs, 'input_ids', OPTIMUM.inputIds),
    attentionMask: pick(inputs, 'attention_mask', OPTIMUM.attentionMask),
    positionIds: pick(inputs, 'position_ids', OPTIMUM.positionIds),
    pastKey: pick(inputs, 'past_key_names', OPTIMUM.pastKey),
    pastValue: pick(inputs, 'past_value_names', OPTIMUM.pastValue),
    presentKey: pick(outputs, 'present_key_names', OPTIMUM.presentKey),
    presentValue: pick(outputs, 'present_value_names', OPTIMUM.presentValue),
    logits: pick(outputs, 'logits', OPTIMUM.logits),
  };
}

const nth = (pattern: string, i: number) => pattern.replace('%d', String(i));

function intOf(...values: unknown[]): number | null {
  for (const v of values) if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  return null;
}

/**
 * The plan for a graph with `inputs`/`outputs`; `config` is config.json, `genai` the
 * genai_config.json when present. A graph that is not a KV-cache decoder, or has float16 state
 * (not carried yet), → `unsupported_model` saying what is missing.
 */
export function planDecoder(
  inputs: readonly GraphValue[],
  outputs: readonly GraphValue[],
  config: Json | null,
  genai: Json | null,
): DecoderPlan {
  const names = genai ? genaiNames(genai) : OPTIMUM;
  const input = new Map(inputs.map((v) => [v.name, v]));
  const output = new Map(outputs.map((v) => [v.name, v]));
  if (!input.has(names.inputIds))
    fail('unsupported_model', `the graph has no '${names.inputIds}' input: it is not a decoder`);
  const logits = output.get(names.logits);
  if (!logits) fail('unsupported_model', `the graph has no '${names.logits}' output: it is not a decoder`);
  if (logits.dtype !== 'float32')
    fail(
      'unsupported_model',
      `the graph's logits are ${logits.dtype}; only float32 logits are served (try a float32 or int8/int4 variant)`,
    );
  const layers: DecoderPlan['layers'] = [];
  for (let i = 0; input.has(nth(names.pastKey, i)); i++) {
    const layer = {
      pastKey: nth(names.pastKey, i),
      pastValue: nth(names.pastValue, i),
      presentKey: nth(names.presentKey, i),
      presentValue: nth(names.presentValue, i),
    };
    for (const [name, where] of [
      [layer.pastValue, input],
      [layer.presentKey, output],
      [layer.presentValue, output],
    ] as const) {
      if (!where.has(name)) fail('unsupported_model', `the graph has '${layer.pastKey}' but no '${name}'`);
    }
    layers.push(layer);
  }
  if (layers.length === 0)
    fail(
      'unsupported_model',
      `the graph has no '${nth(names.pastKey, 0)}' input: decoders are served with a KV cache`,
    );
  const past = input.get(layers[0].pastKey)!;
  if (past.dtype !== 'float32')
    fail(
      'unsupported_model',
      `the graph's KV cache is ${past.dtype}; only float32 caches are served (try a float32 or int8/int4 variant)`,
    );
  const text = (config?.text_config as Json | undefined) ?? config ?? {};
  const genaiDecoder = ((genai?.model as Json | undefined)?.decoder ?? {}) as Json;
  const heads = intOf(text.num_attention_heads, text.n_head, genaiDecoder.num_attention_heads);
  const hidden = intOf(text.hidden_size, text.n_embd, genaiDecoder.hidden_size);
  const kvHeads =
    intOf(past.shape[1], text.num_key_value_heads, genaiDecoder.num_key_value_heads, heads) ??
    fail('unsupported_model', 'the number of KV heads is neither in the graph nor in config.json');
  const headDim =
    intOf(past.shape[3], text.head_dim, genaiDecoder.head_size, heads && hidden ? hidden / heads : null) ??
    fail('unsupported_model', 'the head size is neither in the graph nor in config.json');
  const optional = (name: string) => (input.has(name) ? name : null);
  return {
    inputIds: names.inputIds,
    attentionMask: optional(names.attentionMask),
    positionIds: optional(names.positionIds),
    numLogitsToKeep: optional('num_logits_to_keep') ?? optional('logits_to_keep'),
    useCacheBranch: optional('use_cache_branch'),
    logits: names.logits,
    layers,
    kvHeads,
    headDim,
  };
}

/** Context length, vocabulary and architecture as config.json (or genai_config.json) states them. */
export function describeConfig(config: Json | null, genai: Json | null) {
  const text = (config?.text_config as Json | undefined) ?? config ?? {};
  const genaiModel = (genai?.model ?? {}) as Json;
  const architectures = config?.architectures;
  return {
    architecture:
      (Array.isArray(architectures) && typeof architectures[0] === 'string' ? architectures[0] : null) ??
      (typeof config?.model_type === 'string' ? config.model_type : null) ??
      (typeof genaiModel.type === 'string' ? genaiModel.type : 'unknown'),
    context: intOf(text.max_position_embeddings, text.n_positions, text.n_ctx, genaiModel.context_length),
    vocabSize: intOf(text.vocab_size, genaiModel.vocab_size),
  };
}
