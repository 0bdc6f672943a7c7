/**
 * The weight quantiser (src/engine/onnx/quantize): the int8 and int4 packings round-trip within
 * their quantisation step, and ONNX Runtime reads them as meant (its DynamicQuantizeMatMul and
 * MatMulNBits outputs match x · dequantised W computed here); Gemm's transB, alpha and bias are
 * kept; the head stays float on request; external data is read and written; a model without a
 * quantisable weight is refused.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/ir/graph';
import { decodeModel } from '../../src/engine/onnx/decode';
import { encodeModel, encodeModelParts } from '../../src/engine/onnx/encode';
import {
  dequantizeInt4,
  dequantizeInt8,
  INT8_WEIGHT_MAX,
  quantizeInt4,
  quantizeInt8,
} from '../../src/engine/onnx/quantize/pack';
import { quantizeModel } from '../../src/engine/onnx/quantize/rewrite';
import { EngineSession } from '../../src/engine/runtime/session';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { tempDir } from '../helpers/tmp';

/** Deterministic values in [-1, 1) with a few large ones (outliers make per-block scales matter). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
    if (i % 97 === 0) out[i] *= 4;
  }
  return out;
}

/** x [M, K] · w [K, N] in float64. */
function matmul(x: Float32Array, w: Float32Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let t = 0; t < k; t++) for (let j = 0; j < n; j++) out[i * n + j] += x[i * k + t] * w[t * n + j];
  return out;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
};

describe('packing', () => {
  it('int4 blocks round-trip within half a step of their block, K not a multiple of 32', () => {
    const [k, n] = [80, 24];
    const w = values(k * n, 1);
    const q = quantizeInt4(w, k, n, 32);
    expect(q.blocks).toBe(3);
    expect(q.packed.length).toBe(n * 3 * 16);
    const back = dequantizeInt4(q);
    for (let i = 0; i < k; i++)
      for (let j = 0; j < n; j++) {
        const scale = q.scales[j * q.blocks + Math.floor(i / 32)];
        expect(Math.abs(back[i * n + j] - w[i * n + j])).toBeLessThanOrEqual(scale / 2 + 1e-6);
      }
    // A block spans [min, max] in 15 steps, its zero point the code of 0; low nibble first.
    const first = Array.from({ length: 32 }, (_, i) => w[i * n]);
    const [lo, hi] = [Math.min(0, ...first), Math.max(0, ...first)];
    expect(q.scales[0]).toBeCloseTo((hi - lo) / 15, 6);
    const zero = Math.round(-lo / q.scales[0]);
    expect(q.zeroPoints[0] & 0x0f).toBe(zero);
    expect(q.zeroPoints.length).toBe(n * 2);
    const code0 = Math.round(w[0] / q.scales[0]) + zero;
    const code1 = Math.round(w[n] / q.scales[0]) + zero;
    expect(q.packed[0]).toBe(code0 | (code1 << 4));
  });

  it('int4 of a transposed [N, K] weight is the same as of its [K, N] transpose', () => {
    const [k, n] = [64, 8];
    const w = values(k * n, 2);
    const t = new Float32Array(k * n);
    for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) t[j * k + i] = w[i * n + j];
    const a = quantizeInt4(w, k, n);
    const b = quantizeInt4(t, k, n, 32, true);
    expect(Array.from(b.packed)).toEqual(Array.from(a.packed));
    expect(Array.from(b.scales)).toEqual(Array.from(a.scales));
    expect(Array.from(b.zeroPoints)).toEqual(Array.from(a.zeroPoints));
  });

  it('int8 columns round-trip within half a step of their column', () => {
    const [k, n] = [40, 12];
    const w = values(k * n, 3);
    const q = quantizeInt8(w, k, n);
    const back = dequantizeInt8(q);
    for (let i = 0; i < k * n; i++)
      expect(Math.abs(back[i] - w[i])).toBeLessThanOrEqual(q.scales[i % n] / 2 + 1e-6);
    // 7-bit codes: AVX2's u8 × s8 pair sums saturate int16 with 8-bit ones (pack.ts).
    expect(Math.max(...Array.from(q.values, Math.abs))).toBe(INT8_WEIGHT_MAX);
    expect(INT8_WEIGHT_MAX).toBe(63);
  });
});

/** y = x · W (+ b) as MatMul, or as Gemm with W stored [N, K] (transB), alpha 0.5. */
function linearModel(k: number, n: number, gemm: boolean, w: Float32Array, bias?: Float32Array) {
  const g = new Graph();
  const x = g.input('x', 'float32', ['batch', k]);
  let y: ReturnType<typeof g.op>;
  if (gemm) {
    const wt = new Float32Array(k * n);
    for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) wt[j * k + i] = w[i * n + j];
    const wv = g.param({ name: 'w', value: tensorFrom('float32', [n, k], wt) });
    const inputs = bias ? [x, wv, g.param({ name: 'b', value: tensorFrom('float32', [n], bias) })] : [x, wv];
    y = g.op('Gemm', inputs, { transB: true, alpha: 0.5 });
  } else y = g.op('MatMul', [x, g.param({ name: 'w', value: tensorFrom('float32', [k, n], w) })]);
  g.output('y', y);
  return encodeModel(g);
}

async function run(model: Uint8Array | string, x: Float32Array, m: number, k: number): Promise<Float32Array> {
  const s = await EngineSession.create(model);
  try {
    return (await s.run({ x: tensorFrom('float32', [m, k], x) })).y.data as Float32Array;
  } finally {
    await s.release();
  }
}

