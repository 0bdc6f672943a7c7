/**
 * Stepping a published decoder graph (see plan.ts) with its KV cache kept where the model runs:
 * the same `sequenceDecoder` as the zoo's gpt, with `present.{i}.*` fed back as
 * `past_key_values.{i}.*`. The first step feeds zero-length past tensors [1, kv_heads, 0, head_dim]
 * (and `use_cache_branch` false on legacy merged graphs); every step feeds the new tokens, an
 * all-ones `attention_mask` over past + new, `position_ids` past..past+new−1 when the graph takes
 * them, and `num_logits_to_keep` 1 when it takes that (only the last row of logits comes back).
 * A plan without layers (no cache) feeds the whole window every step.
 *
 * Where the platform batches sequences (continuous batching), a graph with an attention mask
 * opens its sequence with a BatchPlan: its one-token steps then run in one batch with other
 * sequences', each row left-padded and masked (the batch builds the mask; position_ids stay each
 * row's own), and a prompt longer than the platform's chunk is prefilled in several runs.
 */
import { fail } from '../../common/errors';
import type { BatchPlan } from '../../engine/index';
import { int64Ones, type Tensor, tensorFrom, zeros } from '../../engine/runtime/tensor';
import { type Decoder, fullRerunDecoder, sequenceDecoder } from '../language/decoders';
import type { ModelSequence, RunModel } from '../task';
import type { DecoderPlan } from './plan';

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

/** How steps of this graph batch with other sequences' (null: it has no attention mask to pad with). */
function batchPlan(plan: DecoderPlan): BatchPlan | null {
  if (!plan.attentionMask) return null;
  return {
    tokens: plan.inputIds,
    attentionMask: plan.attentionMask,
    shared: [plan.numLogitsToKeep, plan.useCacheBranch].filter((n): n is string => n !== null),
    axis: 2,
  };
}

export function hfDecoder(run: RunModel, plan: DecoderPlan, tenant?: string): Decoder {
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
  const batch = batchPlan(plan);
  const options = batch ? { batch, tenant } : { tenant };
  const runOnce = async (
    seq: ModelSequence,
    added: readonly number[],
    first: Record<string, Tensor> | null,
    signal: AbortSignal | undefined,
    past: number,
  ) => {
    const total = past + added.length;
    const feeds: Record<string, Tensor> = {
      ...first,
      [plan.inputIds]: tensorFrom('int64', [1, added.length], added),
    };
    if (plan.attentionMask) feeds[plan.attentionMask] = int64Ones([1, total]);
    if (plan.positionIds)
      feeds[plan.positionIds] = tensorFrom('int64', [1, added.length], range(past, added.length));
    if (plan.numLogitsToKeep) feeds[plan.numLogitsToKeep] = tensorFrom('int64', [], [1]);
    if (plan.useCacheBranch) feeds[plan.useCacheBranch] = tensorFrom('bool', [1], [past > 0 ? 1 : 0]);
    const out = await seq.run(feeds, { outputs: [plan.logits], signal });
    return out[plan.logits];
  };
  return sequenceDecoder(
    run,
    feedback,
    empty,
    async (seq, added, first, signal, past) => {
      // Chunked prefill: a long prompt goes in runs of at most `chunk` tokens, each one queued
      // behind the batch's next decode step, so running streams keep flowing meanwhile.
      const chunk = added.length > 1 ? ((await seq.prefillChunk?.(signal)) ?? added.length) : added.length;
      let logits: Tensor | null = null;
      for (let at = 0; at < added.length; at += chunk) {
        if (at > 0 && signal?.aborted) fail('client_closed', 'generation cancelled by the client');
        logits = await runOnce(seq, added.slice(at, at + chunk), at === 0 ? first : null, signal, past + at);
      }
      return logits!;
    },
    options,
  );
}
