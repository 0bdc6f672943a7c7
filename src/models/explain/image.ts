/**
 * Image classifiers (`cnn`): SmoothGrad input-gradient saliency (saliency.ts) over the rebuilt
 * network, a heat map at the input's own size, and the raw grid when it is small.
 *
 *   {"input": "data:image/png;base64,iVBOR..."} → {label, probabilities, heatmapPng, saliency}
 */
import { fail } from '../../common/errors';
import { decodeImage, encodeInputs, type ImageCell, type ImageSpec } from '../../data/index';
import type { Graph } from '../../engine/index';
import { type Tensor, tensorFrom } from '../../engine/runtime/tensor';
import { encodePng, type Image, saliencyOverlay } from '../common/image';
import { families } from '../families/index';
import { buildSaliencyModel, smoothingNoise } from '../vision/saliency';
import { classifierShape, loadWeights, type Metadata } from './rebuild';
import { type ExplainerRow, type ImageExplanation, labelled, saliencyRunner, targetIndex } from './types';

/**
 * SmoothGrad defaults: 16 noisy copies, σ = 0.15 of the 0..1 pixel range (as the zoo's digit CNN).
 * A version's `metadata.saliency` may set its own; `samples: 0` means the plain gradient.
 */
const SMOOTHING = { samples: 16, sigma: 0.15 };
/** Largest grid returned as numbers (cells); bigger maps come as the PNG only. */
const MAX_GRID_CELLS = 16_384;

function smoothingOf(metadata: Metadata): { samples: number; sigma: number } {
  const s = metadata.saliency as { samples?: unknown; sigma?: unknown } | undefined;
  const samples = Number(s?.samples);
  const sigma = Number(s?.sigma);
  if (samples === 0) return { samples: 0, sigma: 0 };
  return Number.isInteger(samples) && samples > 0 && samples <= 64 && sigma > 0 && sigma < 1
    ? { samples, sigma }
    : SMOOTHING;
}

function imageSpecOf(metadata: Metadata) {
  const c = classifierShape(metadata);
  if (c.spec.kind !== 'image') fail('not_explainable', `a ${c.family} model needs an image feature spec`);
  return { ...c, spec: c.spec as ImageSpec };
}

function buildImageSaliency(metadata: Metadata, onnx: Uint8Array): Uint8Array {
  const { family, spec, shape, hp } = imageSpecOf(metadata);
  const model = families.get(family).build(shape, hp, 1);
  loadWeights(model.params, onnx);
  return buildSaliencyModel(
    {
      inputShape: [spec.channels, spec.height, spec.width],
      classes: shape.classes,
      params: model.params,
      // The recipe's forward ignores its graph argument beyond building on the input's graph.
      forward: (x) => model.forward({ x }, x.graph as Graph).logits,
    },
    { samples: smoothingOf(metadata).samples },
  );
}

function badInput(why: string): never {
  return fail('invalid_request', `input: ${why}`, { pointer: 'input' });
}

/** Raw pixels `{width, height, channels, pixels}` (0..255, row-major, channels last). */
function rawPixels(v: Record<string, unknown>): ImageCell {
  const { width, height, pixels } = v;
  const channels = v.channels ?? 1;
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    (width as number) < 1 ||
    (height as number) < 1
  )
    badInput('width and height must be positive integers');
  if (channels !== 1 && channels !== 3 && channels !== 4) badInput('channels must be 1, 3 or 4');
  const n = (width as number) * (height as number) * (channels as number);
  if (n > 4096 * 4096 * 4) badInput('the image is too large');
  if (!Array.isArray(pixels) || pixels.length !== n)
    badInput(`pixels must be a list of width × height × channels = ${n} numbers`);
  const data = new Uint8Array(n);
  (pixels as unknown[]).forEach((p, i) => {
    if (typeof p !== 'number' || !(p >= 0 && p <= 255)) badInput(`pixels[${i}] must be a number in [0, 255]`);
    data[i] = Math.round(p as number);
  });
  return {
    kind: 'image',
    width: width as number,
    height: height as number,
    channels,
    pixels: data,
  } as ImageCell;
}

/** The request's image: a data URL, bare base64 of a PNG/JPEG, or raw pixels. */
export function parseImage(input: unknown): ImageCell {
  if (typeof input === 'string') {
    const b64 = input.startsWith('data:') ? input.slice(input.indexOf(',') + 1) : input;
    return decodeImage(new Uint8Array(Buffer.from(b64, 'base64')), 'input');
  }
  if (typeof input === 'object' && input !== null && !Array.isArray(input))
    return rawPixels(input as Record<string, unknown>);
  return badInput('an image is a data URL, base64 PNG/JPEG, or {width, height, channels, pixels}');
}

const asImage = (c: ImageCell): Image => ({
  width: c.width,
  height: c.height,
  channels: c.channels,
  data: Float32Array.from(c.pixels, (p) => p / 255),
});

export const imageExplainerRow: ExplainerRow = {
  family: 'cnn',
  buildSaliency: buildImageSaliency,
  create(ctx) {
    const { spec, labels } = imageSpecOf(ctx.metadata);
    const smoothing = smoothingOf(ctx.metadata);
    const run = saliencyRunner(ctx);
    const dims = [spec.channels, spec.height, spec.width];
    const noise: Record<string, Tensor> =
      smoothing.samples > 0 ? { noise: smoothingNoise(smoothing.samples, dims, smoothing.sigma) } : {};
    return {
      kind: 'image',
      async explain(req): Promise<ImageExplanation> {
        const k = targetIndex(labels, req.target);
        const cell = parseImage(req.input);
        // Exactly /predict's preprocessing: the feature spec's own encoder.
        const x: Tensor = encodeInputs(spec, [{ where: 'input', values: { [spec.column]: cell } }]);
        const out = await run(
          { x, target: tensorFrom('int64', [1], [k]), ...noise },
          { outputs: ['probabilities', 'target_class', 'saliency'], signal: req.signal },
        );
        const classIndex = Number((out.target_class.data as BigInt64Array)[0]);
        const grid = { width: spec.width, height: spec.height, data: out.saliency.data as Float32Array };
        const heat = saliencyOverlay(asImage(cell), grid, { colormap: 'inferno', alpha: 0.6 });
        return {
          kind: 'image',
          classIndex,
          label: labels[classIndex],
          ...labelled(labels, out.probabilities.data as Float32Array),
          width: cell.width,
          height: cell.height,
          heatmapPng: encodePng(heat),
          saliency:
            grid.data.length <= MAX_GRID_CELLS
              ? {
                  width: grid.width,
                  height: grid.height,
                  values: Array.from(grid.data, (v) => Number(v.toPrecision(5))),
                }
              : undefined,
        };
      },
    };
  },
};
