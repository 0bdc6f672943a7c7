/**
 * Tabular classifiers (`mlp`): gradient × input on the encoded row, summed per feature (a
 * categorical feature's one-hot slots add up to the active slot's term). Inputs are standardised,
 * so a feature at its training mean scores 0: the score is its first-order push on the explained
 * logit away from an "average" row.
 *
 * ONNX signature of the saliency graph: inputs `x` float32 [1, W], `target` int64 [1] (−1 =
 * predicted); outputs `logits`, `probabilities` [1, K], `target_class` int64 [1], `gradient` [1, W].
 */
import { fail } from '../../common/errors';
import { encodeInputs, rowsFromRecords, type TabularSpec } from '../../data/index';
import { encodeModel, Graph, gradients } from '../../engine/index';
import { tensorFrom } from '../../engine/runtime/tensor';
import { families } from '../families/index';
import { chosenClass, selectedLogitSum } from '../vision/saliency';
import { classifierShape, loadWeights, type Metadata } from './rebuild';
import { type ExplainerRow, labelled, saliencyRunner, type TabularExplanation, targetIndex } from './types';

function tabularSpecOf(metadata: Metadata) {
  const c = classifierShape(metadata);
  if (c.spec.kind !== 'tabular') fail('not_explainable', `a ${c.family} model needs a tabular feature spec`);
  return { ...c, spec: c.spec as TabularSpec };
}

function buildTabularSaliency(metadata: Metadata, onnx: Uint8Array): Uint8Array {
  const { family, spec, shape, hp } = tabularSpecOf(metadata);
  const model = families.get(family).build(shape, hp, 1);
  loadWeights(model.params, onnx);
  const g = new Graph();
  const x = g.input('x', 'float32', [1, spec.width]);
  const target = g.input('target', 'int64', [1]);
  const logits = model.forward({ x }, g).logits;
  const cls = chosenClass(logits, target);
  const [grad] = gradients(g, selectedLogitSum(logits, cls, shape.classes), [x]);
  if (!grad) fail('not_explainable', 'the logits do not depend on the input');
  g.output('logits', logits);
  g.output('probabilities', g.op('Softmax', [logits], { axis: -1 }));
  g.output('target_class', cls);
  g.output('gradient', grad);
  return encodeModel(g, { name: 'maas-tabular-saliency' });
}

export const tabularExplainerRow: ExplainerRow = {
  family: 'mlp',
  buildSaliency: buildTabularSaliency,
  create(ctx) {
    const { spec, labels } = tabularSpecOf(ctx.metadata);
    const run = saliencyRunner(ctx);
    return {
      kind: 'tabular',
      async explain(req): Promise<TabularExplanation> {
        const k = targetIndex(labels, req.target);
        const row = req.input;
        if (typeof row !== 'object' || row === null || Array.isArray(row))
          fail('invalid_request', 'input must be a row object {"column": value}', { pointer: 'input' });
        const x = encodeInputs(spec, rowsFromRecords([row as Record<string, unknown>]));
        const out = await run(
          { x, target: tensorFrom('int64', [1], [k]) },
          { outputs: ['probabilities', 'target_class', 'gradient'], signal: req.signal },
        );
        const grad = out.gradient.data as Float32Array;
        const xs = x.data as Float32Array;
        let at = 0;
        const features = spec.features.map((f) => {
          const width = f.kind === 'numeric' ? 1 : f.categories.length + 1;
          let score = 0;
          for (let i = at; i < at + width; i++) score += grad[i] * xs[i];
          at += width;
          const value = (row as Record<string, unknown>)[f.name] ?? null;
          return { feature: f.name, value, score: Number(score.toPrecision(5)) };
        });
        const classIndex = Number((out.target_class.data as BigInt64Array)[0]);
        return {
          kind: 'tabular',
          classIndex,
          label: labels[classIndex],
          ...labelled(labels, out.probabilities.data as Float32Array),
          features,
        };
      },
    };
  },
};
