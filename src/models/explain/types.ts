/**
 * What an explanation request and answer look like, for every explainable family. One row per
 * family (index.ts) says how to build the version's saliency graph and how to run it.
 */
import { fail } from '../../common/errors';
import type { RuntimeContext } from '../task';
import type { Metadata } from './rebuild';

export interface ExplainRequest {
  /**
   * The input as /predict takes one: an image (a `data:image/png;base64,` URL, bare base64 of a
   * PNG/JPEG, or raw pixels `{width, height, channels, pixels}` with 0..255 values), a text, or a
   * tabular row `{"column": value}`.
   */
  input: unknown;
  /** The class to explain, by label or index; default: the predicted class. */
  target?: string | number;
  /** Uploaded models: `gradient`, `smoothgrad` (image default) or `integrated_gradients`. */
  method?: string;
  /** Uploaded models with several float inputs or outputs: which to explain. */
  inputName?: string;
  outputName?: string;
  signal?: AbortSignal;
}

interface ExplanationBase {
  /** The class explained. */
  classIndex: number;
  label: string;
  /** The predicted class (argmax of the probabilities). */
  predicted: string;
  probabilities: Record<string, number>;
}

export interface ImageExplanation extends ExplanationBase {
  kind: 'image';
  /** The input's own size (px); the heat map has this size too. */
  width: number;
  height: number;
  /** PNG: the saliency heat map blended over the input, `width`×`height`. */
  heatmapPng: Buffer;
  /** max over channels of |∂ logit / ∂ pixel| on the model's input grid (row-major), when small. */
  saliency?: { width: number; height: number; values: number[] };
}

export interface TextExplanation extends ExplanationBase {
  kind: 'text';
  /** In text order (padding left out): ‖gradient ⊙ embedding‖ and its signed sum (> 0 supports). */
  tokens: { token: string; score: number; signed: number }[];
}

export interface TabularExplanation extends ExplanationBase {
  kind: 'tabular';
  /** Gradient × input per feature, on the standardised encoding (0 = the training mean). */
  features: { feature: string; value: unknown; score: number }[];
}

export type Explanation = ImageExplanation | TextExplanation | TabularExplanation;

export interface Explainer {
  kind: Explanation['kind'];
  explain(req: ExplainRequest): Promise<Explanation>;
}

export interface ExplainerRow {
  family: string;
  /** The saliency ONNX (role `saliency`) of a version: the recipe rebuilt with the stored weights. */
  buildSaliency(metadata: Metadata, onnx: Uint8Array, role?: string): Uint8Array;
  /** Explanations that run that graph through `ctx.runArtifact('saliency')`. */
  create(ctx: RuntimeContext): Explainer;
}

/** `target` (label or index) → class index, or −1 (= the predicted class) when absent. */
export function targetIndex(labels: readonly string[], target: string | number | undefined): number {
  if (target === undefined) return -1;
  const i = typeof target === 'string' ? labels.indexOf(target) : target;
  if (!Number.isInteger(i) || i < 0 || i >= labels.length)
    fail(
      'invalid_request',
      `target must be one of the model's labels (${labels.slice(0, 20).join(', ')}) or an index in [0, ${labels.length - 1}]`,
      { pointer: 'target' },
    );
  return i;
}

/** Probabilities by label, rounded to 6 decimals as /predict does, and the argmax label. */
export function labelled(labels: readonly string[], probs: ArrayLike<number>) {
  let best = 0;
  for (let i = 1; i < labels.length; i++) if (probs[i] > probs[best]) best = i;
  const probabilities = Object.fromEntries(labels.map((l, i) => [l, Number(probs[i].toFixed(6))]));
  return { probabilities, predicted: labels[best] };
}

export function saliencyRunner(ctx: RuntimeContext) {
  if (!ctx.runArtifact) fail('internal', 'this server cannot run derived artifacts');
  return ctx.runArtifact('saliency');
}
