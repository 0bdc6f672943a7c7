/**
 * ONNX RNN, LSTM and GRU import: the unrolled IR graph, exported again, gives ORT's own
 * RNN/LSTM/GRU outputs within 1e-5; its gradients match central finite differences in float64; the forms it
 * does not build are refused by name.
 */
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../../src/engine/onnx/encode';
import { importOnnx, missingOps } from '../../src/engine/onnx/import';
import { importedLayers } from '../../src/engine/onnx/import-layers';
import { type Tensor, tensorFrom } from '../../src/engine/runtime/tensor';
import { checkGradients, maxDiff, run, uniform } from './import-check';
import { type Attr, type NodeDef, onnxModel, type ValueDef } from './onnx-builder';

const T = 3;
const B = 2;
const I = 3;
const H = 4;

interface RecurrentCase {
  op: 'RNN' | 'LSTM' | 'GRU';
  direction?: 'forward' | 'reverse' | 'bidirectional';
  /** initial_h (and initial_c for LSTM) as model inputs. */
  initial?: boolean;
  bias?: boolean;
  /** Graph outputs, by output index (0 Y, 1 Y_h, 2 Y_c). */
  outputs?: number[];
  attrs?: Record<string, Attr>;
  seq?: number | string;
  extraInputs?: string[];
  /** Dim 0 of W, R and B when it differs from the direction count (a malformed model). */
  weightDirs?: number;
}

const f32 = (dims: number[], scale = 0.6): Tensor =>
  tensorFrom(
    'float32',
    dims,
    Array.from(uniform(dims).data as Float32Array, (v) => v * scale),
  );

function recurrentModel(c: RecurrentCase): Uint8Array {
  const dirs = c.direction === 'bidirectional' ? 2 : 1;
  const gates = { RNN: 1, LSTM: 4, GRU: 3 }[c.op];
  const names = c.op === 'LSTM' ? ['Y', 'Y_h', 'Y_c'] : ['Y', 'Y_h'];
  const shapes = [
    [c.seq ?? T, dirs, B, H],
    [dirs, B, H],
    [dirs, B, H],
  ];
  const inputs: ValueDef[] = [{ name: 'X', dtype: 'float32', shape: [c.seq ?? T, B, I] }];
  const initial = c.op === 'LSTM' ? ['h0', 'c0'] : ['h0'];
  if (c.initial) for (const n of initial) inputs.push({ name: n, dtype: 'float32', shape: [dirs, B, H] });
  const nodeInputs = ['X', 'W', 'R', c.bias === false ? '' : 'B', '', ...(c.initial ? initial : [])];
  for (const [i, n] of (c.extraInputs ?? []).entries()) if (n) nodeInputs[4 + i] = n;
  const node: NodeDef = {
    op: c.op,
    inputs: nodeInputs,
    outputs: names,
    attrs: { hidden_size: { i: H }, direction: { s: c.direction ?? 'forward' }, ...c.attrs },
  };
  return onnxModel({
    opset: 14,
    inputs,
    outputs: (c.outputs ?? names.map((_, i) => i)).map((i) => ({
      name: names[i],
      dtype: 'float32',
      shape: shapes[i],
    })),
    initializers: {
      W: f32([c.weightDirs ?? dirs, gates * H, I]),
      R: f32([c.weightDirs ?? dirs, gates * H, H]),
      ...(c.bias === false ? {} : { B: f32([c.weightDirs ?? dirs, 2 * gates * H], 0.3) }),
      sl: tensorFrom('int32', [B], [T, T]),
      P: f32([dirs, 3 * H]),
    },
    nodes: [node],
  });
}

function feedsOf(bytes: Uint8Array, dtype: 'float32' | 'float64'): Record<string, Tensor> {
  const m = importOnnx(bytes);
  return Object.fromEntries(m.declared.map((d) => [d.name, uniform(d.shape as number[], dtype)]));
}

/** import → export → ORT equals ORT on the original, output by output. */
async function roundTrip(bytes: Uint8Array): Promise<number> {
  const feeds = feedsOf(bytes, 'float32');
  const want = await run(bytes, feeds);
  const got = await run(encodeModel(importOnnx(bytes).graph), feeds);
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  return Math.max(...Object.keys(want).map((k) => maxDiff(got[k], want[k])));
}

const cases: Record<string, RecurrentCase> = {
  'an RNN, forward, no initial state': { op: 'RNN' },
  'an RNN, bidirectional, with initial h': { op: 'RNN', direction: 'bidirectional', initial: true },
  'an RNN, reverse, no B, only Y_h read': { op: 'RNN', direction: 'reverse', bias: false, outputs: [1] },
  "an RNN with Relu (PyTorch's nonlinearity='relu')": {
    op: 'RNN',
    attrs: { activations: { strings: ['Relu'] } },
  },
  'an RNN, bidirectional, Relu one way and Tanh the other, written out': {
    op: 'RNN',
    direction: 'bidirectional',
    initial: true,
    attrs: { activations: { strings: ['Relu', 'Tanh'] } },
  },
  'an LSTM, forward, no initial state': { op: 'LSTM' },
  'an LSTM, bidirectional, with initial h and c': { op: 'LSTM', direction: 'bidirectional', initial: true },
  'a GRU, linear_before_reset 0, with initial h': {
    op: 'GRU',
    initial: true,
    attrs: { linear_before_reset: { i: 0 } },
  },
  'a GRU, linear_before_reset 1, reverse, only Y_h read': {
    op: 'GRU',
    direction: 'reverse',
    outputs: [1],
    attrs: { linear_before_reset: { i: 1 } },
  },
  'a GRU, linear_before_reset 1, bidirectional, initial h, no B': {
    op: 'GRU',
    direction: 'bidirectional',
    initial: true,
    bias: false,
    attrs: { linear_before_reset: { i: 1 } },
  },
};

