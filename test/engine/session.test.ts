import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/ir/graph';
import { encodeModel } from '../../src/engine/onnx/encode';
import { EngineSession } from '../../src/engine/runtime/session';
import { tensorFrom, toNumbers } from '../../src/engine/runtime/tensor';

describe('EngineSession options', () => {
  // allowSpinning travels to ORT as the config entry session.intra_op.allow_spinning (a string
  // "0"/"1"); the Node binding refuses non-string values, so a malformed entry fails at create.
  it('creates working sessions with intra-op spinning on and off', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 2]);
    g.output('y', g.op('MatMul', [x, x]));
    const bytes = encodeModel(g);
    for (const allowSpinning of [false, true]) {
      const s = await EngineSession.create(bytes, { allowSpinning, intraOpThreads: 2 });
      const out = await s.run({ x: tensorFrom('float32', [2, 2], [1, 2, 3, 4]) });
      expect(toNumbers(out.y)).toEqual([7, 10, 15, 22]);
      await s.release();
    }
  });
});
