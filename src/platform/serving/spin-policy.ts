/**
 * Which served models' ONNX Runtime intra-op threads spin while a run is in progress
 * (`MAAS_INTRA_OP_SPIN_US`): a number of microseconds for every model, or `auto` (the default),
 * which decides by the model's kind.
 *
 * Under `auto`, decoder LLMs spin up to 50 µs per wait and every other model sleeps at once. A
 * decode step is a chain of hundreds of small ops while the API thread waits for its logits, and
 * a pool thread that sleeps between them must be woken for each MatMul; measured on 2 idle cores
 * (docs/llm.md), a 110 M-parameter decoder's single stream decoded 10–15 % faster at 50 µs for the
 * same CPU per token. A batched CNN's throughput is bound by its API thread, which needs the core
 * a spinning thread holds: it lost ≈ 5 % with spinning (docs/benchmarks.md).
 */
import type { VersionRecord } from '../../store/ports';

export const DECODER_SPIN_US = 50;

/** Microseconds for every served model, or `auto` (by the model's kind). */
export type SpinSetting = number | 'auto';

/**
 * A decoder LLM with a KV cache: an uploaded folder's `decoder-lm`, or any graph that takes its
 * past keys back (`past_key_values.0.key`, maas's `past_key_0`).
 */
export const isCachedDecoder = (v: VersionRecord): boolean =>
  v.metadata.kind === 'decoder-lm' || v.signature.inputs.some((i) => i.name.startsWith('past_key'));

/**
 * The microseconds one runner's session spins under `setting`. A file derived from a version (its
 * saliency graph: `derived`) is not the decoder itself and sleeps under `auto`.
 */
export function spinMicrosFor(setting: SpinSetting, v: VersionRecord, derived: boolean): number {
  if (setting !== 'auto') return setting;
  return !derived && isCachedDecoder(v) ? DECODER_SPIN_US : 0;
}
