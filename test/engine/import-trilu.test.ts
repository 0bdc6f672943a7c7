/**
 * ONNX Trilu import as a constant mask over the last two dims: the IR graph, exported again, gives
 * ORT's own Trilu outputs; gradients match central finite differences in float64; a constant
 * input folds; a k computed at run time is refused.
 */
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../../src/engine/onnx/encode';
import { importOnnx } from '../../src/engine/onnx/import';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { checkGradients, maxDiff, run, uniform } from './import-check';
import { onnxModel } from './onnx-builder';

function triluModel(upper: number, k: number | null): Uint8Array {
  return onnxModel({
    opset: 14,
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3, 4] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 3, 4] }],
    initializers: k === null ? {} : { k: tensorFrom('int64', [], [k]) },
    nodes: [
      {
        op: 'Trilu',
        inputs: k === null ? ['x'] : ['x', 'k'],
        outputs: ['y'],
        attrs: { upper: { i: upper } },
      },
    ],
  });
}

describe('ONNX Trilu import (a constant mask)', () => {
  const forms: [string, number, number | null][] = [
    ['upper, k 1', 1, 1],
    ['lower, k −1', 0, -1],
    ['upper, no k', 1, null],
    ['lower, k 2', 0, 2],
  ];
  for (const [what, upper, k] of forms) {
    it(`${what}: import → export gives ORT's Trilu outputs, gradients match finite differences`, async () => {
      const bytes = triluModel(upper, k);
      const feeds = { x: uniform([2, 3, 4]) };
      const want = await run(bytes, feeds);
      const got = await run(encodeModel(importOnnx(bytes, { dims: { batch: 2 } }).graph), feeds);
      expect(maxDiff(got.y, want.y)).toBe(0);
      const r = await checkGradients(bytes, { x: uniform([2, 3, 4], 'float64') }, 2);
      expect(r.tensors).toBe(1);
      expect(r.worst).toBeLessThanOrEqual(1);
    });
  }

  it('keeps a masked-out infinity a 0, as ORT does', async () => {
    const bytes = triluModel(1, 0);
    const feeds = { x: tensorFrom('float32', [1, 3, 4], new Float32Array(12).fill(-Infinity)) };
    const got = await run(encodeModel(importOnnx(bytes).graph), feeds);
    expect(Array.from(got.y.data as Float32Array)).toEqual(
      Array.from((await run(bytes, feeds)).y.data as Float32Array),
    );
  });

  it('folds a Trilu of a constant at import time', async () => {
    const bytes = onnxModel({
      opset: 14,
      inputs: [{ name: 'x', dtype: 'float32', shape: [3, 3] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [3, 3] }],
      nodes: [
        {
          op: 'Constant',
          inputs: [],
          outputs: ['ones'],
          attrs: { value: { t: tensorFrom('float32', [3, 3], new Float32Array(9).fill(1)) } },
        },
        { op: 'Trilu', inputs: ['ones'], outputs: ['mask'], attrs: { upper: { i: 0 } } },
        { op: 'Mul', inputs: ['x', 'mask'], outputs: ['y'] },
      ],
    });
    const m = importOnnx(bytes);
    expect(m.graph.nodes.map((n) => n.op)).toEqual(['Mul']);
    const x = uniform([3, 3]);
    const want = await run(bytes, { x });
    expect(maxDiff((await run(encodeModel(m.graph), { x })).y, want.y)).toBe(0);
  });

  it('refuses a k computed at run time, naming the input', () => {
    const bytes = onnxModel({
      opset: 14,
      inputs: [
        { name: 'x', dtype: 'float32', shape: [3, 4] },
        { name: 'k', dtype: 'int64', shape: [] },
      ],
      outputs: [{ name: 'y', dtype: 'float32', shape: [3, 4] }],
      nodes: [{ op: 'Trilu', inputs: ['x', 'k'], outputs: ['y'] }],
    });
    expect(() => importOnnx(bytes)).toThrow("Trilu 'y': input 1 ('k') is computed at run time");
  });
});
