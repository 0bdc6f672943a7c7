import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/ir/graph';
import { encodeModel } from '../../src/engine/onnx/encode';
import { SequenceStates } from '../../src/engine/runtime/sequence';
import { EngineSession } from '../../src/engine/runtime/session';
import { type Tensor, tensorFrom, toNumbers } from '../../src/engine/runtime/tensor';

// A running sum: acc_out = acc_in + x (fed back), y = 2 · acc_out (returned).
let session: EngineSession;
const feedback = { acc_out: 'acc_in' };
const exec = (feeds: Record<string, Tensor>, outputs?: readonly string[]) => session.run(feeds, outputs);
const x = (v: number) => ({ x: tensorFrom('float32', [1], [v]) });
const zero = { acc_in: tensorFrom('float32', [1], [0]) };

beforeAll(async () => {
  const g = new Graph();
  const acc = g.op('Add', [g.input('acc_in', 'float32', [1]), g.input('x', 'float32', [1])]);
  g.output('acc_out', acc);
  g.output('y', g.op('Mul', [acc, g.constant(tensorFrom('float32', [1], [2]))]));
  session = await EngineSession.create(encodeModel(g));
});
afterAll(() => session?.release());

describe('SequenceStates', () => {
  it('feeds the fed-back outputs to the next run and returns only the others; explicit feeds restart', async () => {
    const states = new SequenceStates();
    expect(toNumbers((await states.run(1, feedback, exec, { ...x(1), ...zero })).y)).toEqual([2]);
    const second = await states.run(1, feedback, exec, x(2), ['y']);
    expect(Object.keys(second)).toEqual(['y']);
    expect(toNumbers(second.y)).toEqual([6]);
    // Another sequence has its own state; passing the state explicitly starts over.
    expect(toNumbers((await states.run(2, feedback, exec, { ...x(5), ...zero })).y)).toEqual([10]);
    expect(toNumbers((await states.run(1, feedback, exec, { ...x(1), ...zero })).y)).toEqual([2]);
    expect(states.size).toBe(2);
  });

  it('a sequence closed while its run is in flight keeps no state', async () => {
    const states = new SequenceStates();
    const running = states.run(7, feedback, exec, { ...x(1), ...zero });
    states.close(7);
    await running;
    expect(states.size).toBe(0);
    // Without state, the next run lacks acc_in: ORT refuses it.
    await expect(states.run(7, feedback, exec, x(1))).rejects.toThrow(/acc_in/);
  });
});
