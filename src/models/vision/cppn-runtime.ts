/**
 * Renders a `cppn` model version through the injected `run` and serves `image-generation`.
 *
 * Request style (all optional): `palette` (see palettes.ts; default `rgb`, or a palette named in
 * the prompt: "a neon swirl" → `neon`), `zoom` (magnification, 0.05..50, default 1: the shorter
 * side spans [−1, 1]), `latentScale` (spread of z, 0..5, default 1). The request `seed` draws z, so
 * the same seed gives the same picture; image k of a request uses the k-th split of that seed.
 * Depth, width, activations and the weight seed belong to the model version (createCppnModel).
 */
import { fail } from '../../common/errors';
import type { Tensor } from '../../engine/runtime/tensor';
import { createImage, encodePngAsync, type Image } from '../common/image';
import { Rng, randomSeed } from '../common/prng';
import type { ImageGenerationRuntime, RunModel, RuntimeContext } from '../task';
import { paletteFor, paletteNames } from './palettes';

/** Pixels per run: bounds memory at ≈ 65,536 × width × 4 bytes per layer (8 MB at width 32). */
export const CPPN_CHUNK_PIXELS = 65_536;
/** Most images per request (OpenAI's `n` limit). */
export const MAX_IMAGES = 10;

export interface CppnRenderOptions {
  width: number;
  height: number;
  /** z [latentDim]; ignored by a model without a latent input. */
  z: Float32Array;
  zoom?: number;
  palette?: string;
  signal?: AbortSignal;
}

/** Pixel-centre coordinates, row-major; the shorter side spans [−1/zoom, 1/zoom]. */
export function pixelCoordinates(width: number, height: number, zoom: number, from: number, count: number) {
  const scale = 1 / (zoom * Math.min(width, height));
  const xy = new Float32Array(count * 2);
  for (let k = 0; k < count; k++) {
    const p = from + k;
    const x = p % width;
    const y = (p - x) / width;
    xy[2 * k] = (2 * x + 1 - width) * scale;
    xy[2 * k + 1] = (2 * y + 1 - height) * scale;
  }
  return xy;
}

/** One picture: every pixel through the network (in chunks), then the palette. */
export async function renderCppn(run: RunModel, latentDim: number, o: CppnRenderOptions): Promise<Image> {
  const img = createImage(o.width, o.height, 3);
  const palette = paletteFor(o.palette ?? 'rgb');
  const total = o.width * o.height;
  const z: Tensor | null =
    latentDim > 0 ? { dtype: 'float32', dims: [1, latentDim], data: o.z.subarray(0, latentDim) } : null;
  for (let from = 0; from < total; from += CPPN_CHUNK_PIXELS) {
    if (o.signal?.aborted) fail('client_closed', 'image generation cancelled');
    const count = Math.min(CPPN_CHUNK_PIXELS, total - from);
    const xy = pixelCoordinates(o.width, o.height, o.zoom ?? 1, from, count);
    const inputs: Record<string, Tensor> = { xy: { dtype: 'float32', dims: [count, 2], data: xy } };
    if (z) inputs.z = z;
    const rgb = (await run(inputs, { outputs: ['rgb'], signal: o.signal })).rgb.data as Float32Array;
    for (let k = 0; k < count; k++) {
      img.data.set(palette(rgb[3 * k], rgb[3 * k + 1], rgb[3 * k + 2]), (from + k) * 3);
    }
  }
  return img;
}

/** Standard normal draws from the platform-stable PRNG (Box–Muller). */
export function normalVector(rng: Rng, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - rng.next();
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
  }
  return out;
}

const STYLE_KEYS = ['palette', 'zoom', 'latentScale'];

function numberStyle(style: Record<string, unknown>, key: string, lo: number, hi: number, dflt: number) {
  const v = style[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v >= lo && v <= hi))
    fail('invalid_request', `style.${key} must be a number in [${lo}, ${hi}]`);
  return v;
}

/** Style from the request: checked keys, numbers in range, palette named or found in the prompt. */
export function cppnStyle(prompt: string, style: Record<string, unknown> = {}) {
  for (const k of Object.keys(style)) {
    if (!STYLE_KEYS.includes(k))
      fail('invalid_request', `unknown cppn style '${k}'; known: ${STYLE_KEYS.join(', ')}`);
  }
  let palette = style.palette;
  if (palette !== undefined && typeof palette !== 'string')
    fail('invalid_request', 'style.palette must be a string');
  if (palette === undefined) {
    const words = new Set(prompt.toLowerCase().split(/[^a-z]+/));
    palette = paletteNames().find((p) => words.has(p)) ?? 'rgb';
  }
  paletteFor(palette as string);
  return {
    palette: palette as string,
    zoom: numberStyle(style, 'zoom', 0.05, 50, 1),
    latentScale: numberStyle(style, 'latentScale', 0, 5, 1),
  };
}

export function checkImageCount(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_IMAGES)
    fail('invalid_request', `n must be an integer in [1, ${MAX_IMAGES}], got ${n}`);
}

function latentDimOf(metadata: Readonly<Record<string, unknown>>): number {
  const d = metadata.latentDim;
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > 64)
    fail('invalid_model', 'cppn model metadata needs latentDim, an integer in [0, 64]');
  return d;
}

/** The `cppn` family's runtime factory (registered in ./index). */
export function cppnRuntime(ctx: RuntimeContext): ImageGenerationRuntime {
  const latentDim = latentDimOf(ctx.metadata);
  return {
    task: 'image-generation',
    async generate(req, signal) {
      checkImageCount(req.n);
      const style = cppnStyle(req.prompt, req.style);
      const root = new Rng(req.seed ?? randomSeed());
      const pngs: Uint8Array[] = [];
      for (let k = 0; k < req.n; k++) {
        const z = normalVector(root.split(), latentDim, style.latentScale);
        const img = await renderCppn(ctx.run, latentDim, {
          ...style,
          width: req.width,
          height: req.height,
          z,
          signal,
        });
        if (signal?.aborted) fail('client_closed', 'image generation stopped: the request ended');
        pngs.push(await encodePngAsync(img));
      }
      return pngs;
    },
  };
}
