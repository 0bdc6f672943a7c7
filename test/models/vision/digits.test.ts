/**
 * The trained vision models on real MNIST digits, with short runs: a CNN judge, a conditional VAE
 * judged by it, the image-gen runtime, and input-gradient saliency of the CNN.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMaasError } from '../../../src/common/errors';
import { encodePng } from '../../../src/data/index';
import { type Tensor, tensorFrom } from '../../../src/engine/runtime/tensor';
import { decodePng, imageFromTensor } from '../../../src/models/common/image';
import { featureSpecClassifier } from '../../../src/models/families/runtime';
import { runtimeFor } from '../../../src/models/runtimes';
import type { ImageGenerationRuntime } from '../../../src/models/task';
import {
  type DigitData,
  digitBatch,
  loadDigits,
  type TrainedClassifier,
  trainDigitClassifier,
} from '../../../src/models/vision/digits';
import { type TrainedImageGen, trainImageGen } from '../../../src/models/vision/image-gen';
import '../../../src/models/vision/index';
import { measureRecognition } from '../../../src/models/vision/quality';
import { buildSaliencyModel, imageExplainer, smoothingNoise } from '../../../src/models/vision/saliency';
import { type Loaded, load } from './session';

let data: DigitData;
let clf: TrainedClassifier;
let gen: TrainedImageGen;
let classifier: Loaded;
let decoder: Loaded;
let saliency: Loaded;
let plain: Loaded;
const smoothing = { samples: 16, sigma: 0.15 };
const noise = () => smoothingNoise(16, [1, 28, 28], 0.15);

beforeAll(async () => {
  data = await loadDigits();
  clf = await trainDigitClassifier({ data, seed: 1, epochs: 1 });
  gen = await trainImageGen({ data, seed: 1, epochs: 4, hidden: 128, batchSize: 128, lr: 3e-3 });
  [classifier, decoder, saliency, plain] = await Promise.all([
    load(clf.onnx),
    load(gen.onnx),
    load(clf.saliencyOnnx),
    load(buildSaliencyModel(clf.definition)),
  ]);
}, 240_000);

afterAll(async () => {
  await Promise.all([classifier, decoder, saliency, plain].map((l) => l?.session.release()));
});

describe('digit classifier (CNN, engine-trained)', () => {
  it('recognises held-out digits after one short epoch', () => {
    expect(data.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(clf.accuracy).toBeGreaterThan(0.9);
    expect(classifier.session.inputs[0]).toMatchObject({ name: 'x', shape: ['batch', 1, 28, 28] });
  });

  it('classifies PNG digits through its stored feature spec, as the classify task serves it', async () => {
    const picks = [data.validation[0], data.validation[1], data.validation[2]];
    const { x } = digitBatch(data, picks);
    const logits = (await classifier.run({ x })).logits.data as Float32Array;
    const argmax = picks.map((_, i) => {
      const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
      return String(row.indexOf(Math.max(...row)));
    });
    const pngs = picks.map((k) => {
      const pixels = Uint8Array.from(data.images.subarray(k * 784, (k + 1) * 784), (v) =>
        Math.round(v * 255),
      );
      const png = encodePng({ kind: 'image', width: 28, height: 28, channels: 1, pixels });
      return `data:image/png;base64,${png.toString('base64')}`;
    });
    const runtime = featureSpecClassifier({ run: classifier.run, metadata: clf.metadata });
    const predictions = await runtime.classify(pngs);
    expect(predictions.map((p) => p.label)).toEqual(argmax);
    for (const p of predictions) expect(Object.keys(p.probabilities)).toHaveLength(10);
    // A model without a feature spec, or with numbers for a text, is refused with a 400-class error.
    expect(() => featureSpecClassifier({ run: classifier.run, metadata: {} })).toThrow(
      expect.objectContaining({ code: 'invalid_request' }),
    );
    await expect(runtime.classify([42])).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('shift augmentation moves each training image by at most the given pixels, zero-filled', () => {
    const k = data.train[0];
    const rng = { int: (n: number) => n - 1 }; // always the largest shift: +2 px right and down
    const { x } = digitBatch(data, [k], { pixels: 2, rng });
    const moved = x.data as Float32Array;
    for (let r = 0; r < 28; r++)
      for (let c = 0; c < 28; c++) {
        const want = r < 2 || c < 2 ? 0 : data.images[k * 784 + (r - 2) * 28 + (c - 2)];
        expect(moved[r * 28 + c]).toBe(want);
      }
  });
});

describe('image-gen (conditional VAE decoder)', () => {
  it('exports a decoder: label + z → 28×28 image', () => {
    expect(decoder.session.inputs.map((i) => [i.name, i.dtype, i.shape])).toEqual([
      ['label', 'int64', ['batch']],
      ['z', 'float32', ['batch', 8]],
    ]);
    expect(gen.metadata).toMatchObject({
      family: 'image-gen',
      latentDim: 8,
      imageSize: 28,
      temperature: 0.8,
    });
  });

  it('draws the requested digit: the classifier recognises ≥ 60 % of samples (short run)', async () => {
    const q = await measureRecognition(decoder.run, classifier.run, {
      latentDim: 8,
      classes: 10,
      perClass: 30,
      temperature: 0.8,
      seed: 9,
    });
    expect(q.samples).toBe(300);
    expect(q.overall).toBeGreaterThanOrEqual(0.6);
  });

  it('serves prompts through the registered runtime, upscaled to the requested size', async () => {
    const runtime = (await runtimeFor('image-gen')!({
      run: decoder.run,
      metadata: gen.metadata as unknown as Record<string, unknown>,
    })) as ImageGenerationRuntime;
    const pngs = await runtime.generate({
      prompt: 'a handwritten 7',
      n: 3,
      width: 256,
      height: 256,
      seed: 4,
    });
    expect(pngs).toHaveLength(3);
    // Back to 28×28 grey and through the classifier: the samples are sevens.
    const sevens = pngs.map((png) => {
      const img = decodePng(png);
      expect([img.width, img.height]).toEqual([256, 256]);
      return img;
    });
    const again = await runtime.generate({ prompt: 'digit seven', n: 1, width: 256, height: 256, seed: 4 });
    expect(Buffer.from(again[0]).equals(Buffer.from(pngs[0]))).toBe(true);
    const explainer = imageExplainer(saliency.run, { labels: data.classes, smoothing });
    const labels = await Promise.all(sevens.map(async (img) => (await explainer.explain(img)).label));
    expect(labels.filter((l) => l === '7').length).toBeGreaterThanOrEqual(2);
    await expect(
      runtime.generate({ prompt: 'a cat', n: 1, width: 64, height: 64 }).catch((e) => {
        throw isMaasError(e) ? new Error(`${e.code}: ${e.message}`) : e;
      }),
    ).rejects.toThrow(/^invalid_request: the prompt names no class .*"a handwritten 7"/);
  });
});

/** Indices of 20 held-out digits. */
const probe = () => Array.from({ length: 20 }, (_, i) => data.validation[i * 50]);

