/**
 * Text classifiers (`text-cnn`): gradient × embedding per token (text-saliency.ts) over the rebuilt
 * network, tokenised exactly as at training time.
 *
 *   {"input": "win a free prize now"} → {label, tokens: [{token: "free", score: 0.81, signed: 0.77}, …]}
 */
import { fail } from '../../common/errors';
import { type TextSpec, tokenizerFromSpec } from '../../data/index';
import { textCnnBody } from '../families/text-cnn';
import { buildTextSaliencyModel, textExplainer } from '../vision/text-saliency';
import { classifierShape, loadWeights, type Metadata } from './rebuild';
import { type ExplainerRow, labelled, saliencyRunner, type TextExplanation, targetIndex } from './types';

/** Longest text accepted (characters); the model reads at most `maxLength` tokens of it anyway. */
const MAX_TEXT_CHARS = 100_000;

function textSpecOf(metadata: Metadata) {
  const c = classifierShape(metadata);
  if (c.spec.kind !== 'text') fail('not_explainable', `a ${c.family} model needs a text feature spec`);
  return { ...c, spec: c.spec as TextSpec };
}

function buildTextSaliency(metadata: Metadata, onnx: Uint8Array): Uint8Array {
  const { spec, shape, hp } = textSpecOf(metadata);
  const body = textCnnBody(shape, hp);
  loadWeights(body.params, onnx);
  return buildTextSaliencyModel({
    sequenceLength: spec.maxLength,
    classes: shape.classes,
    params: body.params,
    embed: body.embed,
    classify: (vectors) => body.classify(vectors),
  });
}

export const textExplainerRow: ExplainerRow = {
  family: 'text-cnn',
  buildSaliency: buildTextSaliency,
  create(ctx) {
    const { spec, labels } = textSpecOf(ctx.metadata);
    const tok = tokenizerFromSpec(spec.tokenizer);
    const explainer = textExplainer(saliencyRunner(ctx), {
      labels,
      sequenceLength: spec.maxLength,
      padId: tok.padId,
      tokenize(text) {
        const ids = tok.encode(text);
        return { ids, tokens: ids.map((id) => tok.decode([id])) };
      },
    });
    return {
      kind: 'text',
      async explain(req): Promise<TextExplanation> {
        const k = targetIndex(labels, req.target);
        if (typeof req.input !== 'string' || req.input.length === 0 || req.input.length > MAX_TEXT_CHARS)
          fail('invalid_request', `input must be a non-empty text of at most ${MAX_TEXT_CHARS} characters`, {
            pointer: 'input',
          });
        const e = await explainer.explain(req.input, { classIndex: k, signal: req.signal });
        const probs = labels.map((l) => e.probabilities[l]);
        return {
          kind: 'text',
          classIndex: e.classIndex,
          label: e.label,
          ...labelled(labels, probs),
          tokens: e.tokens.map((t) => ({
            token: t.token,
            score: Number(t.score.toPrecision(5)),
            signed: Number(t.signed.toPrecision(5)),
          })),
        };
      },
    };
  },
};
