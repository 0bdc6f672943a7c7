/**
 * Skip-gram with negative sampling (word2vec) as a reusable trainer: each word's input vector is
 * trained to score the words within ±window above `negatives` words drawn from the unigram^¾
 * distribution. `npm run example -- embeddings` runs this trainer on Moby Dick.
 */

import { compileTrainStep, type Value } from '../../engine/index';
import { type Tensor, tensorFrom } from '../../engine/runtime/tensor';
import * as nn from '../../nn/index';

/** Lower-case words with an optional inner apostrophe ("whale's"): the same rule at train and embed time. */
export const WORD = /[a-z]+(?:'[a-z]+)?/g;

export function words(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

export interface WordCorpus {
  /** Vocabulary, most frequent first. */
  words: string[];
  /** The text as vocabulary ids, words outside the vocabulary dropped. */
  ids: Int32Array;
  counts: number[];
}

export function buildWordCorpus(text: string, maxVocab: number, minCount = 5): WordCorpus {
  const tokens = words(text);
  const counts = new Map<string, number>();
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  const vocab = [...counts.entries()]
    .filter(([, c]) => c >= minCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, maxVocab)
    .map(([w]) => w);
  const index = new Map(vocab.map((w, i) => [w, i]));
  const ids = Int32Array.from(tokens.filter((t) => index.has(t)).map((t) => index.get(t)!));
  return { words: vocab, ids, counts: vocab.map((w) => counts.get(w)!) };
}

/** Skip-gram batches: (centre, context) pairs within ±window and `negatives` noise words per pair. */
class PairSampler {
  private readonly noise: Int32Array;
  private readonly keep: Float64Array;

  constructor(
    private readonly corpus: WordCorpus,
    private readonly rng: nn.Rng,
    private readonly window: number,
    subsample: number,
  ) {
    // word2vec's noise table: word w drawn with probability ∝ count^0.75 (1 M slots).
    const weights = corpus.counts.map((c) => c ** 0.75);
    const total = weights.reduce((a, b) => a + b, 0);
    const table: number[] = [];
    weights.forEach((w, i) => {
      for (let k = Math.round((w / total) * 1e6); k > 0; k--) table.push(i);
    });
    this.noise = Int32Array.from(table);
    // Frequent words are kept with probability √(t/f) + t/f (word2vec's subsampling, t = `subsample`).
    const n = corpus.ids.length;
    this.keep = Float64Array.from(corpus.counts, (c) =>
      Math.min(1, Math.sqrt(subsample / (c / n)) + subsample / (c / n)),
    );
  }

  batch(size: number, negatives: number): Record<'centre' | 'context' | 'noise', Tensor> {
    const ids = this.corpus.ids;
    const centre = new BigInt64Array(size);
    const context = new BigInt64Array(size);
    const noise = new BigInt64Array(size * negatives);
    for (let i = 0; i < size; ) {
      const p = this.rng.int(ids.length);
      const q = p + (1 + this.rng.int(this.window)) * (this.rng.next() < 0.5 ? -1 : 1);
      if (q < 0 || q >= ids.length) continue;
      if (this.rng.next() > this.keep[ids[p]] || this.rng.next() > this.keep[ids[q]]) continue;
      centre[i] = BigInt(ids[p]);
      context[i] = BigInt(ids[q]);
      for (let k = 0; k < negatives; k++)
        noise[i * negatives + k] = BigInt(this.noise[this.rng.int(this.noise.length)]);
      i++;
    }
    return {
      centre: { dtype: 'int64', dims: [size], data: centre },
      context: { dtype: 'int64', dims: [size], data: context },
      noise: { dtype: 'int64', dims: [size, negatives], data: noise },
    };
  }
}

/** −log σ(u_ctx·v) − Σ_k log σ(−u_noise_k·v), mean over pairs. */
function skipGramLoss(v: Value, uPos: Value, uNeg: Value, negatives: number): Value {
  const g = v.graph;
  const pos = g.op('ReduceSum', [g.op('Mul', [v, uPos])], { axes: [-1], keepdims: false });
  const neg = g.op('Squeeze', [g.op('MatMul', [uNeg, g.op('Unsqueeze', [v], { axes: [-1] })])], {
    axes: [-1],
  });
  const n = Number(v.shape[0]);
  const ones = g.constant(tensorFrom('float32', [n], new Array(n).fill(1)));
  const zeros = g.constant(tensorFrom('float32', [n, negatives], new Array(n * negatives).fill(0)));
  // bceWithLogits averages: the noise term's mean over n·K becomes a sum over K by ×K.
  const noiseTerm = g.op('Mul', [nn.bceWithLogits(neg, zeros), g.scalar(negatives, 'float32')]);
  return g.op('Add', [nn.bceWithLogits(pos, ones), noiseTerm]);
}

export interface SkipGramOptions {
  dim: number;
  vocab: number;
  steps: number;
  /** Pairs per step. */
  batch: number;
  window?: number;
  negatives?: number;
  /** Subsampling threshold t (default 1e-5); 1 keeps every word. */
  subsample?: number;
  seed: number;
  onProgress?: (p: { step: number; steps: number; loss: number; elapsedMs: number }) => void;
  progressEvery?: number;
}

export interface WordVectors {
  words: string[];
  /** [vocab, dim] row-major; centred on the mean vector, then each row L2-normalised. */
  vectors: Float32Array;
  dim: number;
  loss: number;
  pairs: number;
  trainMs: number;
}

/** Subtract the mean vector (a shared frequency direction), then L2-normalise each row, in place. */
function centreAndNormalise(vectors: Float32Array, rows: number, dim: number): void {
  const mean = new Float32Array(dim);
  for (let w = 0; w < rows; w++) for (let k = 0; k < dim; k++) mean[k] += vectors[w * dim + k] / rows;
  for (let w = 0; w < rows; w++) {
    const row = vectors.subarray(w * dim, (w + 1) * dim);
    for (let k = 0; k < dim; k++) row[k] -= mean[k];
    const norm = Math.hypot(...row) || 1;
    for (let k = 0; k < dim; k++) row[k] /= norm;
  }
}

export async function trainSkipGram(text: string, o: SkipGramOptions): Promise<WordVectors> {
  const negatives = o.negatives ?? 5;
  const corpus = buildWordCorpus(text, o.vocab);
  const rng = new nn.Rng(o.seed);
  const V = corpus.words.length;
  const inVectors = nn.named('in', nn.embedding(rng, V, o.dim, nn.normal(0.5 / o.dim)));
  const outVectors = nn.named('out', nn.embedding(rng, V, o.dim, nn.constant(0)));
  const trainer = await compileTrainStep({
    model: {
      params: [...inVectors.params, ...outVectors.params],
      batch: {
        centre: { dtype: 'int64', shape: [o.batch] },
        context: { dtype: 'int64', shape: [o.batch] },
        noise: { dtype: 'int64', shape: [o.batch, negatives] },
      },
      forward: (b) => ({ v: inVectors(b.centre), uPos: outVectors(b.context), uNeg: outVectors(b.noise) }),
      loss: (p) => skipGramLoss(p.v, p.uPos, p.uNeg, negatives),
    },
    // Plain SGD as word2vec: the loss is a mean over the batch, so word2vec's per-pair rate of
    // 0.025 becomes 0.025·batch, decayed linearly to 0.1% of it.
    optimizer: nn.sgd(),
  });
  try {
    const sampler = new PairSampler(corpus, rng, o.window ?? 4, o.subsample ?? 1e-5);
    const every = o.progressEvery ?? 100;
    const t0 = performance.now();
    let loss = 0;
    for (let s = 0; s < o.steps; s++) {
      const lr = 0.025 * o.batch * Math.max(1e-3, 1 - s / o.steps);
      loss = (await trainer.step(sampler.batch(o.batch, negatives), lr)).loss;
      if ((s + 1) % every === 0 || s + 1 === o.steps)
        o.onProgress?.({ step: s + 1, steps: o.steps, loss, elapsedMs: performance.now() - t0 });
    }
    const trainMs = performance.now() - t0;
    trainer.syncParameters();
    const vectors = Float32Array.from(inVectors.params[0].value.data as Float32Array);
    centreAndNormalise(vectors, V, o.dim);
    return { words: corpus.words, vectors, dim: o.dim, loss, pairs: o.steps * o.batch, trainMs };
  } finally {
    await trainer.release();
  }
}
