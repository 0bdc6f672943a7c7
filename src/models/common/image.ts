/**
 * Images as models see them (float tensors, values in [0, 1]) and as clients see them (PNG bytes):
 * conversion from tensors, PNG encode/decode through `pngjs`, resizing, tiling a grid of samples,
 * and heat-map overlays for saliency maps (colormaps in ./colormap).
 */
import { PNG } from 'pngjs';
import { fail } from '../../common/errors';
import { elementCount, type Tensor, tensorFrom } from '../../engine/runtime/tensor';
import { colormapFor } from './colormap';
import { encodePngStreaming, pngByte } from './png-stream';

export type Channels = 1 | 3 | 4;

/** Row-major, channels last (HWC); 1 = grey, 3 = RGB, 4 = RGBA; values in [0, 1]. */
export interface Image {
  width: number;
  height: number;
  channels: Channels;
  data: Float32Array;
}

/** How a tensor's dims map to an image: `chw` is the NCHW convention of our models. */
export type ImageLayout = 'hw' | 'chw' | 'hwc';

/** 4096 × 4096 px: the largest image produced or decoded (64 M floats for RGBA, 256 MB). */
export const MAX_IMAGE_SIDE = 4096;

function checkSize(width: number, height: number): void {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_IMAGE_SIDE) {
      fail('invalid_request', `image ${name} must be an integer in [1, ${MAX_IMAGE_SIDE}], got ${v}`);
    }
  }
}

function checkChannels(c: number): Channels {
  if (c !== 1 && c !== 3 && c !== 4) fail('invalid_tensor', `an image has 1, 3 or 4 channels, not ${c}`);
  return c;
}

export function createImage(width: number, height: number, channels: Channels, fill = 0): Image {
  checkSize(width, height);
  return { width, height, channels, data: new Float32Array(width * height * channels).fill(fill) };
}

/**
 * One image from a float tensor. Leading dims of size 1 (a batch of one) are dropped, so a model
 * output [1, 1, 28, 28] with layout `chw` is a 28×28 grey image.
 */
export function imageFromTensor(t: Tensor, layout: ImageLayout = 'chw'): Image {
  if (t.dtype !== 'float32' && t.dtype !== 'float64')
    fail('invalid_tensor', `image tensors are float, not ${t.dtype}`);
  const want = layout === 'hw' ? 2 : 3;
  const dims = [...t.dims];
  while (dims.length > want && dims[0] === 1) dims.shift();
  if (dims.length !== want) fail('invalid_tensor', `a ${layout} image needs ${want} dims, got [${t.dims}]`);
  const [c, h, w] =
    layout === 'hw' ? [1, dims[0], dims[1]] : layout === 'chw' ? dims : [dims[2], dims[0], dims[1]];
  const img = createImage(w, h, checkChannels(c));
  const src = t.data as Float32Array | Float64Array;
  if (layout === 'chw') {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < w * h; p++) img.data[p * c + ch] = src[ch * w * h + p];
    }
  } else {
    img.data.set(src.subarray(0, elementCount(dims)));
  }
  return img;
}

/** Every image of a batch tensor [N, C, H, W] (`chw`), [N, H, W, C] (`hwc`) or [N, H, W] (`hw`). */
export function imagesFromBatch(t: Tensor, layout: ImageLayout = 'chw'): Image[] {
  const rank = layout === 'hw' ? 3 : 4;
  if (t.dims.length !== rank)
    fail('invalid_tensor', `a batch of ${layout} images needs ${rank} dims, got [${t.dims}]`);
  const [n, ...item] = t.dims;
  const size = elementCount(item);
  const src = t.data as Float32Array | Float64Array;
  return Array.from({ length: n }, (_, i) =>
    imageFromTensor(
      { dtype: t.dtype, dims: item, data: src.subarray(i * size, (i + 1) * size) } as Tensor,
      layout,
    ),
  );
}

