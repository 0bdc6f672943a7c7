/**
 * How good a class-conditional generator is, as the zoo reports it: draw samples of every class,
 * classify them with an independent classifier, and count how many are recognised as the class
 * they were asked to be. Also the sample grid (one row per class) shown in docs/zoo.md.
 */
import { elementCount, type Tensor, tensorFrom } from '../../engine/runtime/tensor';
import { type Image, imagesFromBatch, tileImages } from '../common/image';
import { Rng } from '../common/prng';
import type { RunModel } from '../task';
import { normalVector } from './cppn-runtime';

export interface SampleOptions {
  latentDim: number;
  seed?: number;
  /** Spread of z; default 1. */
  temperature?: number;
}

/** Decoder inputs for `labels`: z rows drawn from one seeded stream. */
export function decoderInputs(labels: readonly number[], o: SampleOptions): Record<string, Tensor> {
  const rng = new Rng(o.seed ?? 0);
  const z = new Float32Array(labels.length * o.latentDim);
  labels.forEach((_, i) => {
    z.set(normalVector(rng, o.latentDim, o.temperature ?? 1), i * o.latentDim);
  });
  return {
    label: tensorFrom('int64', [labels.length], labels),
    z: { dtype: 'float32', dims: [labels.length, o.latentDim], data: z },
  };
}

export interface Recognition {
  /** Share of all samples classified as their requested class, 0..1. */
  overall: number;
  /** Per class id. */
  perClass: number[];
  samples: number;
}

function argmaxRows(t: Tensor): number[] {
  const [n, k] = t.dims;
  const d = t.data as Float32Array;
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (d[i * k + j] > d[i * k + best]) best = j;
    return best;
  });
}

/**
 * `perClass` samples of each of `classes` classes through `decode` (label + z → image [N,1,H,W]),
 * judged by `classify` (x [N,1,H,W] → logits [N, K]).
 */
export async function measureRecognition(
  decode: RunModel,
  classify: RunModel,
  o: SampleOptions & { classes: number; perClass: number },
): Promise<Recognition> {
  const labels = Array.from({ length: o.classes * o.perClass }, (_, i) => Math.floor(i / o.perClass));
  const { image } = await decode(decoderInputs(labels, o), { outputs: ['image'] });
  const logitsName = 'logits';
  const out = await classify({ x: image }, { outputs: [logitsName] });
  const predicted = argmaxRows(out[logitsName]);
  const hits = new Array<number>(o.classes).fill(0);
  predicted.forEach((p, i) => {
    if (p === labels[i]) hits[labels[i]]++;
  });
  return {
    overall: hits.reduce((a, b) => a + b, 0) / labels.length,
    perClass: hits.map((h) => h / o.perClass),
    samples: labels.length,
  };
}

/** A grid of samples, one row per class, `columns` per row (upscaled by `scale` for viewing). */
export async function sampleGrid(
  decode: RunModel,
  o: SampleOptions & { classes: number; columns: number },
): Promise<Image> {
  const labels = Array.from({ length: o.classes * o.columns }, (_, i) => Math.floor(i / o.columns));
  const { image } = await decode(decoderInputs(labels, o), { outputs: ['image'] });
  if (elementCount(image.dims) === 0) return tileImages([]);
  return tileImages(imagesFromBatch(image), { columns: o.columns, padding: 2, background: 1 });
}
