import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { colormapFor, colormapNames, registerColormap } from '../../src/models/common/colormap';
import {
  createImage,
  decodePng,
  encodePng,
  encodePngAsync,
  heatmapImage,
  imageFromTensor,
  imagesFromBatch,
  imageToTensor,
  resizeImage,
  saliencyOverlay,
  tileImages,
} from '../../src/models/common/image';

/** A 28×28 grey "digit": a bright vertical bar in columns 12..15. */
function bar(): Float32Array {
  return Float32Array.from({ length: 28 * 28 }, (_, i) => (i % 28 >= 12 && i % 28 < 16 ? 1 : 0));
}

const luma = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;

describe('PNG encode/decode', () => {
  it('round-trips grey, RGB and RGBA tensors to 8-bit precision with the right colour type', () => {
    for (const [c, colorType] of [
      [1, 0],
      [3, 2],
      [4, 6],
    ] as const) {
      const values = Array.from({ length: c * 5 * 7 }, (_, i) => ((i * 37) % 101) / 100);
      const img = imageFromTensor(tensorFrom('float32', [1, c, 5, 7], values), 'chw');
      expect([img.width, img.height, img.channels]).toEqual([7, 5, c]);
      const bytes = encodePng(img);
      expect(bytes.subarray(1, 4).toString()).toBe('PNG');
      expect(bytes[25]).toBe(colorType); // IHDR colour type byte
      const back = decodePng(bytes);
      expect([back.width, back.height]).toEqual([7, 5]);
      for (let p = 0; p < 35; p++) {
        for (let ch = 0; ch < c; ch++) {
          const want = values[ch * 35 + p];
          const got = back.data[p * 4 + (c === 1 ? 0 : ch)];
          expect(Math.abs(got - want)).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
        }
      }
    }
  });

  it('clamps out-of-range and NaN values, and refuses bad bytes and sizes', () => {
    const img = { width: 3, height: 1, channels: 1 as const, data: Float32Array.from([-2, 7, Number.NaN]) };
    const png = PNG.sync.read(encodePng(img));
    expect([png.data[0], png.data[4], png.data[8]]).toEqual([0, 255, 0]);
    expect(() => decodePng(Buffer.from('not a png'))).toThrow(
      expect.objectContaining({ code: 'invalid_request' }),
    );
    expect(() => createImage(5000, 10, 1)).toThrow(expect.objectContaining({ code: 'invalid_request' }));
  });

  it('the streaming encoder writes the same pixels as the sync one, and lets the loop turn between row batches', async () => {
    for (const c of [1, 3, 4] as const) {
      const img = createImage(1031, 517, c); // odd sides: partial batches and no row alignment
      for (let i = 0; i < img.data.length; i++) img.data[i] = ((i * 7919) % 1013) / 1000;
      img.data[0] = Number.NaN;
      let turns = 0;
      let spinning = true;
      const spin = () => {
        turns++;
        if (spinning) setImmediate(spin);
      };
      setImmediate(spin);
      const streamed = await encodePngAsync(img);
      spinning = false;
      const want = PNG.sync.read(encodePng(img)).data;
      const got = PNG.sync.read(streamed);
      expect([got.width, got.height, streamed[25]]).toEqual([1031, 517, { 1: 0, 3: 2, 4: 6 }[c]]);
      expect(Buffer.compare(got.data, want)).toBe(0);
      // ≈ 256 KiB of rows per batch: a 1031-wide RGBA image is ≥ 8 batches, each followed by a turn.
      expect(turns).toBeGreaterThanOrEqual(Math.floor((1031 * c * 517) / (256 * 1024)));
    }
  });

  it('converts between tensor layouts both ways', () => {
    const t = tensorFrom('float32', [2, 2, 3], [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 0]);
    const img = imageFromTensor(t, 'hwc');
    expect(img.channels).toBe(3);
    const chw = imageToTensor(img, 'chw');
    expect(chw.dims).toEqual([1, 3, 2, 2]);
    expect(Array.from(imageFromTensor(chw, 'chw').data)).toEqual(Array.from(img.data));
    const batch = imagesFromBatch(
      tensorFrom(
        'float32',
        [3, 1, 2, 2],
        Array.from({ length: 12 }, (_, i) => i / 12),
      ),
    );
    expect(batch.map((b) => [b.channels, b.data[0]])).toEqual([
      [1, 0],
      [1, Math.fround(4 / 12)],
      [1, Math.fround(8 / 12)],
    ]);
    expect(() => imageFromTensor(tensorFrom('float32', [2, 2, 2], new Array(8).fill(0)), 'chw')).toThrow(
      expect.objectContaining({ code: 'invalid_tensor' }),
    );
  });
});

