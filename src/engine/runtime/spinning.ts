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
