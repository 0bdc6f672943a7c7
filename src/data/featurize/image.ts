import { type Tensor, zeros } from '../../engine/runtime/tensor';
import { badData } from '../problems';
import { type Cell, type ImageCell, isImageCell, type Row } from '../table';
import type { ClassTarget } from './target';

/**
 * Image preprocessing: convert to gray or RGB (alpha composited on black), resize to a fixed size
 * (bilinear), scale 0..255 to [0, 1], lay out as NCHW float32.
 */
export interface ImageSpec {
  kind: 'image';
  version: 1;
  /** The row column holding the image. */
  column: string;
  width: number;
  height: number;
  channels: 1 | 3;
  layout: 'NCHW';
  target?: ClassTarget;
}

/** One image → its channels-first values in [0, 1], written into `out` at `offset`. */
export function writeImage(spec: ImageSpec, image: ImageCell, out: Float32Array, offset: number): void {
  const { width: W, height: H, channels: C } = spec;
  const plane = W * H;
  if (image.width === W && image.height === H) {
    // Same size (the common case, e.g. MNIST): no resampling, one pass per pixel.
    for (let i = 0; i < plane; i++)
      for (let c = 0; c < C; c++) out[offset + c * plane + i] = channelValue(image, i, c, C) / 255;
    return;
  }
  // Pixel centres map to pixel centres (align_corners = false), clamped at the borders.
  const xs = axisTaps(W, image.width);
  const ys = axisTaps(H, image.height);
  for (let y = 0; y < H; y++) {
    const [y0, y1, wy] = [ys.lo[y], ys.hi[y], ys.w[y]];
    for (let x = 0; x < W; x++) {
      const [x0, x1, wx] = [xs.lo[x], xs.hi[x], xs.w[x]];
      const iw = image.width;
      for (let c = 0; c < C; c++) {
        const top =
          channelValue(image, y0 * iw + x0, c, C) * (1 - wx) + channelValue(image, y0 * iw + x1, c, C) * wx;
        const bottom =
          channelValue(image, y1 * iw + x0, c, C) * (1 - wx) + channelValue(image, y1 * iw + x1, c, C) * wx;
        out[offset + c * plane + y * W + x] = (top * (1 - wy) + bottom * wy) / 255;
      }
    }
  }
}

/** For each output position along one axis: the two source positions and the weight of the second. */
function axisTaps(outSize: number, inSize: number): { lo: Int32Array; hi: Int32Array; w: Float32Array } {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const w = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const f = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), inSize - 1);
    lo[o] = Math.floor(f);
    hi[o] = Math.min(lo[o] + 1, inSize - 1);
    w[o] = f - lo[o];
  }
  return { lo, hi, w };
}

/** Channel `c` of pixel `i` as 0..255, after conversion to `outChannels` (1 = luma, BT.601). */
function channelValue(image: ImageCell, i: number, c: number, outChannels: 1 | 3): number {
  const k = image.channels;
  const px = image.pixels;
  if (k === 1) return px[i];
  const alpha = k === 4 ? px[i * 4 + 3] / 255 : 1;
  if (outChannels === 1) return (0.299 * px[i * k] + 0.587 * px[i * k + 1] + 0.114 * px[i * k + 2]) * alpha;
  return px[i * k + c] * alpha;
}

/** Images of the rows → float32 [n, C, H, W]. */
export function encodeImages(spec: ImageSpec, rows: readonly Row[]): Tensor<'float32'> {
  const size = spec.channels * spec.height * spec.width;
  const t = zeros('float32', [rows.length, spec.channels, spec.height, spec.width]);
  rows.forEach((row, i) => {
    const cell: Cell | undefined = row.values[spec.column];
    if (!isImageCell(cell)) badData(row.where, `column ${JSON.stringify(spec.column)} holds no image`);
    writeImage(spec, cell, t.data, i * size);
  });
  return t;
}
