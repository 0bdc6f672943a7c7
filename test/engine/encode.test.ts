import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/ir/graph';
import { encodeModel, OPSET } from '../../src/engine/onnx/encode';
import { readFields } from '../../src/engine/onnx/wire';
import { EngineSession } from '../../src/engine/runtime/session';
import { tensorFrom, toNumbers } from '../../src/engine/runtime/tensor';

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
});
