/**
 * A request that goes away while its model is still loading (the client hung up, or its
 * asynchronous prediction was canceled) is answered `client_closed` at once, and one whose
 * deadline passes meanwhile `deadline_exceeded` at the deadline, not after the load: a large model
 * loads for seconds to minutes, and a canceled prediction holds its slot until the call returns.
 * The load itself goes on, and its runner serves the next request.
 *
 * Real engine and registry; the loader is the real one behind a gate the test opens, so "still
 * loading" is a state the test holds, not a duration it guesses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaasError } from '../../src/common/errors';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { type GatedLoad, gatedLoad } from '../helpers/gated-load';

describe('a call whose signal aborts while its model loads', () => {
  let t: GatedLoad;
  const dropped = () => t.dropped('client_closed');

  beforeAll(async () => {
    t = await gatedLoad();
  });
  afterAll(() => t.close());

  const call = (signal?: AbortSignal) =>
    t.inference.infer('t', 'lin', undefined, {
      inputs: { x: tensorFrom('float32', [1, 4], [1, 2, 3, 4]) },
      signal,
    });

  it('is refused client_closed while the load is held, and the load then serves the next call', async () => {
    // A caller already gone starts no load (a load may unload idle models to make room).
    const before = new AbortController();
    before.abort();
    const refused = await call(before.signal).then(
      () => null,
      (e: unknown) => e,
    );
    expect((refused as MaasError).code).toBe('client_closed');
    expect(t.loads()).toBe(0);
    expect(dropped()).toBe(1);

    const controller = new AbortController();
    const pending = call(controller.signal).then(
      () => null,
      (e: unknown) => e,
    );
    // The load has started (the loader was called) and is held at the gate.
    await expect.poll(() => t.loads()).toBe(1);
    controller.abort();
    const error = await pending;
    expect(error).toBeInstanceOf(MaasError);
    expect((error as MaasError).code).toBe('client_closed');
    expect(t.pool.loaded).toEqual([]);
    expect(dropped()).toBe(2);

    // A deadline that passes while the model still loads is answered at the deadline (the gate
    // is still held: the load cannot have ended), not after the load.
    const late = await t.inference
      .infer('t', 'lin', undefined, {
        inputs: { x: tensorFrom('float32', [1, 4], [1, 2, 3, 4]) },
        timeoutMs: 50,
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect((late as MaasError).code).toBe('deadline_exceeded');
    expect((late as MaasError).message).toMatch(/still loading/);
    expect(t.dropped('deadline_exceeded')).toBe(1);
    expect(t.pool.loaded).toEqual([]);

    t.openGate();
    const { outputs } = await call();
    expect(outputs.y.dims).toEqual([1, 3]);
    expect(t.loads()).toBe(1);
    expect(t.pool.loaded).toHaveLength(1);
  });
});
