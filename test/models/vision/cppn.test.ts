import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMaasError } from '../../../src/common/errors';
import { gradients } from '../../../src/engine/autodiff';
import { Graph } from '../../../src/engine/ir/graph';
import { encodeModel } from '../../../src/engine/onnx/encode';
import { EngineSession } from '../../../src/engine/runtime/session';
import { tensorFrom } from '../../../src/engine/runtime/tensor';
import { decodePng } from '../../../src/models/common/image';
import { runtimeFor } from '../../../src/models/runtimes';
import type { ImageGenerationRuntime } from '../../../src/models/task';
import { createCppnModel } from '../../../src/models/vision/cppn';
import {
  CPPN_CHUNK_PIXELS,
  cppnStyle,
  pixelCoordinates,
  renderCppn,
} from '../../../src/models/vision/cppn-runtime';
import '../../../src/models/vision/index';
import { paletteFor } from '../../../src/models/vision/palettes';
import { type Loaded, load } from './session';

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return isMaasError(e) ? `${e.code}: ${e.message}` : String(e);
  }
  return 'no error';
};

describe('the Sin op row', () => {
  it('computes sin and its gradient cos through ONNX Runtime', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [5]);
    const y = g.op('Sin', [x]);
    const [dx] = gradients(g, g.op('ReduceSum', [y], { keepdims: false }), [x]);
    g.output('y', y);
    g.output('dx', dx!);
    const s = await EngineSession.create(encodeModel(g));
    const xs = [-2, -0.5, 0, 1, 3];
    const out = await s.run({ x: tensorFrom('float32', [5], xs) });
    xs.forEach((v, i) => {
      expect(out.y.data[i]).toBeCloseTo(Math.sin(v), 5);
      expect(out.dx.data[i]).toBeCloseTo(Math.cos(v), 5);
    });
    await s.release();
  });
});

describe('cppn model', () => {
  let model: ReturnType<typeof createCppnModel>;
  let loaded: Loaded;
  beforeAll(async () => {
    model = createCppnModel({ seed: 7, depth: 3, width: 16, activations: ['tanh', 'sin', 'gauss'] });
    loaded = await load(model.onnx);
  });
  afterAll(() => loaded.session.release());

  it('exports a graph with a symbolic pixel dimension and the metadata its runtime reads', () => {
    expect(loaded.session.inputs.map((i) => [i.name, i.shape])).toEqual([
      ['xy', ['pixels', 2]],
      ['z', [1, 8]],
    ]);
    expect(loaded.session.outputs[0]).toMatchObject({ name: 'rgb', shape: ['pixels', 3] });
    expect(model.metadata).toMatchObject({ family: 'cppn', latentDim: 8, depth: 3, width: 16, seed: 7 });
  });

  it('renders in chunks exactly what one whole run of the graph gives', async () => {
    // 300 × 240 = 72,000 pixels: more than one chunk.
    const [w, h] = [300, 240];
    expect(w * h).toBeGreaterThan(CPPN_CHUNK_PIXELS);
    const z = Float32Array.from({ length: 8 }, (_, i) => Math.sin(i));
    const img = await renderCppn(loaded.run, 8, { width: w, height: h, z, zoom: 1.5 });
    const whole = await loaded.session.run({
      xy: { dtype: 'float32', dims: [w * h, 2], data: pixelCoordinates(w, h, 1.5, 0, w * h) },
      z: { dtype: 'float32', dims: [1, 8], data: z },
    });
    const rgb = whole.rgb.data as Float32Array;
    for (const p of [0, 1, CPPN_CHUNK_PIXELS - 1, CPPN_CHUNK_PIXELS, w * h - 1]) {
      for (let c = 0; c < 3; c++) expect(img.data[p * 3 + c]).toBeCloseTo(rgb[p * 3 + c], 6);
    }
    // A picture, not a flat fill: the channels vary over the image.
    let lo = 1;
    let hi = 0;
    for (const v of img.data) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    expect(hi - lo).toBeGreaterThan(0.3);
  });

  it('puts pixel centres symmetrically, the shorter side spanning [-1/zoom, 1/zoom]', () => {
    const xy = pixelCoordinates(4, 2, 1, 0, 8);
    expect(Array.from(xy.subarray(0, 2))).toEqual([-1.5, -0.5]);
    expect(Array.from(xy.subarray(14, 16))).toEqual([1.5, 0.5]);
    expect(pixelCoordinates(4, 2, 2, 7, 1)[0]).toBeCloseTo(0.75, 6);
  });

  it('is reproducible: same options, same bytes; another weight seed, another network', () => {
    const again = createCppnModel({ seed: 7, depth: 3, width: 16, activations: ['tanh', 'sin', 'gauss'] });
    expect(Buffer.from(again.onnx).equals(Buffer.from(model.onnx))).toBe(true);
    const other = createCppnModel({ seed: 8, depth: 3, width: 16, activations: ['tanh', 'sin', 'gauss'] });
    expect(Buffer.from(other.onnx).equals(Buffer.from(model.onnx))).toBe(false);
  });

  it('refuses bad architecture options with invalid_request', () => {
    expect(code(() => createCppnModel({ depth: 0 }))).toMatch(/^invalid_request: .*depth/);
    expect(code(() => createCppnModel({ activations: ['swish'] }))).toMatch(
      /^invalid_request: unknown cppn activation 'swish'; known: tanh, sin/,
    );
    expect(code(() => createCppnModel({ weightScale: 100 }))).toMatch(/^invalid_request: .*weightScale/);
  });
});

