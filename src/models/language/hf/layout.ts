/**
 * The input/output signature of a decoder graph in the published Hugging Face ONNX layout
 * (optimum, transformers.js v3+):
 *
 *   inputs   input_ids                       int64   [batch_size, sequence_length]
 *            attention_mask                  int64   [batch_size, past_sequence_length+sequence_length]
 *            position_ids (Llama-style only) int64   [batch_size, sequence_length]
 *            past_key_values.{i}.key|value   float32 [batch_size, kv_heads, past_sequence_length, head_dim]
 *   outputs  logits                          float32 [batch_size, sequence_length, vocab]
 *            present.{i}.key|value           float32 [batch_size, kv_heads, past_sequence_length+sequence_length, head_dim]
 *
 * The dim names matter: transformers.js builds the first step's empty cache from the graph's
 * input metadata, resolving `batch_size` to the batch and every other symbolic dim to 0, while
 * numeric dims (kv_heads, head_dim) are kept as they are.
 */
import { fail } from '../../../common/errors';
import type { Graph } from '../../../engine/ir/graph';
import type { Value } from '../../../engine/ir/types';
import { tensorFrom } from '../../../engine/runtime/tensor';
import type { KeyValue } from '../../../nn/attention';
import { dimLength, type StepPositions, stepPositions } from '../../../nn/decoder';

export const DIMS = {
  batch: 'batch_size',
  seq: 'sequence_length',
  past: 'past_sequence_length',
  total: 'past_sequence_length+sequence_length',
} as const;

export interface DecoderShape {
  layers: number;
  kvHeads: number;
  headDim: number;
  /** Whether the graph takes `position_ids` (Llama-style) or derives positions itself (GPT-2). */
  positionIds: boolean;
}

export interface DecoderInputs {
  inputIds: Value;
  attentionMask: Value;
  positionIds: Value | null;
  past: KeyValue[];
  /** Cache slots of this step (keys 0 … P+S−1, queries P … P+S−1). */
  slots: StepPositions;
}

export const pastName = (i: number, part: 'key' | 'value') => `past_key_values.${i}.${part}`;
export const presentName = (i: number, part: 'key' | 'value') => `present.${i}.${part}`;

/** Declare the inputs in optimum's order: ids, mask, positions, then key/value per layer. */
export function decoderInputs(g: Graph, shape: DecoderShape): DecoderInputs {
  const inputIds = g.input('input_ids', 'int64', [DIMS.batch, DIMS.seq]);
  const attentionMask = g.input('attention_mask', 'int64', [DIMS.batch, DIMS.total]);
  const positionIds = shape.positionIds ? g.input('position_ids', 'int64', [DIMS.batch, DIMS.seq]) : null;
  const cacheShape = [DIMS.batch, shape.kvHeads, DIMS.past, shape.headDim];
  const past: KeyValue[] = [];
  for (let i = 0; i < shape.layers; i++) {
    past.push({
      key: g.input(pastName(i, 'key'), 'float32', cacheShape),
      value: g.input(pastName(i, 'value'), 'float32', cacheShape),
    });
  }
  const slots = stepPositions(dimLength(past[0].key, 2), dimLength(inputIds, 1), DIMS);
  return { inputIds, attentionMask, positionIds, past, slots };
}

/** token id → amount added to its logit at every position (fixtures steer a random model with it). */
export type LogitBias = Readonly<Record<number, number>>;

/** Name the outputs: logits (plus `logitBias`, when given), then present key/value per layer. */
export function decoderOutputs(
  g: Graph,
  logits: Value,
  present: readonly KeyValue[],
  logitBias?: LogitBias,
): void {
  const entries = Object.entries(logitBias ?? {});
  if (entries.length > 0) {
    const vocab = Number(logits.shape[logits.shape.length - 1]);
    const bias = new Float32Array(vocab);
    for (const [id, amount] of entries) {
      if (!(Number(id) >= 0 && Number(id) < vocab))
        fail('invalid_request', `logit bias for token ${id} outside the vocabulary of ${vocab}`);
      bias[Number(id)] = amount;
    }
    logits = g.op('Add', [logits, g.constant(tensorFrom('float32', [vocab], bias))]);
  }
  g.output('logits', logits);
  present.forEach((kv, i) => {
    g.output(presentName(i, 'key'), kv.key);
    g.output(presentName(i, 'value'), kv.value);
  });
}
