/**
 * Input-gradient saliency for image classifiers, computed with the engine's autodiff: a graph whose
 * outputs are the logits AND ∂ logit_c / ∂ input for a chosen class c, exported as ONNX (weights
 * baked in), so an explanation is one more model run through the platform's runner.
 *
 *   const onnx = buildSaliencyModel(definition);          // register beside the model, role 'saliency'
 *   const explainer = imageExplainer(ctx.runArtifact!('saliency'), { labels });
 *   const { label, scores, overlayPng } = await explainer.explain(image);
 *
 * ONNX signature: inputs `x` float32 [B, C, H, W] and `target` int64 [B] (the class to explain,
 * −1 = the predicted class), plus `noise` [S, C, H, W] for SmoothGrad graphs; outputs `logits` [B, K], `probabilities` [B, K], `target_class` int64
 * [B], `gradient` [B, C, H, W] and `saliency` [B, H, W] = max over channels of |gradient|.
 */
import { fail } from '../../common/errors';
import { encodeModel, Graph, gradients, type Parameter, type Value } from '../../engine/index';
import { type Tensor, tensorFrom } from '../../engine/runtime/tensor';
import {
  encodePng,
  type Image,
  imageToTensor,
  resizeImage,
  type ScoreMap,
  saliencyOverlay,
  toChannels,
} from '../common/image';
import { Rng } from '../common/prng';
import type { RunModel } from '../task';

/** What a saliency graph needs of an image classifier: its input shape and forward pass. */
export interface ImageClassifierDefinition {
  /** [C, H, W] of one image. */
  inputShape: readonly [number, number, number];
  /** Number of classes K (the width of the logits). */
  classes: number;
  /** Parameters (current values are baked into exported graphs). */
  params: readonly Parameter[];
  /** x [B, C, H, W] → logits [B, K]. */
  forward(x: Value): Value;
}

/** The target class per row: `target`, or the arg-max of the logits where target < 0. */
export function chosenClass(logits: Value, target: Value): Value {
  const g = logits.graph;
  const predicted = g.op('ArgMax', [logits], { axis: -1, keepdims: false });
  return g.op('Where', [g.op('Less', [target, g.scalar(0, 'int64')]), predicted, target]);
}

/** Σ_rows logit[row, class[row]]: its gradient w.r.t. x is each row's ∂ logit_c / ∂ x. */
export function selectedLogitSum(logits: Value, classes: Value, k: number): Value {
  const g = logits.graph;
  const eye = new Float32Array(k * k);
  for (let i = 0; i < k; i++) eye[i * k + i] = 1;
  const oneHot = g.op('Gather', [g.constant(tensorFrom('float32', [k, k], eye)), classes], { axis: 0 });
  return g.op('ReduceSum', [g.op('Mul', [logits, oneHot])], { keepdims: false });
}

export interface SaliencyOptions {
  /** Images per run (static: the gradient rules need static shapes). Default 1. */
  batch?: number;
  /**
   * SmoothGrad: average the gradient over this many noisy copies x + n_s (n_s fed as input
   * `noise` [S, C, H, W]); plain gradients of ReLU nets are speckled. 0 = plain. Needs batch 1.
   */
  samples?: number;
}

/**
 * Saliency ONNX for `def`. With `samples` S > 0 it has a third input `noise` [S, C, H, W]; the class
 * is chosen on the clean image and `gradient` is (1/S) Σ_s ∂ logit_c(x + n_s) / ∂ x.
 */
