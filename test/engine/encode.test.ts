import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/ir/graph';
import { encodeModel, encodeModelParts, OPSET } from '../../src/engine/onnx/encode';
import { readFields } from '../../src/engine/onnx/wire';
import { EngineSession } from '../../src/engine/runtime/session';
import { tensorFrom, toNumbers } from '../../src/engine/runtime/tensor';
import { tempDir } from '../helpers/tmp';

describe('ONNX writer', () => {
  it('writes outputs that alias inputs or each other, symbolic dims and int64 initializers', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 3]);
    const w = g.param({ name: 'w', value: tensorFrom('float32', [3], [1, 2, 3]) });
    const y = g.op('Mul', [x, w]);
    g.output('y', y);
    g.output('y_again', y);
    g.output('x_echo', x);
    g.output('flat', g.op('Reshape', [y], { shape: [-1] }));
    const bytes = encodeModel(g);
    const model = [...readFields(bytes)];
    expect(model.find((f) => f.field === 1)?.varint).toBe(8n);
    const opset = model.find((f) => f.field === 8)!;
    expect([...readFields(opset.bytes)].find((f) => f.field === 2)?.varint).toBe(BigInt(OPSET));
    const s = await EngineSession.create(bytes);
    expect(s.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['batch', 3] }]);
    const out = await s.run({ x: tensorFrom('float32', [2, 3], [1, 1, 1, 2, 2, 2]) });
    expect(toNumbers(out.y)).toEqual([1, 2, 3, 2, 4, 6]);
    expect(toNumbers(out.y_again)).toEqual([1, 2, 3, 2, 4, 6]);
    expect(toNumbers(out.x_echo)).toEqual([1, 1, 1, 2, 2, 2]);
    expect(out.flat.dims).toEqual([6]);
    await s.release();
  });

  it('writes large parameters as external data beside the graph, small ones and constants inline', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 4]);
    const big = g.param({ name: 'big', value: tensorFrom('float32', [4, 4], [...Array(16).keys()]) });
    const small = g.param({ name: 'small', value: tensorFrom('float32', [4], [1, 1, 1, 1]) });
    const y = g.op('Add', [g.op('MatMul', [x, big]), small]);
    g.output('y', g.op('Reshape', [y], { shape: [0, 2, 2] }));
    const { model, externalData } = encodeModelParts(g, {
      externalData: { location: 'w.bin', minBytes: 32 },
    });
    expect(externalData?.length).toBe(64);
    expect(Array.from(new Float32Array(externalData!.buffer, 0, 16))).toEqual([...Array(16).keys()]);
    const inline = encodeModel(g);
    // The big weight's bytes are in the inline graph only; the small one's stay in both.
    const bytesOf = (values: number[]) => Buffer.from(new Float32Array(values).buffer);
    expect(Buffer.from(inline).includes(bytesOf([...Array(16).keys()]))).toBe(true);
    expect(Buffer.from(model).includes(bytesOf([...Array(16).keys()]))).toBe(false);
    expect(Buffer.from(model).includes(bytesOf([1, 1, 1, 1]))).toBe(true);
    const tmp = await tempDir();
    try {
      await writeFile(join(tmp.dir, 'm.onnx'), model);
      await writeFile(join(tmp.dir, 'w.bin'), externalData!);
      const a = await EngineSession.create(join(tmp.dir, 'm.onnx'));
      const b = await EngineSession.create(inline);
      const feed = { x: tensorFrom('float32', [1, 4], [1, 0, 2, 0]) };
      expect(toNumbers((await a.run(feed)).y)).toEqual(toNumbers((await b.run(feed)).y));
      expect(toNumbers((await a.run(feed)).y)).toEqual([17, 20, 23, 26]);
      await a.release();
      await b.release();
    } finally {
      await tmp.remove();
    }
  });
});