describe('quantizeModel', () => {
  const [m, k, n] = [4, 96, 40];
  const w = values(k * n, 4);
  const x = values(m * k, 5);

  it('int4: MatMulNBits gives x · dequantised W (ORT unpacks nibbles, scales and zero points as packed)', async () => {
    const q = quantizeModel(linearModel(k, n, false, w), { to: 'int4' });
    expect(q.report).toMatchObject({ to: 'int4', nodes: 1, weights: 1, parameters: k * n });
    const info = decodeModel(q.model);
    expect(info.nodeDomains).toContain('com.microsoft');
    expect(info.initializers.map((t) => t.name).sort()).toEqual(['w_int4', 'w_scales', 'w_zero_points']);
    const want = matmul(x, dequantizeInt4(quantizeInt4(w, k, n)), m, k, n);
    const got = await run(q.model, x, m, k);
    const range = Math.max(...want) - Math.min(...want);
    // Only the activations' int8 rounding (accuracy level 4) remains: well under 1% of the range.
    expect(maxAbsDiff(got, want)).toBeLessThan(0.01 * range);
    // ... while the float model differs by the weights' int4 rounding.
    const exact = matmul(x, w, m, k, n);
    expect(maxAbsDiff(got, exact)).toBeGreaterThan(maxAbsDiff(got, want));
  });

  it('int8: DynamicQuantizeMatMul gives x · dequantised W', async () => {
    const q = quantizeModel(linearModel(k, n, false, w), { to: 'int8' });
    expect(decodeModel(q.model).initializers.map((t) => [t.name, t.elemType, t.dims])).toEqual([
      ['w_int8', 'int8', [k, n]],
      ['w_scale', 'float32', [n]],
    ]);
    const want = matmul(x, dequantizeInt8(quantizeInt8(w, k, n)), m, k, n);
    const got = await run(q.model, x, m, k);
    const range = Math.max(...want) - Math.min(...want);
    expect(maxAbsDiff(got, want)).toBeLessThan(0.01 * range);
  });

  it('Gemm with transB, alpha and a bias keeps its meaning', async () => {
    const bias = values(n, 6);
    const float = linearModel(k, n, true, w, bias);
    const want = await run(float, x, m, k);
    for (const to of ['int8', 'int4'] as const) {
      const q = quantizeModel(float, { to });
      expect(q.report.nodes).toBe(1);
      const got = await run(q.model, x, m, k);
      const range = Math.max(...want) - Math.min(...want);
      expect(maxAbsDiff(got, want), to).toBeLessThan((to === 'int8' ? 0.02 : 0.1) * range);
      expect(maxAbsDiff(got, want), to).toBeGreaterThan(0);
    }
  });

  it('keepHead leaves the MatMul that makes the first output float', async () => {
    const g = new Graph();
    const xin = g.input('x', 'float32', ['batch', k]);
    const h = g.op('Relu', [
      g.op('MatMul', [xin, g.param({ name: 'w1', value: tensorFrom('float32', [k, k], values(k * k, 7)) })]),
    ]);
    g.output('y', g.op('MatMul', [h, g.param({ name: 'head', value: tensorFrom('float32', [k, n], w) })]));
    const q = quantizeModel(encodeModel(g), { to: 'int8', keepHead: true });
    expect(q.report.nodes).toBe(1);
    expect(q.report.keptFloat).toEqual([{ node: expect.any(String), reason: 'the head (keepHead)' }]);
    const names = decodeModel(q.model).initializers.map((t) => t.name);
    expect(names).toContain('head');
    expect(names).toContain('w1_int8');
    expect(names).not.toContain('w1');
    expect((await run(q.model, x, m, k)).length).toBe(m * n);
  });

  it('reads external data and writes the quantised model with its own data file', async () => {
    const g = new Graph();
    const xin = g.input('x', 'float32', ['batch', k]);
    g.output('y', g.op('MatMul', [xin, g.param({ name: 'w', value: tensorFrom('float32', [k, n], w) })]));
    const parts = encodeModelParts(g, { externalData: { location: 'model.onnx_data' } });
    expect(decodeModel(parts.model).externalLocations).toEqual(['model.onnx_data']);
    const q = quantizeModel(parts.model, {
      to: 'int4',
      external: new Map([['model.onnx_data', parts.externalData!]]),
      externalLocation: 'model_q4.onnx_data',
    });
    expect(decodeModel(q.model).externalLocations).toEqual(['model_q4.onnx_data']);
    const dir = await tempDir('maas-quantize-');
    try {
      await mkdir(join(dir.dir, 'onnx'));
      await writeFile(join(dir.dir, 'onnx/model_q4.onnx'), q.model);
      await writeFile(join(dir.dir, 'onnx/model_q4.onnx_data'), q.externalData!);
      const got = await run(join(dir.dir, 'onnx/model_q4.onnx'), x, m, k);
      const want = matmul(x, dequantizeInt4(quantizeInt4(w, k, n)), m, k, n);
      expect(maxAbsDiff(got, want)).toBeLessThan(0.01 * (Math.max(...want) - Math.min(...want)));
    } finally {
      await dir.remove();
    }
    expect(() => quantizeModel(parts.model, { to: 'int8' })).toThrow(
      /external data 'model.onnx_data' not given/,
    );
  });

  it('a model without a constant MatMul weight is refused, saying why', () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [2, 3]);
    const b = g.input('b', 'float32', [3, 2]);
    g.output('y', g.op('MatMul', [a, b]));
    expect(() => quantizeModel(encodeModel(g), { to: 'int8' })).toThrow(
      /nothing to quantise: no MatMul or Gemm/,
    );
  });
});
