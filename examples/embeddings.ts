/**
 * Word embeddings learned from Moby Dick (the `moby-dick` built-in dataset) by skip-gram with
 * negative sampling (word2vec): each word's vector is trained to score its neighbours within a
 * window above words drawn from the unigram^¾ distribution. Prints nearest neighbours by cosine.
 * The trainer is the `word2vec` zoo family's (src/models/language/word2vec-train.ts).
 */
import { getBuiltin } from '../src/data/index';
import { buildWordCorpus, trainSkipGram } from '../src/models/language/word2vec-train';

export { buildWordCorpus as buildCorpus };

export interface EmbeddingResult {
  words: string[];
  /** [vocab, dim] row-major, centred, each row L2-normalised. */
  vectors: Float32Array;
  dim: number;
  loss: number;
  steps: number;
  pairs: number;
}

export async function trainEmbeddings(
  options: {
    steps?: number;
    dim?: number;
    vocab?: number;
    batch?: number;
    seed?: number;
    text?: string;
    /** Subsampling threshold t (default 1e-5); 1 keeps every word. */
    subsample?: number;
  } = {},
): Promise<EmbeddingResult> {
  const steps = options.steps ?? 1500;
  const text = options.text ?? ((await getBuiltin('moby-dick').load()) as { text: string }).text;
  const r = await trainSkipGram(text, {
    dim: options.dim ?? 64,
    vocab: options.vocab ?? 3000,
    steps,
    batch: options.batch ?? 2048,
    window: 4,
    negatives: 5,
    subsample: options.subsample ?? 1e-5,
    seed: options.seed ?? 1,
  });
  return { words: r.words, vectors: r.vectors, dim: r.dim, loss: r.loss, steps, pairs: r.pairs };
}

/** The `k` words with the highest cosine similarity to `word` (itself excluded). */
export function nearest(r: EmbeddingResult, word: string, k = 5): [string, number][] {
  const w = r.words.indexOf(word);
  if (w < 0) return [];
  const q = r.vectors.subarray(w * r.dim, (w + 1) * r.dim);
  const sims = r.words.map((_, i) => {
    let s = 0;
    for (let d = 0; d < r.dim; d++) s += q[d] * r.vectors[i * r.dim + d];
    return [i, s] as const;
  });
  return sims
    .filter(([i]) => i !== w)
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([i, s]) => [r.words[i], s]);
}

export async function main(): Promise<void> {
  const t0 = performance.now();
  const r = await trainEmbeddings();
  const secs = (performance.now() - t0) / 1000;
  console.log(
    `skip-gram, negative sampling: ${r.words.length} words × ${r.dim} dims from Moby Dick, ` +
      `${r.steps} SGD steps, ${(r.pairs / 1e6).toFixed(1)} M pairs, loss ${r.loss.toFixed(3)}, ${secs.toFixed(1)} s`,
  );
  for (const word of ['whale', 'ship', 'sea', 'captain', 'three', 'boat', 'he']) {
    const list = nearest(r, word)
      .map(([w, s]) => `${w} ${s.toFixed(2)}`)
      .join(', ');
    console.log(`  ${word.padEnd(8)} → ${list}`);
  }
}
