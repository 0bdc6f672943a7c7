import { describe, expect, it } from 'vitest';
import { gatherRows, MinibatchIterator, Rng, splitIndices } from '../../src/data';
import { tensorFrom } from '../../src/engine/runtime/tensor';

describe('seeded generator', () => {
  it('repeats from a seed and resumes from a saved state', () => {
    const a = Rng.fromSeed(42);
    const first = [a.nextU32(), a.nextU32()];
    expect([Rng.fromSeed(42).nextU32(), Rng.fromSeed(42).nextU32()]).toEqual([first[0], first[0]]);
    const saved = a.state();
    const next = [a.next(), a.next(), a.next()];
    const b = Rng.fromState(saved);
    expect([b.next(), b.next(), b.next()]).toEqual(next);
    expect(Rng.fromSeed(1).nextU32()).not.toBe(Rng.fromSeed(2).nextU32());
  });
});

describe('train/validation split', () => {
  it('is disjoint, complete and the same for the same seed', () => {
    const s = splitIndices(100, 0.2, 7);
    expect(s.validation.length).toBe(20);
    const all = new Set([...s.train, ...s.validation]);
    expect(all.size).toBe(100);
    expect(splitIndices(100, 0.2, 7)).toEqual(s);
    expect(splitIndices(100, 0.2, 8).validation).not.toEqual(s.validation);
  });
});

describe('minibatch iterator', () => {
  const indices = Int32Array.from({ length: 10 }, (_, i) => i * 3);

  it('hands out every index once per epoch, reshuffled each epoch', () => {
    const it = new MinibatchIterator(indices, { batchSize: 4, seed: 1 });
    expect(it.batchesPerEpoch).toBe(3);
    const epochs: number[][] = [[], []];
    for (let b = 0; b < 6; b++) {
      const batch = it.next();
      epochs[batch.epoch].push(...batch.indices);
    }
    for (const e of epochs) expect([...e].sort((x, y) => x - y)).toEqual(Array.from(indices));
    expect(epochs[0]).not.toEqual(epochs[1]);
  });

  it('restores from a cursor (saved as JSON) and continues with exactly the same batches', () => {
    const a = new MinibatchIterator(indices, { batchSize: 3, seed: 9, dropLast: true });
    for (let b = 0; b < 5; b++) a.next(); // into the second epoch
    const cursor = JSON.parse(JSON.stringify(a.cursor()));
    const b = new MinibatchIterator(indices, { batchSize: 3, seed: 9, dropLast: true, cursor });
    for (let k = 0; k < 8; k++) {
      const x = a.next();
      const y = b.next();
      expect(y.epoch).toBe(x.epoch);
      expect(Array.from(y.indices)).toEqual(Array.from(x.indices));
      expect(x.indices.length).toBe(3);
    }
  });

  it('gathers rows of a tensor by index', () => {
    const t = tensorFrom('int64', [3, 2], [1, 2, 3, 4, 5, 6]);
    expect(Array.from(gatherRows(t, Int32Array.of(2, 0)).data)).toEqual([5n, 6n, 1n, 2n]);
  });
});
