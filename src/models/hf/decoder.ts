/**
 * Stepping a published decoder graph (see plan.ts) with its KV cache kept where the model runs:
 * the same `sequenceDecoder` as the zoo's gpt, with `present.{i}.*` fed back as
 * `past_key_values.{i}.*`. The first step feeds zero-length past tensors [1, kv_heads, 0, head_dim]
 * (and `use_cache_branch` false on legacy merged graphs); every step feeds the new tokens, an
 * all-ones `attention_mask` over past + new, `position_ids` past..past+new−1 when the graph takes
 * them, and `num_logits_to_keep` 1 when it takes that (only the last row of logits comes back).
 * A plan without layers (no cache) feeds the whole window every step.
 */
import { type Tensor, tensorFrom, zeros } from '../../engine/runtime/tensor';
import { type Decoder, fullRerunDecoder, sequenceDecoder } from '../language/decoders';
import type { RunModel } from '../task';
import type { DecoderPlan } from './plan';

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

export function hfDecoder(run: RunModel, plan: DecoderPlan): Decoder {
  // A graph without a cache (a maas gpt exported with kvCache false) runs the whole window each step.
  if (plan.layers.length === 0) return fullRerunDecoder(run);
  const feedback: Record<string, string> = {};
  for (const l of plan.layers) {
    feedback[l.presentKey] = l.pastKey;
    feedback[l.presentValue] = l.pastValue;
  }
  const empty = (): Record<string, Tensor> => {
    const feeds: Record<string, Tensor> = {};
    for (const l of plan.layers) {
      feeds[l.pastKey] = zeros('float32', [1, plan.kvHeads, 0, plan.headDim]);
      feeds[l.pastValue] = zeros('float32', [1, plan.kvHeads, 0, plan.headDim]);
    }
    return feeds;
  };
  return sequenceDecoder(run, feedback, empty, async (seq, added, first, signal, past) => {
    const total = past + added.length;
    const feeds: Record<string, Tensor> = {
      ...first,
      [plan.inputIds]: tensorFrom('int64', [1, added.length], added),
    };
    if (plan.attentionMask)
      feeds[plan.attentionMask] = tensorFrom('int64', [1, total], new Array(total).fill(1));
    if (plan.positionIds)
      feeds[plan.positionIds] = tensorFrom('int64', [1, added.length], range(past, added.length));
    if (plan.numLogitsToKeep) feeds[plan.numLogitsToKeep] = tensorFrom('int64', [], [1]);
    if (plan.useCacheBranch) feeds[plan.useCacheBranch] = tensorFrom('bool', [1], [past > 0 ? 1 : 0]);
    const out = await seq.run(feeds, { outputs: [plan.logits], signal });
    return out[plan.logits];
  });
}
