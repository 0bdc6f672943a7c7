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
  const sx = image.width / W;
  const sy = image.height / H;
  const plane = W * H;
  for (let y = 0; y < H; y++) {
    // Pixel centres map to pixel centres (align_corners = false), clamped at the borders.
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), image.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, image.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < W; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), image.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, image.width - 1);
      const wx = fx - x0;
      for (let c = 0; c < C; c++) {
        const p = (yy: number, xx: number) => channelValue(image, yy * image.width + xx, c, C);
        const top = p(y0, x0) * (1 - wx) + p(y0, x1) * wx;
        const bottom = p(y1, x0) * (1 - wx) + p(y1, x1) * wx;
        out[offset + c * plane + y * W + x] = (top * (1 - wy) + bottom * wy) / 255;
      }
    }
  }
}

/** Channel `c` of pixel `i` as 0..255, after conversion to `outChannels` (1 = luma, BT.601). */
function channelValue(image: ImageCell, i: number, c: number, outChannels: 1 | 3): number {
  const k = image.channels;
  const px = image.pixels;
  const alpha = k === 4 ? px[i * 4 + 3] / 255 : 1;
  if (k === 1) return px[i];
  const r = px[i * k] * alpha;
  const g = px[i * k + 1] * alpha;
  const b = px[i * k + 2] * alpha;
  if (outChannels === 1) return 0.299 * r + 0.587 * g + 0.114 * b;
  return c === 0 ? r : c === 1 ? g : b;
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
