/**
 * Per-token saliency for text classifiers (gradient × input on the embeddings): for token t with
 * embedding e_t and g_t = ∂ logit_c / ∂ e_t, the score is ‖g_t ⊙ e_t‖₂ (how strongly the token
 * pushes the logit, either way) and the signed score Σ_d g_t,d · e_t,d (first-order contribution:
 * positive = evidence for class c). Exported as ONNX like the image variant (saliency.ts).
 *
 * ONNX signature: inputs `ids` int64 [B, T], `target` int64 [B] (−1 = predicted class); outputs
 * `logits`, `probabilities` [B, K], `target_class` int64 [B], `token_scores` and
 * `signed_scores` float32 [B, T].
 */
import { fail } from '../../common/errors';
import { encodeModel, Graph, gradients, type Parameter, type Value } from '../../engine/index';
import { tensorFrom } from '../../engine/runtime/tensor';
import type { RunModel } from '../task';
import { chosenClass, selectedLogitSum } from './saliency';

/** A text classifier split at its embedding: ids → vectors → logits. */
export interface TextClassifierDefinition {
  /** T: token ids per example (the saliency graph's static length). */
  sequenceLength: number;
  classes: number;
  params: readonly Parameter[];
  /** ids [B, T] int64 → embeddings [B, T, D]. */
  embed(ids: Value): Value;
  /** embeddings [B, T, D] (+ the ids, for padding masks) → logits [B, K]. */
  classify(embedded: Value, ids: Value): Value;
}

export function buildTextSaliencyModel(def: TextClassifierDefinition, batch = 1): Uint8Array {
  const g = new Graph();
  const ids = g.input('ids', 'int64', [batch, def.sequenceLength]);
  const target = g.input('target', 'int64', [batch]);
  const embedded = def.embed(ids);
  if (embedded.shape.length !== 3)
    fail('invalid_request', `embed must return [B, T, D], got [${embedded.shape}]`);
  const logits = def.classify(embedded, ids);
  const cls = chosenClass(logits, target);
  const [grad] = gradients(g, selectedLogitSum(logits, cls, def.classes), [embedded]);
  if (!grad) fail('invalid_request', 'the logits do not depend on the embeddings');
  const product = g.op('Mul', [grad, embedded]);
  g.output('logits', logits);
  g.output('probabilities', g.op('Softmax', [logits], { axis: -1 }));
  g.output('target_class', cls);
  const squares = g.op('ReduceSum', [g.op('Mul', [product, product])], { axes: [-1], keepdims: false });
  g.output('token_scores', g.op('Sqrt', [squares]));
  g.output('signed_scores', g.op('ReduceSum', [product], { axes: [-1], keepdims: false }));
  return encodeModel(g, { name: 'maas-text-saliency' });
}

export interface TokenScore {
  token: string;
  /** ‖gradient ⊙ embedding‖, ≥ 0. */
  score: number;
  /** Σ gradient · embedding: > 0 supports the explained class. */
  signed: number;
}

export interface TextExplainerOptions {
  labels: readonly string[];
  sequenceLength: number;
  /** Text → token ids (padded/truncated by the explainer) and their display strings. */
  tokenize(text: string): { ids: number[]; tokens: string[] };
  /** Id used for padding (default 0). */
  padId?: number;
}

/** Explanations through a text saliency graph run by `run` (batch 1); padding is not reported. */
export function textExplainer(run: RunModel, o: TextExplainerOptions) {
  return {
    async explain(text: string, options: { classIndex?: number; signal?: AbortSignal } = {}) {
      const k = options.classIndex ?? -1;
      if (!Number.isInteger(k) || k < -1 || k >= o.labels.length)
        fail('invalid_request', `class index must be in [0, ${o.labels.length - 1}]`);
      const { ids, tokens } = o.tokenize(text);
      const n = Math.min(ids.length, o.sequenceLength);
      const padded = Array.from({ length: o.sequenceLength }, (_, i) => (i < n ? ids[i] : (o.padId ?? 0)));
      const out = await run(
        { ids: tensorFrom('int64', [1, o.sequenceLength], padded), target: tensorFrom('int64', [1], [k]) },
        {
          outputs: ['probabilities', 'target_class', 'token_scores', 'signed_scores'],
          signal: options.signal,
        },
      );
      const classIndex = Number((out.target_class.data as BigInt64Array)[0]);
      const probs = out.probabilities.data as Float32Array;
      const scores = out.token_scores.data as Float32Array;
      const signed = out.signed_scores.data as Float32Array;
      return {
        classIndex,
        label: o.labels[classIndex] ?? String(classIndex),
        probabilities: Object.fromEntries(o.labels.map((l, i) => [l, probs[i]])),
        tokens: Array.from(
          { length: n },
          (_, i): TokenScore => ({
            token: tokens[i] ?? String(ids[i]),
            score: scores[i],
            signed: signed[i],
          }),
        ),
      };
    },
  };
}
