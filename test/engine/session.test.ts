import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/ir/graph';
import { encodeModel } from '../../src/engine/onnx/encode';
import { EngineSession } from '../../src/engine/runtime/session';
import { spinWhileRunning } from '../../src/engine/runtime/spinning';
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

  // The server's MAAS_INTRA_OP_SPIN_US: spinning bounded in time (session.intra_op.spin_duration_us)
  // and stopped when a run returns (session.force_spinning_stop). ORT only warns about a duration
  // it cannot parse, so the config's parser is what keeps it a whole number of µs.
  it('creates working sessions that spin only while running, bounded in µs', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 2]);
    g.output('y', g.op('MatMul', [x, x]));
    const bytes = encodeModel(g);
    expect(spinWhileRunning(0)).toEqual({ allowSpinning: false });
    for (const micros of [1, 100, 1_000_000]) {
      const options = spinWhileRunning(micros);
      expect(options).toEqual({ allowSpinning: true, spinOnlyWhileRunning: true, spinMicros: micros });
      const s = await EngineSession.create(bytes, { ...options, intraOpThreads: 2 });
      for (let run = 0; run < 2; run++) {
        const out = await s.run({ x: tensorFrom('float32', [2, 2], [1, 2, 3, 4]) });
        expect(toNumbers(out.y)).toEqual([7, 10, 15, 22]);
      }
      await s.release();
    }
  });
});