/** An image as a [1, C, H, W] (or [1, H, W, C]) float32 tensor, the shape models take as input. */
export function imageToTensor(img: Image, layout: 'chw' | 'hwc' = 'chw'): Tensor<'float32'> {
  const { width: w, height: h, channels: c } = img;
  if (layout === 'hwc') return tensorFrom('float32', [1, h, w, c], img.data);
  const out = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let p = 0; p < w * h; p++) out[ch * w * h + p] = img.data[p * c + ch];
  }
  return { dtype: 'float32', dims: [1, c, h, w], data: out };
}

/** PNG bytes, 8 bits per channel: colour type grey (1 channel), RGB (3) or RGBA (4). */
export function encodePng(img: Image): Buffer {
  checkSize(img.width, img.height);
  const colorType = ({ 1: 0, 3: 2, 4: 6 } as const)[img.channels];
  const options = { colorType, inputColorType: colorType, inputHasAlpha: img.channels === 4 };
  const png = new PNG({ width: img.width, height: img.height, bitDepth: 8, ...options });
  const bytes = Buffer.alloc(img.data.length);
  for (let i = 0; i < bytes.length; i++) bytes[i] = pngByte(img.data[i]);
  png.data = bytes;
  return PNG.sync.write(png, options);
}

/**
 * The same picture as `encodePng`, converted and filtered in row batches between which the event
 * loop runs, and compressed on libuv's thread pool: for the served image routes, where a
 * 4-megapixel encode would otherwise stall every other request (see png-stream.ts).
 */
export function encodePngAsync(img: Image): Promise<Buffer> {
  checkSize(img.width, img.height);
  return encodePngStreaming(img);
}

/** Decode a PNG to RGBA floats (pngjs expands every colour type and bit depth to 8-bit RGBA). */
export function decodePng(bytes: Uint8Array): Image {
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch {
    fail('invalid_request', 'not a readable PNG image');
  }
  checkSize(png.width, png.height);
  const data = new Float32Array(png.data.length);
  for (let i = 0; i < data.length; i++) data[i] = png.data[i] / 255;
  return { width: png.width, height: png.height, channels: 4, data };
}

/** Keep 1, 3 or 4 channels: grey → RGB repeats, RGB → grey by Rec. 601 luma, alpha dropped or set to 1. */
export function toChannels(img: Image, channels: Channels): Image {
  if (img.channels === channels) return img;
  const out = createImage(img.width, img.height, channels);
  const n = img.width * img.height;
  for (let p = 0; p < n; p++) {
    const s = p * img.channels;
    const [r, g, b] =
      img.channels === 1 ? [img.data[s], img.data[s], img.data[s]] : img.data.subarray(s, s + 3);
    const o = p * channels;
    if (channels === 1) out.data[o] = 0.299 * r + 0.587 * g + 0.114 * b;
    else out.data.set([r, g, b], o);
    if (channels === 4) out.data[o + 3] = img.channels === 4 ? img.data[s + 3] : 1;
  }
  return out;
}

/**
 * Resize to width × height. `bilinear` samples at pixel centres (half-pixel offsets, edges clamped),
 * as ONNX Resize and PyTorch `align_corners=False` do; `nearest` keeps hard pixel edges (28×28 digits
 * blown up to 256×256 stay crisp).
 */
export function resizeImage(
  img: Image,
  width: number,
  height: number,
  method: 'nearest' | 'bilinear' = 'bilinear',
): Image {
  const out = createImage(width, height, img.channels);
  const c = img.channels;
  const sx = img.width / width;
  const sy = img.height / height;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * c;
      if (method === 'nearest') {
        const ix = Math.min(img.width - 1, Math.floor((x + 0.5) * sx));
        const iy = Math.min(img.height - 1, Math.floor((y + 0.5) * sy));
        const s = (iy * img.width + ix) * c;
        for (let ch = 0; ch < c; ch++) out.data[o + ch] = img.data[s + ch];
        continue;
      }
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const y1 = Math.min(y0 + 1, img.height - 1);
      const ax = fx - x0;
      const ay = fy - y0;
      for (let ch = 0; ch < c; ch++) {
        const at = (xx: number, yy: number) => img.data[(yy * img.width + xx) * c + ch];
        const top = at(x0, y0) * (1 - ax) + at(x1, y0) * ax;
        const bottom = at(x0, y1) * (1 - ax) + at(x1, y1) * ax;
        out.data[o + ch] = top * (1 - ay) + bottom * ay;
      }
    }
  }
  return out;
}

