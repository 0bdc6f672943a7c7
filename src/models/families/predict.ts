/**
 * Model outputs → answers a person can read, using the feature spec stored with the model:
 * logits → label + class probabilities (softmax); standardised values → values in the target's
 * units.
 */
import { fail } from '../../common/errors';
import {
  type ClassTarget,
  decodeClass,
  decodeRegression,
  type FeatureSpec,
  type TargetSpec,
} from '../../data/index';
import type { Tensor } from '../../engine/runtime/tensor';

export type Prediction = { label: string; probabilities: Record<string, number> } | { value: number };

function targetOf(spec: FeatureSpec): TargetSpec | undefined {
  return spec.kind === 'language-model' ? undefined : spec.target;
}

function softmaxRow(data: ArrayLike<number>, offset: number, n: number): number[] {
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < n; j++) max = Math.max(max, data[offset + j]);
  const e = Array.from({ length: n }, (_, j) => Math.exp(data[offset + j] - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

function decodeClasses(target: ClassTarget, logits: Tensor): Prediction[] {
  const [rows, n] = logits.dims;
  const data = logits.data as Float32Array;
  return Array.from({ length: rows }, (_, i) => {
    const p = softmaxRow(data, i * n, n);
    let best = 0;
    for (let j = 1; j < n; j++) if (p[j] > p[best]) best = j;
    const probabilities: Record<string, number> = {};
    p.forEach((v, j) => {
      probabilities[decodeClass(target, j)] = Number(v.toFixed(6));
    });
    return { label: decodeClass(target, best), probabilities };
  });
}

/** `outputs` is what the inference graph returned: `logits` or `value`. */
export function decodePredictions(spec: FeatureSpec, outputs: Record<string, Tensor>): Prediction[] {
  const target = targetOf(spec);
  if (target?.kind === 'regression' && outputs.value) {
    return Array.from(outputs.value.data as Float32Array, (v) => ({ value: decodeRegression(target, v) }));
  }
  if (target?.kind === 'class' && outputs.logits) return decodeClasses(target, outputs.logits);
  throw new Error('the model outputs do not match its feature spec');
}

/** One raw input (a JSON value from a request) → the record `rowsFromRecords` reads. */
function recordOf(spec: FeatureSpec, v: unknown, i: number): Record<string, unknown> {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  if (typeof v !== 'string')
    fail('invalid_request', `inputs[${i}] must be an object or a string`, { pointer: `inputs[${i}]` });
  if (spec.kind === 'text') return { [spec.column]: v };
  if (spec.kind === 'image')
    return { [spec.column]: v.startsWith('data:') ? v : new Uint8Array(Buffer.from(v, 'base64')) };
  if (spec.kind === 'language-model') return { text: v };
  return fail('invalid_request', `inputs[${i}]: this model takes rows as objects ({"column": value})`, {
    pointer: `inputs[${i}]`,
  });
}

/**
 * Raw inputs → records: an object is a row as it is; a string is the text of a text model, or an
 * image (a `data:image/png;base64,` URL or bare base64) of an image model.
 */
export function recordsFromInputs(spec: FeatureSpec, inputs: readonly unknown[]): Record<string, unknown>[] {
  return inputs.map((v, i) => recordOf(spec, v, i));
}
