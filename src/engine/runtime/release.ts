/**
 * Frees a tensor's memory now instead of at the next garbage collection. A decoder's KV cache is
 * replaced by a new one every step: onnxruntime-node hands each `present` output back as a new
 * ArrayBuffer (≈ 25 MB a step for 8 rows of a 110 M model), and the old cache is garbage. V8
 * counts that memory as external and answers its growth with full collections (a mark-compact
 * every few steps in the model's thread), and frees the buffers only then. Detaching the old
 * buffer with `ArrayBuffer.prototype.transfer(0)` frees it at once.
 *
 * `transfer` is ES2024; Node 20's V8 has it behind `--harmony-rab-gsab-transfer`, which applies
 * to contexts created after it is set: `enableStorageRelease()` before starting a worker thread
 * gives that thread `transfer`. Where it is missing, `releaseStorage` does nothing.
 */
import { setFlagsFromString } from 'node:v8';
import type { Tensor } from './tensor';

let enabled = false;

/** Let worker threads started from now on detach buffers (see the file comment). */
export function enableStorageRelease(): void {
  if (enabled || typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function') return;
  setFlagsFromString('--harmony-rab-gsab-transfer');
  enabled = true;
}

type Detachable = ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };

/**
 * Free `t`'s storage now. Only for a tensor nothing else reads: afterwards its data is empty. A
 * view on part of a buffer, or a shared buffer, is left alone.
 */
export function releaseStorage(t: Tensor): void {
  const view = t.data as ArrayBufferView;
  const buffer = view.buffer as Detachable;
  if (typeof buffer.transfer !== 'function' || view.byteOffset !== 0) return;
  if (view.byteLength !== buffer.byteLength || view.byteLength === 0) return;
  try {
    buffer.transfer(0);
  } catch {
    // A buffer its creator made non-detachable: the collector frees it, as before.
  }
}