export function buildSaliencyModel(
  def: ImageClassifierDefinition,
  options: SaliencyOptions = {},
): Uint8Array {
  const batch = options.batch ?? 1;
  const samples = options.samples ?? 0;
  if (samples > 0 && batch !== 1)
    fail('invalid_request', 'SmoothGrad saliency graphs take one image per run');
  const g = new Graph();
  const [c, h, w] = def.inputShape;
  const x = g.input('x', 'float32', [batch, c, h, w]);
  const target = g.input('target', 'int64', [batch]);
  const logits = def.forward(x);
  if (logits.shape.length !== 2 || logits.shape[1] !== def.classes)
    fail('invalid_request', `the classifier must output [B, ${def.classes}] logits, got [${logits.shape}]`);
  const cls = chosenClass(logits, target);
  let objective = selectedLogitSum(logits, cls, def.classes);
  if (samples > 0) {
    const noise = g.input('noise', 'float32', [samples, c, h, w]);
    // x is broadcast over the S copies, so ∂/∂x sums the S per-copy gradients.
    const noisy = def.forward(g.op('Add', [x, noise]));
    objective = g.op('Mul', [selectedLogitSum(noisy, cls, def.classes), g.scalar(1 / samples, 'float32')]);
  }
  const [grad] = gradients(g, objective, [x]);
  if (!grad) fail('invalid_request', 'the logits do not depend on the input');
  g.output('logits', logits);
  g.output('probabilities', g.op('Softmax', [logits], { axis: -1 }));
  g.output('target_class', cls);
  g.output('gradient', grad);
  g.output('saliency', g.op('ReduceMax', [g.op('Abs', [grad])], { axes: [1], keepdims: false }));
  return encodeModel(g, { name: 'maas-saliency' });
}

export interface ImageExplanation {
  /** Class explained (the predicted one unless asked otherwise). */
  classIndex: number;
  label: string;
  probabilities: Record<string, number>;
  /** |∂ logit / ∂ pixel| on the model's input grid. */
  scores: ScoreMap;
  /** The input (at its original size) with the heat map over it. */
  overlayPng: Buffer;
}

export interface ImageExplainerOptions {
  labels: readonly string[];
  /** Model input [C, H, W]; default [1, 28, 28]. */
  inputShape?: readonly [number, number, number];
  colormap?: string;
  /** Must match the graph: SmoothGrad copies and the noise σ (in pixel units, 0..1 images). */
  smoothing?: { samples: number; sigma: number };
}

/** Image → the model's input tensor [1, C, H, W] (channels converted, resized bilinearly). */
export function modelInput(img: Image, [c, h, w]: readonly [number, number, number]): Tensor {
  if (c !== 1 && c !== 3) fail('invalid_request', `an image model takes 1 or 3 channels, not ${c}`);
  let v = toChannels(img, c);
  if (v.width !== w || v.height !== h) v = resizeImage(v, w, h);
  return imageToTensor(v);
}

/** N(0, σ²) noise [S, C, H, W] from a fixed seed: the same image always gets the same explanation. */
export function smoothingNoise(samples: number, [c, h, w]: readonly number[], sigma: number): Tensor {
  const rng = new Rng(0x5a11);
  const data = new Float32Array(samples * c * h * w);
  for (let i = 0; i < data.length; i++) {
    data[i] = sigma * Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  }
  return { dtype: 'float32', dims: [samples, c, h, w], data };
}

/** Explanations through a saliency graph run by `run` (batch 1). */
export function imageExplainer(run: RunModel, o: ImageExplainerOptions) {
  const shape = o.inputShape ?? [1, 28, 28];
  return {
    async explain(img: Image, options: { classIndex?: number; signal?: AbortSignal } = {}) {
      const k = options.classIndex ?? -1;
      if (!Number.isInteger(k) || k < -1 || k >= o.labels.length)
        fail('invalid_request', `class index must be in [0, ${o.labels.length - 1}]`);
      const feeds: Record<string, Tensor> = {
        x: modelInput(img, shape),
        target: tensorFrom('int64', [1], [k]),
      };
      if (o.smoothing) feeds.noise = smoothingNoise(o.smoothing.samples, shape, o.smoothing.sigma);
      const out = await run(feeds, {
        outputs: ['probabilities', 'target_class', 'saliency'],
        signal: options.signal,
      });
      const classIndex = Number((out.target_class.data as BigInt64Array)[0]);
      const probs = out.probabilities.data as Float32Array;
      const scores: ScoreMap = { width: shape[2], height: shape[1], data: out.saliency.data as Float32Array };
      const explanation: ImageExplanation = {
        classIndex,
        label: o.labels[classIndex] ?? String(classIndex),
        probabilities: Object.fromEntries(o.labels.map((l, i) => [l, probs[i]])),
        scores,
        overlayPng: encodePng(saliencyOverlay(img, scores, { colormap: o.colormap ?? 'inferno' })),
      };
      return explanation;
    },
  };
}
