/**
 * Explanations rebuilt from a version's metadata and stored ONNX: the saliency graphs' gradients
 * against central finite differences of the exported inference model itself (the oracle), the
 * per-feature grouping of tabular attributions, and clear refusals for what cannot be explained.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { isMaasError } from '../../src/common/errors';
import type { ImageSpec, TabularSpec } from '../../src/data/index';
import { Graph } from '../../src/engine/ir/graph';
import { encodeModel } from '../../src/engine/onnx/encode';
import { EngineSession } from '../../src/engine/runtime/session';
import { type Tensor, tensorFrom } from '../../src/engine/runtime/tensor';
import { buildInferenceGraph } from '../../src/engine/train/graphs';
import { explainerFor } from '../../src/models/explain/index';
import { families, type Recipe, validateHyperparameters } from '../../src/models/families/index';
import { DIGIT_SMOOTHING, digitCnn } from '../../src/models/vision/digits';
import { buildSaliencyModel, smoothingNoise } from '../../src/models/vision/saliency';

const sessions: EngineSession[] = [];
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.release()));
});

async function open(bytes: Uint8Array): Promise<EngineSession> {
  const s = await EngineSession.create(bytes);
  sessions.push(s);
  return s;
}

/** A randomly initialised family model exported as the trainer exports it, with its metadata. */
function exported(family: Recipe, spec: ImageSpec | TabularSpec, inputDims: number[], hp: object) {
  const hyperparameters = validateHyperparameters(family, hp);
  const classes = spec.target?.kind === 'class' ? spec.target.classes.length : 0;
  const model = family.build({ spec, inputDims, classes }, hyperparameters, 1);
  const onnx = encodeModel(buildInferenceGraph(model), { name: 'test' });
  const metadata = { family: family.name, featureSpec: spec, lineage: { hyperparameters } };
  return { onnx, metadata };
}

/** Central differences of logit `k` of the inference model at x (float32, step h). */
async function finiteDifferences(model: EngineSession, x: Tensor<'float32'>, k: number, h: number) {
  const out: number[] = [];
  for (let i = 0; i < x.data.length; i++) {
    const at = async (d: number) => {
      const data = Float32Array.from(x.data);
      data[i] += d;
      const r = await model.run({ x: { dtype: 'float32', dims: x.dims, data } });
      return (r.logits.data as Float32Array)[k];
    };
    out.push(((await at(h)) - (await at(-h))) / (2 * h));
  }
  return out;
}

const tabular: TabularSpec = {
  kind: 'tabular',
  version: 1,
  features: [
    { name: 'a', kind: 'numeric', mean: 1, std: 2 },
    { name: 'colour', kind: 'categorical', categories: ['red', 'blue'] },
    { name: 'b', kind: 'numeric', mean: 0, std: 1 },
  ],
  width: 5,
  ignored: [],
  target: { name: 'label', kind: 'class', classes: ['neg', 'mid', 'pos'] },
};

