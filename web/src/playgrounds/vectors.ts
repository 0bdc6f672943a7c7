/**
 * Vector maths for the embeddings playground, in the browser: cosine nearest neighbours and a
 * 2-D projection by principal component analysis (the top two eigenvectors of the covariance,
 * by power iteration with deflation: a few hundred dimensions and a few dozen words need no
 * library).
 */

export interface Neighbour {
  index: number;
  similarity: number;
}

export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** For each vector, the `k` others most similar to it (cosine), most similar first. */
export function nearestNeighbours(vectors: readonly (readonly number[])[], k: number): Neighbour[][] {
  return vectors.map((v, i) =>
    vectors
      .map((w, index) => ({ index, similarity: cosine(v, w) }))
      .filter((n) => n.index !== i)
      .sort((a, b) => b.similarity - a.similarity)
      .slice(0, k),
  );
}

export interface Projection {
  /** One [x, y] per vector: its coordinates on the first two principal components. */
  points: [number, number][];
  /** The share of the total variance each component explains (0..1). */
  explained: [number, number];
}

const ITERATIONS = 200;

/**
 * The top eigenvector of a symmetric matrix (power iteration from a fixed start: reproducible),
 * kept orthogonal to `not` (the first component, when looking for the second: with rounding
 * alone a flat second direction could drift back onto the first).
 */
function topEigen(m: Float64Array[], d: number, not?: Float64Array): { vector: Float64Array; value: number } {
  let v = new Float64Array(d).map((_, i) => 1 + i / d);
  let value = 0;
  for (let it = 0; it < ITERATIONS; it++) {
    const next = new Float64Array(d);
    for (let r = 0; r < d; r++) {
      let s = 0;
      const row = m[r];
      for (let c = 0; c < d; c++) s += row[c] * v[c];
      next[r] = s;
    }
    if (not) {
      let along = 0;
      for (let r = 0; r < d; r++) along += next[r] * not[r];
      for (let r = 0; r < d; r++) next[r] -= along * not[r];
    }
    let norm = 0;
    for (let r = 0; r < d; r++) norm += next[r] * next[r];
    norm = Math.sqrt(norm);
    // No variance left in any direction (allowed): the component is flat, nothing projects on it.
    if (norm === 0) return { vector: new Float64Array(d), value: 0 };
    for (let r = 0; r < d; r++) next[r] /= norm;
    value = norm;
    v = next;
  }
  return { vector: v, value };
}

/** The 2-D PCA projection of the vectors (centred; fewer than 2 vectors project to the origin). */
export function pca2(vectors: readonly (readonly number[])[]): Projection {
  const n = vectors.length;
  const d = vectors[0]?.length ?? 0;
  if (n < 2 || d === 0) return { points: vectors.map(() => [0, 0]), explained: [0, 0] };
  const mean = new Float64Array(d);
  for (const v of vectors) for (let c = 0; c < d; c++) mean[c] += v[c] / n;
  const centred = vectors.map((v) => Float64Array.from(v, (x, c) => x - mean[c]));
  const cov = Array.from({ length: d }, () => new Float64Array(d));
  for (const v of centred)
    for (let r = 0; r < d; r++) {
      if (v[r] === 0) continue;
      for (let c = 0; c < d; c++) cov[r][c] += (v[r] * v[c]) / (n - 1);
    }
  let total = 0;
  for (let c = 0; c < d; c++) total += cov[c][c];
  const first = topEigen(cov, d);
  // Deflate: remove the first component, so power iteration finds the second.
  for (let r = 0; r < d; r++)
    for (let c = 0; c < d; c++) cov[r][c] -= first.value * first.vector[r] * first.vector[c];
  const second = d > 1 ? topEigen(cov, d, first.vector) : { vector: new Float64Array(d), value: 0 };
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + x * b[i], 0);
  return {
    points: centred.map((v) => [dot(v, first.vector), dot(v, second.vector)]),
    explained: total > 0 ? [first.value / total, second.value / total] : [0, 0],
  };
}

/** A word list as typed: split on commas and new lines, trimmed, empty and repeated ones dropped. */
export function parseWords(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[,\n]/)
        .map((w) => w.trim())
        .filter(Boolean),
    ),
  ];
}