describe('saliency (input gradients through the engine autodiff)', () => {
  it('returns ∂logit_c/∂x: central differences of the classifier agree on the strongest pixels', async () => {
    const { x } = digitBatch(data, [data.validation[0]]);
    const out = await plain.run({ x, target: tensorFrom('int64', [1], [-1]) });
    const c = Number((out.target_class.data as BigInt64Array)[0]);
    const g = out.gradient.data as Float32Array;
    const logit = async (i: number, h: number) => {
      const moved: Tensor = {
        dtype: 'float32',
        dims: x.dims,
        data: Float32Array.from(x.data as Float32Array),
      };
      (moved.data as Float32Array)[i] += h;
      return ((await classifier.run({ x: moved })).logits.data as Float32Array)[c];
    };
    const strongest = [...g.keys()].sort((a, b) => Math.abs(g[b]) - Math.abs(g[a])).slice(0, 5);
    const h = 1e-3;
    for (const i of strongest) {
      const fd = ((await logit(i, h)) - (await logit(i, -h))) / (2 * h);
      // float32 logits ≈ 10: a difference of 2e-3 carries ≈ 1e-3 absolute noise in the slope.
      expect(Math.abs(fd - g[i])).toBeLessThan(0.01 + 0.03 * Math.abs(g[i]));
    }
    expect(Math.abs(g[strongest[0]])).toBeGreaterThan(0.05);
  });

  it('SmoothGrad is the mean of the plain gradients at the noisy copies', async () => {
    const { x } = digitBatch(data, [data.validation[300]]);
    const n = noise();
    const smooth = await saliency.run({ x, target: tensorFrom('int64', [1], [-1]), noise: n });
    const c = (smooth.target_class.data as BigInt64Array)[0];
    const mean = new Float32Array(784);
    for (let s = 0; s < smoothing.samples; s++) {
      const copy = Float32Array.from(
        x.data as Float32Array,
        (v, i) => v + (n.data as Float32Array)[s * 784 + i],
      );
      const out = await plain.run({ x: { ...x, data: copy }, target: tensorFrom('int64', [1], [c]) });
      (out.gradient.data as Float32Array).forEach((v, i) => {
        mean[i] += v / smoothing.samples;
      });
    }
    const g = smooth.gradient.data as Float32Array;
    for (let i = 0; i < 784; i++) expect(g[i]).toBeCloseTo(mean[i], 4);
  });

  it('concentrates on the strokes of the digit, not the blank border', async () => {
    let onStrokes = 0;
    let onBorder = 0;
    for (const k of probe()) {
      const { x } = digitBatch(data, [k]);
      const out = await saliency.run(
        { x, target: tensorFrom('int64', [1], [-1]), noise: noise() },
        { outputs: ['saliency'] },
      );
      const s = out.saliency.data as Float32Array;
      const px = x.data as Float32Array;
      let [strokeSum, strokeN, borderSum, borderN] = [0, 0, 0, 0];
      for (let i = 0; i < 784; i++) {
        const [row, col] = [Math.floor(i / 28), i % 28];
        if (px[i] > 0.5) [strokeSum, strokeN] = [strokeSum + s[i], strokeN + 1];
        else if (row < 3 || row > 24 || col < 3 || col > 24)
          [borderSum, borderN] = [borderSum + s[i], borderN + 1];
      }
      onStrokes += strokeSum / strokeN;
      onBorder += borderSum / borderN;
    }
    // Mean saliency per stroke pixel vs per pixel of the 3-px border (all blank in MNIST).
    // Measured 3.75 after the one-epoch CNN of this file (plain gradients: 2.9).
    expect(onStrokes / onBorder).toBeGreaterThan(2.5);
  });

  it('explains an image: label, probabilities and a heat-map overlay PNG at the image size', async () => {
    const { x, y } = digitBatch(data, [data.validation[1]]);
    const img = imageFromTensor(x);
    const e = await imageExplainer(saliency.run, { labels: data.classes, smoothing }).explain(img);
    expect(e.label).toBe(String(y.data[0]));
    expect(Object.values(e.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    const overlay = decodePng(e.overlayPng);
    expect([overlay.width, overlay.height]).toEqual([28, 28]);
    const forced = await imageExplainer(saliency.run, { labels: data.classes, smoothing }).explain(img, {
      classIndex: 3,
    });
    expect(forced.classIndex).toBe(3);
  });
});
