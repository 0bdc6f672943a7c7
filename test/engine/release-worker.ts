/** Run in a worker thread by release.test.ts: frees a whole buffer, leaves views and shared ones. */
import { parentPort } from 'node:worker_threads';
import { releaseStorage } from '../../src/engine/runtime/release';
import { zeros } from '../../src/engine/runtime/tensor';

const whole = zeros('float32', [2, 1024]);
const backing = zeros('float32', [4, 1024]);
const view = { ...backing, dims: [1, 1024], data: (backing.data as Float32Array).subarray(1024, 2048) };
const shared = { dtype: 'float32' as const, dims: [4], data: new Float32Array(new SharedArrayBuffer(16)) };
releaseStorage(whole);
releaseStorage(view);
releaseStorage(shared);
parentPort!.postMessage({
  transfer: typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer,
  whole: whole.data.length,
  view: view.data.length,
  backing: backing.data.length,
  shared: shared.data.length,
});
