/** Canvas ↔ model input: a drawing or dropped picture as grey pixels of the model's size. */
import type { ModelDetail } from '../../../src/sdk/client';

/** H×W of the first image-shaped input ([N, C, H, W] or [N, H, W]); 28×28 when not fixed. */
export function inputSize(detail: ModelDetail): { width: number; height: number } {
  const latest = detail.versions[detail.versions.length - 1];
  for (const t of latest?.signature.inputs ?? []) {
    const dims = t.shape.slice(-2);
    if (t.shape.length >= 3 && dims.every((d) => typeof d === 'number' && d > 0))
      return { height: dims[0] as number, width: dims[1] as number };
  }
  return { width: 28, height: 28 };
}

/** Grey 0..255 values of `source` scaled to width×height (the mean of R, G and B). */
export function greyPixels(source: HTMLCanvasElement, width: number, height: number): number[] {
  const small = document.createElement('canvas');
  small.width = width;
  small.height = height;
  const g = small.getContext('2d');
  if (!g) return new Array(width * height).fill(0);
  g.drawImage(source, 0, 0, width, height);
  const rgba = g.getImageData(0, 0, width, height).data;
  const out: number[] = [];
  for (let i = 0; i < rgba.length; i += 4) out.push(Math.round((rgba[i] + rgba[i + 1] + rgba[i + 2]) / 3));
  return out;
}

/** Which output to explain when a graph has several: one named like probabilities, else the last. */
export function outputToExplain(detail: ModelDetail): string | undefined {
  const outs = detail.versions[detail.versions.length - 1]?.signature.outputs ?? [];
  if (outs.length < 2) return undefined;
  return (outs.find((o) => /prob/i.test(o.name)) ?? outs[outs.length - 1]).name;
}
