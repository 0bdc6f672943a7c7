/**
 * Whether, and how long, ONNX Runtime's idle intra-op threads busy-wait for the next op, as one
 * number of microseconds. Kept apart from session.ts (which loads onnxruntime-node) so the
 * server's config can use it cheaply.
 *
 * A thread that sleeps between ops must be woken for the next one: microseconds on an idle core,
 * a whole scheduling delay on a loaded machine. A spinning thread picks the op up at once but holds
 * its core meanwhile. Spinning here is always bounded to a run (ORT's `session.force_spinning_stop`):
 * the threads never spin in the gaps between runs (a decode loop's sampling, an idle server).
 */
import type { SessionOptions } from './session';

/** The EngineSession options for spinning up to `micros` µs per wait; 0: no spinning. */
export function spinWhileRunning(
  micros: number,
): Pick<SessionOptions, 'allowSpinning' | 'spinOnlyWhileRunning' | 'spinMicros'> {
  if (micros <= 0) return { allowSpinning: false };
  return { allowSpinning: true, spinOnlyWhileRunning: true, spinMicros: micros };
}

/**
 * How long a served model's intra-op threads spin per wait when the setting is `auto`: decoder
 * LLMs (a decode step is hundreds of small ops, each a wait for a sleeping thread when threads do
 * not spin) 50 µs; every other model 0. Measured on 2 idle cores (docs/llm.md): a 110 M-parameter
 * decoder's single stream decoded 10–15 % faster at 50 µs for the same CPU per token, while the
 * CNN batching benchmark, whose API thread needs the second core, lost ≈ 5 % with spinning.
 */
export const DECODER_SPIN_US = 50;

/** A served model's spin setting: microseconds for every model, or `auto` (by the model's kind). */
export type SpinSetting = number | 'auto';

/** The microseconds to spin for one model under `setting`. */
export function spinMicrosFor(setting: SpinSetting, decoder: boolean): number {
  if (setting !== 'auto') return setting;
  return decoder ? DECODER_SPIN_US : 0;
}