describe('resize', () => {
  it('nearest blows 28×28 up to 256×256 with hard edges', () => {
    const img = imageFromTensor(tensorFrom('float32', [28, 28], bar()), 'hw');
    const big = resizeImage(img, 256, 256, 'nearest');
    expect([big.width, big.height]).toEqual([256, 256]);
    expect(new Set(big.data)).toEqual(new Set([0, 1]));
    // Column 12 of 28 starts at 12 × 256/28 ≈ 109.7 → output column 110 is the first bright one.
    expect(big.data[100 * 256 + 109]).toBe(0);
    expect(big.data[100 * 256 + 110]).toBe(1);
    const png = decodePng(encodePng(big));
    expect([png.width, png.height]).toEqual([256, 256]);
  });

  it('bilinear interpolates at pixel centres and preserves the mean of a ramp', () => {
    const ramp = { width: 2, height: 1, channels: 1 as const, data: Float32Array.from([0, 1]) };
    expect(Array.from(resizeImage(ramp, 4, 1).data)).toEqual([0, 0.25, 0.75, 1]);
    const img = imageFromTensor(tensorFrom('float32', [28, 28], bar()), 'hw');
    const small = resizeImage(img, 14, 14);
    const mean = small.data.reduce((s, v) => s + v, 0) / small.data.length;
    expect(mean).toBeCloseTo(4 / 28, 5);
  });
});

describe('tiling', () => {
  it('lays 10 images into a 4-column grid with padding', () => {
    const tiles = Array.from({ length: 10 }, (_, k) => createImage(8, 6, 1, k / 10));
    const grid = tileImages(tiles, { columns: 4, padding: 2, background: 1 });
    expect([grid.width, grid.height]).toEqual([4 * 10 + 2, 3 * 8 + 2]);
    // Tile 5 is row 1, column 1: its top-left pixel is at (2 + 10, 2 + 8).
    expect(grid.data[(10 * grid.width + 12) * 1]).toBeCloseTo(0.5, 6);
    expect(grid.data[0]).toBe(1);
    // Mixed channels widen to RGB.
    const mixed = tileImages([createImage(2, 2, 1, 0.2), createImage(2, 2, 3, 0.4)], { padding: 0 });
    expect(mixed.channels).toBe(3);
    expect(Array.from(mixed.data.subarray(0, 3))).toEqual([0.2, 0.2, 0.2].map(Math.fround));
  });
});

describe('colormaps and saliency overlays', () => {
  it('viridis and inferno get brighter monotonically; names are unique', () => {
    for (const name of ['viridis', 'inferno']) {
      const map = colormapFor(name);
      let prev = -1;
      for (let i = 0; i <= 64; i++) {
        const l = luma(...map(i / 64));
        expect(l).toBeGreaterThan(prev);
        prev = l;
      }
    }
    expect(colormapFor('viridis')(0).map((v) => Math.round(v * 255))).toEqual([0x44, 0x01, 0x54]);
    expect(colormapNames()).toContain('gray');
    expect(() => registerColormap('viridis', () => [0, 0, 0])).toThrow(/already/);
    expect(() => colormapFor('rainbow')).toThrow(expect.objectContaining({ code: 'invalid_request' }));
  });

  it('overlays 28×28 scores on a 256×256 view: the hot region is brighter and warmer', () => {
    const digit = resizeImage(
      imageFromTensor(tensorFrom('float32', [28, 28], bar()), 'hw'),
      256,
      256,
      'nearest',
    );
    const scores = {
      width: 28,
      height: 28,
      data: Float32Array.from({ length: 784 }, (_, i) => (i < 392 ? 5 : 0)),
    };
    const heat = heatmapImage(scores, 'inferno');
    expect(heat.channels).toBe(3);
    const out = saliencyOverlay(digit, scores, { colormap: 'inferno', alpha: 0.6 });
    expect([out.width, out.height, out.channels]).toEqual([256, 256, 3]);
    // Same underlying pixel (background, column 20) in the top (score 5) and bottom (score 0) halves.
    const at = (x: number, y: number) =>
      Array.from(out.data.subarray((y * 256 + x) * 3, (y * 256 + x) * 3 + 3));
    const hot = at(20, 20);
    const cold = at(20, 236);
    expect(luma(hot[0], hot[1], hot[2])).toBeGreaterThan(luma(cold[0], cold[1], cold[2]) + 0.3);
    const png = decodePng(encodePng(out));
    expect([png.width, png.height]).toEqual([256, 256]);
    expect(() => saliencyOverlay(digit, { width: 28, height: 28, data: [1] })).toThrow(
      expect.objectContaining({ code: 'invalid_tensor' }),
    );
  });
});
