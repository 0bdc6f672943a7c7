/**
 * ONNX → IR import: round trips (import → export gives the original's outputs within 1e-5, at
 * several batch sizes through a symbolic batch dim), gradients of imported graphs against central
 * finite differences in float64, and refusals that name what is missing.
 */
import { describe, expect, it } from 'vitest';
import { EngineError } from '../../src/engine/errors';
import { encodeModel } from '../../src/engine/onnx/encode';
import { importedOps, importOnnx, missingOps } from '../../src/engine/onnx/import';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { checkGradients, ids, maxDiff, run, uniform } from './import-check';
import { encoderLike, resnetLike, tabularMlp } from './import-models';
import { onnxModel } from './onnx-builder';

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
