/**
 * Shared checks of the ONNX importer's tests: run a model in ORT, compare outputs, and compare an
 * imported graph's gradients with central finite differences in float64.
 */
import { expect } from 'vitest';
import { gradients } from '../../src/engine/autodiff';
import type { Value } from '../../src/engine/ir/types';
import { encodeModel } from '../../src/engine/onnx/encode';
import { importOnnx } from '../../src/engine/onnx/import';
import { EngineSession } from '../../src/engine/runtime/session';
import { type Tensor, tensorFrom } from '../../src/engine/runtime/tensor';
import { prng } from './gradcheck';

const rand = prng(3);
export const uniform = (dims: number[], dtype: 'float32' | 'float64' = 'float32') =>
  tensorFrom(
    dtype,
    dims,
    Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1),
  );
export const ids = (dims: number[]) =>
  tensorFrom(
    'int64',
    dims,
    Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => Math.floor(rand() * 10)),
  );

export async function run(model: Uint8Array, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const s = await EngineSession.create(model, { intraOpThreads: 1 });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

export function maxDiff(a: Tensor, b: Tensor): number {
  expect(a.dims).toEqual(b.dims);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  return m;
}

/**
 * loss = Σ_k Σ(out_k ⊙ W_k), its analytic gradient w.r.t. every float input (weights are inputs
 * here), and central differences at a few elements of each.
 */
export async function checkGradients(
  bytes: Uint8Array,
  feeds: Record<string, Tensor>,
  batch: number,
  tol = { eps: 1e-6, atol: 1e-6, rtol: 1e-5 },
) {
  const m = importOnnx(bytes, { dims: { batch }, float64: true, paramsAsInputs: true });
  const g = m.graph;
  const terms = m.outputs.map(({ value }) => {
    const dims = value.shape.map(Number);
    return g.op('ReduceSum', [g.op('Mul', [value, g.constant(uniform(dims, 'float64'))])], {
      keepdims: false,
    });
  });
  const loss = terms.reduce((a, b) => g.op('Add', [a, b]));
  const wrt: Value[] = m.inputs.map((i) => i.value).filter((v) => v.dtype === 'float64');
  const grads = gradients(g, loss, wrt);
  g.output('loss', loss);
  grads.forEach((d, k) => {
    if (!d) throw new Error(`no gradient for ${k}`);
    g.output(`d${k}`, d);
  });
  const all: Record<string, Tensor> = { ...feeds };
  for (const p of m.params)
    all[p.name] = {
      dtype: 'float64',
      dims: p.value.dims,
      data: Float64Array.from(p.value.data as Float32Array),
    };
  const s = await EngineSession.create(encodeModel(g), { graphOptimization: 'disabled', intraOpThreads: 1 });
  const analytic = await s.run(all);
  const lossAt = async () => Number((await s.run(all, ['loss'])).loss.data[0]);
  let checked = 0;
  let worst = 0;
  const { eps, atol, rtol } = tol;
  for (const [k, v] of wrt.entries()) {
    const name = (v.leaf as { name: string }).name;
    const data = all[name].data as Float64Array;
    const step = Math.max(1, Math.floor(data.length / 4));
    for (let j = 0; j < data.length; j += step) {
      const orig = data[j];
      data[j] = orig + eps;
      const up = await lossAt();
      data[j] = orig - eps;
      const down = await lossAt();
      data[j] = orig;
      const num = (up - down) / (2 * eps);
      const ana = (analytic[`d${k}`].data as Float64Array)[j];
      worst = Math.max(worst, Math.abs(num - ana) / (atol + rtol * Math.abs(num)));
      checked++;
    }
  }
  await s.release();
  return { checked, worst, tensors: wrt.length };
}
