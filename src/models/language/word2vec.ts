/**
 * The `word2vec` family: skip-gram word vectors exported as an ONNX embedding model
 * (`input_ids` int64 [batch] → `embeddings` float32 [batch, dim], rows L2-normalised), and an
 * `embeddings` runtime: a text's vector is the mean of its known words' vectors, L2-normalised;
 * `neighbours(word, k)` ranks the vocabulary by cosine similarity.
 */
import { fail } from '../../common/errors';
import { encodeModel, Graph } from '../../engine/index';
import { type Tensor, tensorFrom } from '../../engine/runtime/tensor';
import type { EmbeddingRuntime, RuntimeContext } from '../task';
import { type SkipGramOptions, trainSkipGram, type WordVectors, words } from './word2vec-train';

export function exportWordVectors(v: WordVectors): Uint8Array {
  const g = new Graph();
  const ids = g.input('input_ids', 'int64', ['batch']);
  const table = g.constant(tensorFrom('float32', [v.words.length, v.dim], v.vectors));
  g.output('embeddings', g.op('Gather', [table, ids], { axis: 0 }));
  return encodeModel(g, { name: 'maas-word2vec' });
}

export interface TrainedWordVectors {
  onnx: Uint8Array;
  metadata: Record<string, unknown>;
  vectors: WordVectors;
}

export async function trainWord2vec(text: string, options: SkipGramOptions): Promise<TrainedWordVectors> {
  const vectors = await trainSkipGram(text, options);
  return {
    onnx: exportWordVectors(vectors),
    metadata: { family: 'word2vec', task: 'embeddings', words: vectors.words, dimensions: vectors.dim },
    vectors,
  };
}

function metaWords(meta: Readonly<Record<string, unknown>>): string[] {
  const w = meta.words;
  if (!Array.isArray(w) || w.length === 0 || !w.every((x) => typeof x === 'string')) {
    fail('unsupported_model', "model metadata 'words' must be a non-empty list of strings");
  }
  return w as string[];
}

function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

export function word2vecRuntime(ctx: RuntimeContext): EmbeddingRuntime {
  const vocab = metaWords(ctx.metadata);
  const dimensions = ctx.metadata.dimensions;
  if (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1) {
    fail('unsupported_model', "model metadata 'dimensions' must be a positive integer");
  }
  const index = new Map(vocab.map((w, i) => [w, i]));
  const known = (text: string): number[] => words(text).flatMap((w) => (index.has(w) ? [index.get(w)!] : []));
  const lookup = async (ids: readonly number[], signal?: AbortSignal): Promise<Float32Array> => {
    if (ids.length === 0) return new Float32Array(0);
    const out = await ctx.run({ input_ids: tensorFrom('int64', [ids.length], ids) }, { signal });
    const e: Tensor = out.embeddings;
    if (e.dims[1] !== dimensions)
      fail('inference_failed', `embeddings have ${e.dims[1]} dims, expected ${dimensions}`);
    return e.data as Float32Array;
  };
  let table: Promise<Float32Array> | null = null;

  const embed = async (texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> => {
    const perText = texts.map(known);
    // One run for every word of every text.
    const rows = await lookup(perText.flat(), signal);
    let at = 0;
    return perText.map((ids) => {
      const v = new Float32Array(dimensions);
      for (let r = 0; r < ids.length; r++, at++)
        for (let k = 0; k < dimensions; k++) v[k] += rows[at * dimensions + k];
      // A text with no known word gets the zero vector (cosine 0 with everything).
      return normalise(v);
    });
  };

  return {
    task: 'embeddings',
    dimensions,
    countTokens: (text) => words(text).length,
    embed,
    textsWithoutKnownTokens: (texts) => texts.flatMap((t, i) => (known(t).length === 0 ? [i] : [])),
    async neighbours(text, k) {
      if (!Number.isInteger(k) || k < 1 || k > 100)
        fail('invalid_request', 'k must be an integer from 1 to 100');
      const [query] = await embed([text]);
      const own = new Set(known(text));
      table ??= lookup(vocab.map((_, i) => i));
      const all = await table;
      const scored: { item: string; score: number }[] = [];
      for (let w = 0; w < vocab.length; w++) {
        if (own.has(w)) continue;
        let s = 0;
        for (let d = 0; d < dimensions; d++) s += query[d] * all[w * dimensions + d];
        scored.push({ item: vocab[w], score: s });
      }
      return scored.sort((a, b) => b.score - a.score).slice(0, k);
    },
  };
}

/** The `k` words nearest `word` by cosine in trained vectors (itself excluded); [] when unknown. */
export function nearestWords(v: WordVectors, word: string, k: number): { item: string; score: number }[] {
  const w = v.words.indexOf(word);
  if (w < 0) return [];
  const q = v.vectors.subarray(w * v.dim, (w + 1) * v.dim);
  const scored: { item: string; score: number }[] = [];
  for (let i = 0; i < v.words.length; i++) {
    if (i === w) continue;
    let s = 0;
    for (let d = 0; d < v.dim; d++) s += q[d] * v.vectors[i * v.dim + d];
    scored.push({ item: v.words[i], score: s });
  }
  return scored.sort((a, b) => b.score - a.score).slice(0, k);
}