describe('palettes and style', () => {
  it('maps outputs through a palette: mono is grey, gradients stay in range', () => {
    expect(paletteFor('mono')(0.3, 0.9, 0.1)).toEqual([0.3, 0.3, 0.3]);
    for (const name of ['warm', 'cool', 'neon', 'earth']) {
      const [r, g, b] = paletteFor(name)(0.8, 0.2, 0.5);
      for (const v of [r, g, b]) expect(v >= 0 && v <= 1).toBe(true);
    }
    expect(code(() => paletteFor('sepia'))).toMatch(
      /^invalid_request: unknown palette 'sepia'; known: rgb, mono/,
    );
  });

  it('takes the palette from the style, else from a palette word in the prompt', () => {
    expect(cppnStyle('a neon swirl').palette).toBe('neon');
    expect(cppnStyle('a neon swirl', { palette: 'cool' }).palette).toBe('cool');
    expect(cppnStyle('anything').palette).toBe('rgb');
    expect(code(() => cppnStyle('x', { depth: 3 }))).toMatch(/unknown cppn style 'depth'/);
    expect(code(() => cppnStyle('x', { zoom: 0 }))).toMatch(/style.zoom must be a number/);
  });
});

describe('cppn runtime (registered family)', () => {
  let loaded: Loaded;
  let runtime: ImageGenerationRuntime;
  beforeAll(async () => {
    const { onnx, metadata } = createCppnModel({ seed: 3, depth: 4, width: 24 });
    loaded = await load(onnx);
    runtime = (await runtimeFor('cppn')!({
      run: loaded.run,
      metadata: metadata as unknown as Record<string, unknown>,
    })) as ImageGenerationRuntime;
  });
  afterAll(() => loaded.session.release());

  it('draws n PNGs of the requested size; the seed decides the picture', async () => {
    expect(runtime.task).toBe('image-generation');
    const req = { prompt: 'warm waves', n: 2, width: 96, height: 64, seed: 11 };
    const pngs = await runtime.generate(req);
    expect(pngs).toHaveLength(2);
    for (const png of pngs) {
      const img = decodePng(png);
      expect([img.width, img.height]).toEqual([96, 64]);
    }
    expect(Buffer.from(pngs[0]).equals(Buffer.from(pngs[1]))).toBe(false);
    const again = await runtime.generate(req);
    expect(Buffer.from(again[0]).equals(Buffer.from(pngs[0]))).toBe(true);
    const other = await runtime.generate({ ...req, n: 1, seed: 12 });
    expect(Buffer.from(other[0]).equals(Buffer.from(pngs[0]))).toBe(false);
  });

  it('renders any size, from 1×1 to a wide strip', async () => {
    for (const [w, h] of [
      [1, 1],
      [517, 3],
    ]) {
      const [png] = await runtime.generate({ prompt: '', n: 1, width: w, height: h, seed: 1 });
      expect([decodePng(png).width, decodePng(png).height]).toEqual([w, h]);
    }
  });

  it('refuses bad requests before running the model', async () => {
    await expect(runtime.generate({ prompt: '', n: 0, width: 8, height: 8 })).rejects.toThrow(/n must be/);
    await expect(runtime.generate({ prompt: '', n: 1, width: 0, height: 8 })).rejects.toThrow(/width/);
    await expect(
      runtime.generate({ prompt: '', n: 1, width: 8, height: 8, style: { palette: 'sepia' } }),
    ).rejects.toThrow(/unknown palette/);
  });

  it('refuses metadata without a latent size', () => {
    expect(code(() => runtimeFor('cppn')!({ run: loaded.run, metadata: {} }))).toMatch(/^invalid_model/);
  });
});
