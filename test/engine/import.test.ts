/**
 * ONNX → IR import: round trips (import → export gives the original's outputs within 1e-5, at
 * several batch sizes through a symbolic batch dim), gradients of imported graphs against central
 * finite differences in float64, and refusals that name what is missing.
 */
import { describe, expect, it } from 'vitest';
import { gradients } from '../../src/engine/autodiff';
import { EngineError } from '../../src/engine/errors';
import type { Value } from '../../src/engine/ir/types';
import { encodeModel } from '../../src/engine/onnx/encode';
import { importedOps, importOnnx, missingOps } from '../../src/engine/onnx/import';
import { EngineSession } from '../../src/engine/runtime/session';
import { type Tensor, tensorFrom } from '../../src/engine/runtime/tensor';
import { prng } from './gradcheck';
import { encoderLike, resnetLike, tabularMlp } from './import-models';
import { onnxModel } from './onnx-builder';

const rand = prng(3);
const uniform = (dims: number[], dtype: 'float32' | 'float64' = 'float32') =>
  tensorFrom(
    dtype,
    dims,
    Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1),
  );
const ids = (dims: number[]) =>
  tensorFrom(
    'int64',
    dims,
    Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => Math.floor(rand() * 10)),
  );

async function run(model: Uint8Array, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const s = await EngineSession.create(model, { intraOpThreads: 1 });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

function maxDiff(a: Tensor, b: Tensor): number {
  expect(a.dims).toEqual(b.dims);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  return m;
}

const models = {
  'a ResNet-like CNN (Conv, BatchNormalization, residual Add, MaxPool, GlobalAveragePool, view)': {
    bytes: resnetLike,
    feed: (batch: number) => ({ image: uniform([batch, 1, 8, 8]) }),
  },
  'a transformer encoder layer (Gather, decomposed LayerNorm, attention, Erf GELU, Slice)': {
    bytes: encoderLike,
    feed: (batch: number) => ({ input_ids: ids([batch, 4]) }),
  },
  'a tabular MLP at opset 17 (Gemm, LayerNormalization, Clip, Flatten, LogSoftmax)': {
    bytes: tabularMlp,
    feed: (batch: number) => ({ features: uniform([batch, 6]) }),
  },
};

describe('ONNX import round trip', () => {
  for (const [what, m] of Object.entries(models)) {
    it(`${what}: import → export gives the same outputs (1e-5) at batch 1 and 3`, async () => {
      const original = m.bytes();
      const imported = importOnnx(original);
      expect(imported.inputs[0].value.shape[0]).toBe('batch');
      const exported = encodeModel(imported.graph);
      for (const batch of [1, 3]) {
        const feeds = m.feed(batch);
        const want = await run(original, feeds);
        const got = await run(exported, feeds);
        expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
        for (const name of Object.keys(want))
          expect(maxDiff(got[name], want[name])).toBeLessThanOrEqual(1e-5);
      }
    });
  }

  it('keeps weights as named parameters (float initializers) and constants as constants', () => {
    const m = importOnnx(resnetLike());
    expect(m.params.map((p) => p.name).sort()).toEqual(
      [
        'bn1.bias',
        'bn1.running_mean',
        'bn1.running_var',
        'bn1.weight',
        'conv1.bias',
        'conv1.weight',
        'conv2.weight',
        'fc.bias',
        'fc.weight',
      ].sort(),
    );
    expect(m.opsets).toEqual({ '': 13 });
    // The view(N, -1) shape arithmetic folded away: no Shape/Gather/Concat node is left.
    expect(m.graph.nodes.map((n) => n.op)).not.toContain('Shape');
    expect(m.graph.nodes.map((n) => n.op)).not.toContain('Concat');
  });

  it('binds symbolic dims to sizes when asked (gradients need static shapes)', () => {
    const m = importOnnx(resnetLike(), { dims: { batch: 2 } });
    expect(m.outputs.map((o) => o.value.shape)).toEqual([
      [2, 3],
      [2, 3],
    ]);
  });
});

/**
 * loss = Σ_k Σ(out_k ⊙ W_k), its analytic gradient w.r.t. every float input (weights are inputs
 * here), and central differences at a few elements of each.
 */
async function checkGradients(
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

describe('gradients of imported graphs match central finite differences (float64)', () => {
  it('the tabular MLP: w.r.t. its input and every weight', async () => {
    const r = await checkGradients(tabularMlp(), { features: uniform([2, 6], 'float64') }, 2);
    expect(r.tensors).toBe(7);
    expect(r.checked).toBeGreaterThan(20);
    expect(r.worst).toBeLessThanOrEqual(1);
  });

  it('the transformer encoder layer: w.r.t. every weight (embedding rows included)', async () => {
    // Erf has no float64 kernel in ORT and runs through float32: a wider step and tolerance.
    const r = await checkGradients(encoderLike(), { input_ids: ids([2, 4]) }, 2, {
      eps: 1e-3,
      atol: 1e-4,
      rtol: 1e-3,
    });
    expect(r.tensors).toBe(8);
    expect(r.worst).toBeLessThanOrEqual(1);
  });
});

describe('refusals name what is missing', () => {
  const withOps = (ops: { op: string; domain?: string }[]) =>
    onnxModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: [2] }],
      outputs: [{ name: `y${ops.length - 1}`, dtype: 'float32', shape: [2] }],
      nodes: ops.map((o, i) => ({ ...o, inputs: [i === 0 ? 'x' : `y${i - 1}`], outputs: [`y${i}`] })),
    });

  it('lists every op outside the table, control flow with its reason', () => {
    const bytes = withOps([
      { op: 'Relu' },
      { op: 'If' },
      { op: 'Loop' },
      { op: 'Foo', domain: 'com.example' },
    ]);
    expect(missingOps(bytes)).toEqual(['If', 'Loop', 'com.example.Foo']);
    let err: unknown;
    try {
      importOnnx(bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).reason).toBe('unknown_op');
    expect((err as EngineError).message).toBe(
      'the engine cannot import ops If, Loop, com.example.Foo (If, Loop: subgraphs are not imported)',
    );
  });

  it('names the node and the form it does not support', () => {
    const bytes = onnxModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 1, 4, 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 1, 2, 2] }],
      nodes: [
        {
          op: 'AveragePool',
          inputs: ['x'],
          outputs: ['y'],
          attrs: { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] }, ceil_mode: { i: 1 } },
        },
      ],
    });
    expect(missingOps(bytes)).toEqual([]);
    expect(() => importOnnx(bytes)).toThrow("AveragePool 'y': ceil_mode 1 is not supported");
  });

  it('a grouped (depthwise) or dilated convolution is refused as such, not as a channel mismatch', () => {
    const conv = (attrs: Record<string, { i: number } | { ints: number[] }>) =>
      onnxModel({
        opset: 13,
        inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4, 8, 8] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [1, 4, 6, 6] }],
        initializers: { w: tensorFrom('float32', [4, 1, 3, 3], new Float32Array(36).fill(0.1)) },
        nodes: [
          {
            op: 'Conv',
            inputs: ['x', 'w'],
            outputs: ['y'],
            attrs: { kernel_shape: { ints: [3, 3] }, ...attrs },
          },
        ],
      });
    expect(() => importOnnx(conv({ group: { i: 4 } }))).toThrow(
      "Conv 'y': group 4 (a grouped or depthwise convolution) is not supported",
    );
    expect(() => importOnnx(conv({ group: { i: 1 }, dilations: { ints: [2, 2] } }))).toThrow(
      "Conv 'y': dilations [2,2] are not supported",
    );
  });

  it('a shape computed from a run-time input is refused with the input named', () => {
    const bytes = onnxModel({
      opset: 13,
      inputs: [
        { name: 'x', dtype: 'float32', shape: [2, 3] },
        { name: 'shape', dtype: 'int64', shape: [1] },
      ],
      outputs: [{ name: 'y', dtype: 'float32', shape: [6] }],
      nodes: [{ op: 'Reshape', inputs: ['x', 'shape'], outputs: ['y'] }],
    });
    expect(() => importOnnx(bytes)).toThrow("Reshape 'y': input 1 ('shape') is computed at run time");
  });

  it('the op table covers what CNN, ResNet and transformer encoder exports use', () => {
    const ops = importedOps();
    for (const op of [
      'Conv',
      'BatchNormalization',
      'Gemm',
      'MatMul',
      'Erf',
      'LayerNormalization',
      'Shape',
      'Where',
    ])
      expect(ops).toContain(op);
  });
});
