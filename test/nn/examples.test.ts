import { describe, expect, it } from 'vitest';
import { filter3x3, SOBEL_X, trainEdge } from '../../examples/edge';
import { buildCorpus, nearest, trainEmbeddings } from '../../examples/embeddings';

describe('teaching examples', () => {
  it('filter3x3 is a zero-padded cross-correlation (hand-computed corner and centre)', () => {
    const img = Float32Array.from({ length: 28 * 28 }, (_, i) => i % 28);
    const out = filter3x3(img, SOBEL_X);
    // A horizontal ramp: inside, Sobel-x sees (x+1) − (x−1) = 2 on rows weighted 1, 2, 1 → 8.
    expect(out[5 * 28 + 5]).toBe(8);
    // Top-left corner: only the centre and right column, rows 0 and 1: 2·1 + 1·1 = 3.
    expect(out[0]).toBe(3);
  });

  it('a convolution learns the Sobel-x kernel from (digit, edge map) pairs', async () => {
    const r = await trainEdge({ steps: 1500 });
    r.kernel.forEach((w, i) => {
      expect(Math.abs(w - SOBEL_X[i])).toBeLessThan(0.1);
    });
    expect(Math.abs(r.bias)).toBeLessThan(0.05);
  });

  it('skip-gram embeddings put words used alike together', async () => {
    // A tiny corpus where numbers and animals fill the same slots: their vectors must cluster.
    const rng = (() => {
      let s = 7;
      return () => {
        s = (s * 1103515245 + 12345) % 2147483648;
        return s / 2147483648;
      };
    })();
    const pick = <T>(xs: T[]) => xs[Math.floor(rng() * xs.length)];
    const numbers = ['two', 'three', 'four', 'five'];
    const animals = ['cat', 'dog', 'horse', 'cow'];
    const sentences = Array.from({ length: 3000 }, () =>
      rng() < 0.5 ? `i saw ${pick(numbers)} birds today` : `the ${pick(animals)} ran home fast`,
    );
    const text = sentences.join('. ');
    expect(buildCorpus(text, 100).words).toContain('horse');
    const r = await trainEmbeddings({ text, steps: 300, batch: 256, dim: 16, subsample: 1 });
    for (const [group, other] of [
      [numbers, animals],
      [animals, numbers],
    ]) {
      const top = nearest(r, group[0], 3).map(([w]) => w);
      expect(top.filter((w) => group.includes(w)).length).toBeGreaterThanOrEqual(2);
      expect(top.some((w) => other.includes(w))).toBe(false);
    }
  });
});