describe('ONNX RNN, LSTM and GRU import (unrolled)', () => {
  for (const [what, c] of Object.entries(cases)) {
    it(`${what}: import → export gives ORT's ${c.op} outputs (1e-5)`, async () => {
      const bytes = recurrentModel(c);
      expect(missingOps(bytes)).toEqual([]);
      expect(await roundTrip(bytes)).toBeLessThanOrEqual(1e-5);
    });

    it(`${what}: gradients w.r.t. X, the initial state and W, R, B match finite differences`, async () => {
      const bytes = recurrentModel(c);
      const r = await checkGradients(bytes, feedsOf(bytes, 'float64'), B);
      const states = c.initial ? (c.op === 'LSTM' ? 2 : 1) : 0;
      expect(r.tensors).toBe(1 + states + (c.bias === false ? 2 : 3));
      expect(r.worst).toBeLessThanOrEqual(1);
    });
  }

  it('W, R and B are trainable parameters; fine-tuning sees them as weight, weight, bias', () => {
    const bytes = recurrentModel({ op: 'LSTM' });
    expect(
      importOnnx(bytes)
        .params.map((p) => p.name)
        .sort(),
    ).toEqual(['B', 'R', 'W']);
    expect(importedLayers(bytes).map((l) => [l.op, l.weights.map((w) => `${w.name}:${w.role}`)])).toEqual([
      ['LSTM', ['W:weight', 'R:weight', 'B:bias']],
    ]);
  });

  it('builds no Y when only Y_h is read', () => {
    const m = importOnnx(recurrentModel({ op: 'GRU', outputs: [1] }));
    expect(m.graph.nodes.map((n) => n.op)).not.toContain('Concat');
  });

  const refusals: [string, RecurrentCase, string][] = [
    ['sequence_lens', { op: 'LSTM', extraInputs: ['sl'] }, 'sequence_lens is not supported'],
    ['peepholes', { op: 'LSTM', extraInputs: ['', '', '', 'P'] }, 'peepholes (input P) are not supported'],
    [
      "an RNN's other activation",
      { op: 'RNN', attrs: { activations: { strings: ['Sigmoid'] } } },
      'activations [Sigmoid] are not supported (an RNN takes one of Tanh,Relu per direction)',
    ],
    [
      'other activations',
      { op: 'GRU', attrs: { activations: { strings: ['Relu', 'Tanh'] } } },
      'activations [Relu,Tanh] are not supported (only the defaults Sigmoid,Tanh)',
    ],
    ['clip', { op: 'LSTM', attrs: { clip: { f: 3 } } }, 'clip is not supported'],
    [
      'layout 1',
      { op: 'GRU', attrs: { layout: { i: 1 } } },
      'layout 1 (batch-first tensors) is not supported',
    ],
    ['input_forget', { op: 'LSTM', attrs: { input_forget: { i: 1 } } }, 'input_forget 1 is not supported'],
    [
      "one direction's weights in a bidirectional node",
      { op: 'LSTM', direction: 'bidirectional', weightDirs: 1 },
      "W has 1 directions on dim 0; direction 'bidirectional' needs 2",
    ],
    [
      'two directions of weights in a forward node',
      { op: 'GRU', weightDirs: 2 },
      "W has 2 directions on dim 0; direction 'forward' needs 1",
    ],
    [
      'a symbolic sequence length',
      { op: 'LSTM', seq: 'seq' },
      "the sequence length (dim 0 of X, 'seq') must have a size to unroll",
    ],
  ];
  for (const [what, c, reason] of refusals)
    it(`refuses ${what}, naming it`, () => {
      expect(() => importOnnx(recurrentModel(c))).toThrow(`${c.op} 'Y': ${reason}`);
    });

  it('accepts the default activations written out, and a symbolic sequence length given a size', () => {
    const explicit = { activations: { strings: ['Sigmoid', 'Tanh', 'Tanh', 'Sigmoid', 'Tanh', 'Tanh'] } };
    expect(() =>
      importOnnx(recurrentModel({ op: 'LSTM', direction: 'bidirectional', attrs: explicit })),
    ).not.toThrow();
    const m = importOnnx(recurrentModel({ op: 'LSTM', seq: 'seq' }), { dims: { seq: 5 } });
    expect(m.outputs[0].value.shape).toEqual([5, 1, B, H]);
  });
});
