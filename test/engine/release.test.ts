/** A replaced KV cache is freed at once in the model's worker thread (engine/runtime/release.ts). */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { enableStorageRelease } from '../../src/engine/runtime/release';

describe('releaseStorage', () => {
  it('in a worker started after enableStorageRelease, frees whole buffers and nothing else', async () => {
    enableStorageRelease();
    const worker = new Worker(new URL('./release-worker.mjs', import.meta.url), { execArgv: [] });
    const result = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(result).toEqual({ transfer: 'function', whole: 0, view: 1024, backing: 4096, shared: 4 });
  });
});