describe('tabular (mlp) explanations', () => {
  it('gradients match finite differences, and scores are gradient × input summed per feature', async () => {
    const { onnx, metadata } = exported(families.get('mlp'), tabular, [5], { hidden: [7], seed: 3 });
    const row = explainerFor('mlp')!;
    const saliency = await open(row.buildSaliency(metadata, onnx));
    const model = await open(onnx);
    // a = 2 → (2−1)/2 = 0.5; colour blue → slot 1 of 3; b = −0.7.
    const x = tensorFrom('float32', [1, 5], [0.5, 0, 1, 0, -0.7]);
    const out = await saliency.run({ x, target: tensorFrom('int64', [1], [2]) });
    const grad = Array.from(out.gradient.data as Float32Array);
    const fd = await finiteDifferences(model, x, 2, 1e-2);
    for (let i = 0; i < 5; i++) expect(grad[i]).toBeCloseTo(fd[i], 3);
    expect(Math.max(...grad.map(Math.abs))).toBeGreaterThan(1e-3);

    const explainer = row.create({
      run: () => Promise.reject(new Error('the explainer runs the saliency graph only')),
      metadata,
      runArtifact: () => (inputs, o) => saliency.run(inputs, o?.outputs),
    });
    const e = await explainer.explain({ input: { a: 2, colour: 'blue', b: -0.7 }, target: 'pos' });
    expect(e.kind).toBe('tabular');
    if (e.kind !== 'tabular') return;
    expect(e.label).toBe('pos');
    expect(e.features.map((f) => f.feature)).toEqual(['a', 'colour', 'b']);
    expect(e.features[0].score).toBeCloseTo(grad[0] * 0.5, 4);
    expect(e.features[1].score).toBeCloseTo(grad[2], 4); // only the active one-hot slot counts
    expect(e.features[2].score).toBeCloseTo(grad[4] * -0.7, 4);
    expect(Object.values(e.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
  });
});

describe('image (cnn) explanations', () => {
  const spec: ImageSpec = {
    kind: 'image',
    version: 1,
    column: 'image',
    width: 6,
    height: 6,
    channels: 1,
    layout: 'NCHW',
    target: { name: 'label', kind: 'class', classes: ['a', 'b'] },
  };

  it('the plain input gradient matches finite differences of the exported model', async () => {
    const hp = { channels: [3], kernel: 3, hidden: 4, seed: 5 };
    const base = exported(families.get('cnn'), spec, [1, 6, 6], hp);
    const metadata = { ...base.metadata, saliency: { samples: 0 } };
    const saliency = await open(explainerFor('cnn')!.buildSaliency(metadata, base.onnx));
    const model = await open(base.onnx);
    const x = tensorFrom(
      'float32',
      [1, 1, 6, 6],
      Array.from({ length: 36 }, (_, i) => 0.5 + 0.4 * Math.sin(i * 1.7)),
    );
    const out = await saliency.run({ x, target: tensorFrom('int64', [1], [1]) });
    const grad = Array.from(out.gradient.data as Float32Array);
    const fd = await finiteDifferences(model, x, 1, 1e-3);
    const scale = Math.max(...fd.map(Math.abs));
    expect(scale).toBeGreaterThan(1e-4);
    for (let i = 0; i < 36; i++) expect(Math.abs(grad[i] - fd[i])).toBeLessThan(2e-2 * scale + 1e-5);
    // `saliency` is max over channels of |gradient| (one channel here).
    const sal = Array.from(out.saliency.data as Float32Array);
    sal.forEach((v, i) => {
      expect(v).toBeCloseTo(Math.abs(grad[i]), 6);
    });
  });

  it('refuses weights that are not the recipe’s, and models that are not classifiers', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isMaasError(e) ? `${e.code}: ${e.message}` : String(e);
      }
      return 'no error';
    };
    const small = exported(families.get('cnn'), spec, [1, 6, 6], { channels: [3], kernel: 3 });
    const other = { ...small.metadata, lineage: { hyperparameters: { channels: [5], kernel: 3 } } };
    expect(code(() => explainerFor('cnn')!.buildSaliency(other, small.onnx))).toMatch(
      /^not_explainable: weights '0.weight' are float32 \[3,1,3,3\], the recipe expects float32 \[5,1,3,3\]/,
    );
    const regression = { ...small.metadata, featureSpec: { ...spec, target: undefined } };
    expect(code(() => explainerFor('cnn')!.buildSaliency(regression, small.onnx))).toMatch(
      /^not_explainable: .*not a classifier/,
    );
    expect(code(() => explainerFor('cnn')!.buildSaliency({ family: 'cnn' }, small.onnx))).toMatch(
      /^not_explainable: .*no feature spec/,
    );
  });
});

describe('the zoo digit CNN (metadata without a feature spec)', () => {
  it('is rebuilt as the cnn recipe with default hyperparameters: same saliency as its own definition', async () => {
    const def = digitCnn(7);
    const g = new Graph();
    g.output('logits', def.forward(g.input('x', 'float32', ['batch', 1, 28, 28])));
    const onnx = encodeModel(g, { name: 'zoo' });
    // What the zoo registers for mnist-cnn (src/models/vision/digits.ts).
    const metadata = {
      family: 'cnn',
      task: 'classification',
      labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      input: { name: 'x', shape: [1, 28, 28], range: [0, 1] },
      saliency: { role: 'saliency', ...DIGIT_SMOOTHING },
    };
    const rebuilt = await open(explainerFor('cnn')!.buildSaliency(metadata, onnx));
    const own = await open(buildSaliencyModel(def, { samples: DIGIT_SMOOTHING.samples }));
    const x = tensorFrom(
      'float32',
      [1, 1, 28, 28],
      Array.from({ length: 784 }, (_, i) => ((i * 37) % 101) / 100),
    );
    const feeds = {
      x,
      target: tensorFrom('int64', [1], [-1]),
      noise: smoothingNoise(DIGIT_SMOOTHING.samples, [1, 28, 28], DIGIT_SMOOTHING.sigma),
    };
    const [a, b] = [await rebuilt.run(feeds), await own.run(feeds)];
    expect(a.target_class.data).toEqual(b.target_class.data);
    const [sa, sb] = [a.saliency.data as Float32Array, b.saliency.data as Float32Array];
    expect(Math.max(...sb)).toBeGreaterThan(0);
    for (let i = 0; i < 784; i += 7) expect(sa[i]).toBeCloseTo(sb[i], 5);
  });
});
