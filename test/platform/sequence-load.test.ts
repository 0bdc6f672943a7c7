/**
 * A sequence (a decoder's generation) waits for its model's load however long it takes, and its
 * first run's deadline starts after the load: a large decoder loads for longer than a step may
 * take, and the first chat after a push must not be a 504. A hang-up still stops the wait, and is
 * counted in `maas_requests_dropped_total`.
 *
 * Real engine and registry; the loader is the real one behind a gate the test opens, so "still
 * loading" is a state the test holds, not a duration it guesses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { type GatedLoad, gatedLoad } from '../helpers/gated-load';

describe('a sequence whose model is still loading', () => {
  let t: GatedLoad;
  const dropped = () => t.dropped('client_closed');

  beforeAll(async () => {
    t = await gatedLoad();
  });
  afterAll(() => t.close());

  const x = () => tensorFrom('float32', [1, 4], [1, 2, 3, 4]);

  it('is answered after a load longer than its deadline; a hang-up during the load still stops it', async () => {
    const gone = t.inference.sequence('t', 'lin', undefined, {});
    const controller = new AbortController();
    const hungUp = gone.run({ inputs: { x: x() }, timeoutMs: 1000, signal: controller.signal }).then(
      () => null,
      (e: unknown) => e,
    );
    // Two sequences: the second's first run queues behind the first's once the model is loaded.
    const seqs = [0, 1].map(() => t.inference.sequence('t', 'lin', undefined, {}));
    const answers = seqs.map((seq) => seq.run({ inputs: { x: x() }, timeoutMs: 1000 }));
    await expect.poll(() => t.loads()).toBe(1);
    controller.abort();
    expect(await hungUp).toMatchObject({ code: 'client_closed' });
    expect(dropped()).toBe(1);
    // Held past the runs' 1 s deadline: before the fix it counted from before the load, and the
    // second sequence's first run, queued behind the first's, was a 504 at once.
    await new Promise((r) => setTimeout(r, 1500));
    t.openGate();
    for (const out of await Promise.all(answers)) expect(out.y.dims).toEqual([1, 3]);
    for (const seq of seqs) seq.close();
    expect(dropped()).toBe(1);
    gone.close();
  });
});