export interface TileOptions {
  /** Images per row; default ⌈√n⌉ (a square-ish grid). */
  columns?: number;
  /** Gap between tiles and around the border, px. Default 2. */
  padding?: number;
  /** Gap colour, one value per channel or one for all. Default 1 (white). */
  background?: number;
}

/** Lay images out in a grid (row-major); all must share one size; channels are widened to the most. */
export function tileImages(images: readonly Image[], options: TileOptions = {}): Image {
  if (images.length === 0) fail('invalid_request', 'no images to tile');
  const { width: w, height: h } = images[0];
  if (images.some((im) => im.width !== w || im.height !== h))
    fail('invalid_request', 'tiled images must share a size');
  const channels = Math.max(...images.map((im) => im.channels)) as Channels;
  const columns = options.columns ?? Math.ceil(Math.sqrt(images.length));
  const pad = options.padding ?? 2;
  const rows = Math.ceil(images.length / columns);
  const grid = createImage(
    columns * (w + pad) + pad,
    rows * (h + pad) + pad,
    channels,
    options.background ?? 1,
  );
  if (channels === 4) for (let i = 3; i < grid.data.length; i += 4) grid.data[i] = 1;
  images.forEach((im, k) => {
    const tile = toChannels(im, channels);
    const left = pad + (k % columns) * (w + pad);
    const top = pad + Math.floor(k / columns) * (h + pad);
    for (let y = 0; y < h; y++) {
      const dst = ((top + y) * grid.width + left) * channels;
      grid.data.set(tile.data.subarray(y * w * channels, (y + 1) * w * channels), dst);
    }
  });
  return grid;
}

/** Per-pixel scores (e.g. |∂ logit / ∂ pixel|) on a width × height grid, row-major. */
export interface ScoreMap {
  width: number;
  height: number;
  data: ArrayLike<number>;
}

/** Scores → [0, 1] by min-max (a constant map becomes all 0). NaN counts as the minimum. */
export function normalizeScores(scores: ArrayLike<number>): Float32Array {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi - lo;
  return Float32Array.from(scores, (v) => (span > 0 && v >= lo ? (v - lo) / span : 0));
}

/** A heat map alone: normalised scores through a named colormap, as an RGB image. */
export function heatmapImage(scores: ScoreMap, colormap = 'viridis'): Image {
  if (scores.data.length !== scores.width * scores.height) {
    fail(
      'invalid_tensor',
      `a ${scores.width}×${scores.height} score map needs ${scores.width * scores.height} values`,
    );
  }
  const map = colormapFor(colormap);
  const unit = normalizeScores(scores.data);
  const out = createImage(scores.width, scores.height, 3);
  for (let p = 0; p < unit.length; p++) out.data.set(map(unit[p]), p * 3);
  return out;
}

export interface OverlayOptions {
  colormap?: string;
  /** Weight of the heat map over the image, 0..1. Default 0.5. */
  alpha?: number;
}

/**
 * Saliency overlay: the image (made RGB) blended with the heat map of its scores; scores on another
 * grid than the image (e.g. 28×28 scores over a 256×256 view) are resized bilinearly first.
 */
export function saliencyOverlay(img: Image, scores: ScoreMap, options: OverlayOptions = {}): Image {
  const alpha = options.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) fail('invalid_request', `overlay alpha must be in [0, 1], got ${alpha}`);
  let heat = heatmapImage(scores, options.colormap);
  if (heat.width !== img.width || heat.height !== img.height) heat = resizeImage(heat, img.width, img.height);
  const base = toChannels(img, 3);
  const out = createImage(img.width, img.height, 3);
  for (let i = 0; i < out.data.length; i++) out.data[i] = (1 - alpha) * base.data[i] + alpha * heat.data[i];
  return out;
}
