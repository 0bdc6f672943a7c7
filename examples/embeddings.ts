/**
 * Word embeddings learned from Moby Dick (the `moby-dick` built-in dataset) by skip-gram with
 * negative sampling (word2vec): each word's vector is trained to score its neighbours within a
 * window above words drawn from the unigram^¾ distribution. Prints nearest neighbours by cosine.
 */
import { getBuiltin } from '../src/data/index';
import type { Value } from '../src/engine/ir/types';
import { tensorFrom } from '../src/engine/runtime/tensor';
import { compileTrainStep } from '../src/engine/train/compile';
import * as nn from '../src/nn/index';

export interface Corpus {
  words: string[];
  /** Token ids of the text, words outside the vocabulary dropped. */
  ids: Int32Array;
  counts: number[];
}

export function buildCorpus(text: string, maxVocab: number, minCount = 5): Corpus {
  const tokens = text.toLowerCase().match(/[a-z]+(?:'[a-z]+)?/g) ?? [];
  const counts = new Map<string, number>();
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  const words = [...counts.entries()]
    .filter(([, c]) => c >= minCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, maxVocab)
    .map(([w]) => w);
  const index = new Map(words.map((w, i) => [w, i]));
  const ids = Int32Array.from(tokens.filter((t) => index.has(t)).map((t) => index.get(t)!));
  return { words, ids, counts: words.map((w) => counts.get(w)!) };
}

/** Skip-gram batches: (centre, context) pairs within ±window and `negatives` noise words per pair. */
class PairSampler {
  private readonly noise: Int32Array;
  private readonly keep: Float64Array;

  constructor(
    private readonly corpus: Corpus,
    private readonly rng: nn.Rng,
    private readonly window: number,
    subsample: number,
  ) {
    // word2vec's noise table: word w drawn with probability ∝ count^0.75.
    const weights = corpus.counts.map((c) => c ** 0.75);
    const total = weights.reduce((a, b) => a + b, 0);
    const table: number[] = [];
    weights.forEach((w, i) => {
      for (let k = Math.round((w / total) * 1e6); k > 0; k--) table.push(i);
    });
    this.noise = Int32Array.from(table);
    // Frequent words ("the", "of") are kept with probability √(t/f) + t/f, t = `subsample` (1e-5 here; word2vec suggests 1e-5 to 1e-3).
    const n = corpus.ids.length;
    this.keep = Float64Array.from(corpus.counts, (c) =>
      Math.min(1, Math.sqrt(subsample / (c / n)) + subsample / (c / n)),
    );
  }

  batch(size: number, negatives: number) {
    const ids = this.corpus.ids;
    const centre = new BigInt64Array(size);
    const context = new BigInt64Array(size);
    const noise = new BigInt64Array(size * negatives);
    for (let i = 0; i < size; ) {
      const p = this.rng.int(ids.length);
      const off = (1 + this.rng.int(this.window)) * (this.rng.next() < 0.5 ? -1 : 1);
      const q = p + off;
      if (
        q < 0 ||
        q >= ids.length ||
        this.rng.next() > this.keep[ids[p]] ||
        this.rng.next() > this.keep[ids[q]]
      )
        continue;
      centre[i] = BigInt(ids[p]);
      context[i] = BigInt(ids[q]);
      for (let k = 0; k < negatives; k++)
        noise[i * negatives + k] = BigInt(this.noise[this.rng.int(this.noise.length)]);
      i++;
    }
    return {
      centre: { dtype: 'int64' as const, dims: [size], data: centre },
      context: { dtype: 'int64' as const, dims: [size], data: context },
      noise: { dtype: 'int64' as const, dims: [size, negatives], data: noise },
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

export interface EmbeddingResult {
  words: string[];
  /** [vocab, dim] row-major, each row L2-normalised. */
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
  const [dim, batch, negatives, steps] = [options.dim ?? 64, options.batch ?? 2048, 5, options.steps ?? 1500];
  const text = options.text ?? ((await getBuiltin('moby-dick').load()) as { text: string }).text;
  const corpus = buildCorpus(text, options.vocab ?? 3000);
  const rng = new nn.Rng(options.seed ?? 1);
  const V = corpus.words.length;
  const inVectors = nn.named('in', nn.embedding(rng, V, dim, nn.normal(0.5 / dim)));
  const outVectors = nn.named('out', nn.embedding(rng, V, dim, nn.constant(0)));
  const trainer = await compileTrainStep({
    model: {
      params: [...inVectors.params, ...outVectors.params],
      batch: {
        centre: { dtype: 'int64', shape: [batch] },
        context: { dtype: 'int64', shape: [batch] },
        noise: { dtype: 'int64', shape: [batch, negatives] },
      },
      forward: (b) => ({ v: inVectors(b.centre), uPos: outVectors(b.context), uNeg: outVectors(b.noise) }),
      loss: (p) => skipGramLoss(p.v, p.uPos, p.uNeg, negatives),
    },
    // Plain SGD as word2vec: the loss is a mean over the batch, so word2vec's per-pair rate of
    // 0.025 becomes 0.025·batch (rows seen several times in a batch sum their updates, as word2vec's do).
    optimizer: nn.sgd(),
  });
  const sampler = new PairSampler(corpus, rng, 4, options.subsample ?? 1e-5);
  let loss = 0;
  for (let s = 0; s < steps; s++)
    loss = (
      await trainer.step(sampler.batch(batch, negatives), 0.025 * batch * Math.max(1e-3, 1 - s / steps))
    ).loss;
  trainer.syncParameters();
  await trainer.release();
  const vectors = Float32Array.from(inVectors.params[0].value.data as Float32Array);
  // Centre before normalising: every vector shares a frequency direction that would otherwise make
  // "the" and "of" everyone's neighbours.
  const mean = new Float32Array(dim);
  for (let w = 0; w < V; w++) for (let k = 0; k < dim; k++) mean[k] += vectors[w * dim + k] / V;
  for (let w = 0; w < V; w++) for (let k = 0; k < dim; k++) vectors[w * dim + k] -= mean[k];
  for (let w = 0; w < V; w++) {
    const row = vectors.subarray(w * dim, (w + 1) * dim);
    const norm = Math.hypot(...row) || 1;
    for (let k = 0; k < dim; k++) row[k] /= norm;
  }
  return { words: corpus.words, vectors, dim, loss, steps, pairs: steps * batch };
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
