import { describe, expect, it } from 'vitest';
import { batches, loadForTraining } from '../../src/data';
import { ProtoWriter } from '../../src/engine/onnx/wire';
import { EngineSession } from '../../src/engine/runtime/session';
import { toNumbers } from '../../src/engine/runtime/tensor';

/** ONNX element types used here (onnx.proto TensorProto.DataType). */
const FLOAT = 1;
const INT64 = 7;

/** value_info with a symbolic batch dim: name, elem type, dims (a string is a dim_param). */
function valueInfo(w: ProtoWriter, name: string, elem: number, dims: (number | string)[]): void {
  w.string(1, name).message(2, (type) =>
    type.message(1, (tensor) =>
      tensor.varint(1, elem).message(2, (shape) => {
        for (const d of dims)
          shape.message(1, (dim) => (typeof d === 'number' ? dim.varint(1, d) : dim.string(2, d)));
      }),
    ),
  );
}

/**
 * A two-node ONNX model: the image batch summed per example (ReduceSum over C, H, W) and the
 * int64 labels passed through. Enough to prove the featurized tensors feed a real ORT graph.
 */
function model(): Uint8Array {
  return new ProtoWriter()
    .varint(1, 8)
    .message(8, (op) => op.string(1, '').varint(2, 17))
    .message(7, (g) => {
      g.message(1, (n) =>
        n
          .string(1, 'x')
          .string(1, 'axes')
          .string(2, 'sums')
          .string(4, 'ReduceSum')
          .message(5, (a) => a.string(1, 'keepdims').varint(3, 0).varint(20, 2)),
      );
      g.message(1, (n) => n.string(1, 'y').string(2, 'labels').string(4, 'Identity'));
      g.string(2, 'feed-check');
      g.message(11, (v) => valueInfo(v, 'x', FLOAT, ['N', 1, 28, 28]));
      g.message(11, (v) => valueInfo(v, 'axes', INT64, [3]));
      g.message(11, (v) => valueInfo(v, 'y', INT64, ['N']));
      g.message(12, (v) => valueInfo(v, 'sums', FLOAT, ['N']));
      g.message(12, (v) => valueInfo(v, 'labels', INT64, ['N']));
    })
    .finish();
}

describe('featurized batches feed ONNX Runtime', () => {
  it('runs an MNIST batch (float32 NCHW + int64 labels) through a real session', async () => {
    const data = await loadForTraining({ builtin: 'mnist' }, { task: 'image' });
    const batch = batches(data, 'train', { batchSize: 16, seed: 5 }).next();
    const session = await EngineSession.create(model());
    try {
      const axes = { dtype: 'int64' as const, dims: [3], data: BigInt64Array.of(1n, 2n, 3n) };
      const out = await session.run({ x: batch.inputs, axes, y: batch.targets });
      expect(out.labels.dims).toEqual([16]);
      expect(toNumbers(out.labels)).toEqual(toNumbers(batch.targets));
      const x = batch.inputs.data as Float32Array;
      let first = 0;
      for (let i = 0; i < 784; i++) first += x[i];
      expect(out.sums.data[0]).toBeCloseTo(first, 2);
      expect(first).toBeGreaterThan(20); // ink of a real digit, scaled to [0, 1]
    } finally {
      await session.release();
    }
  });
});
