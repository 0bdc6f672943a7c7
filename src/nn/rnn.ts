/**
 * LSTM and GRU layers unrolled over a fixed sequence length (docs/engine.md: one Gemm per step for
 * h·W_hh, gates by Split/Sigmoid/Tanh/Mul; ONNX's LSTM op is not used because it hides the cell
 * states and gates the backward pass needs).
 *
 * Batch-first like PyTorch's `batch_first=True`: x [B, T, I] → outputs [B, T, H]. The input
 * projection of all steps is one MatMul ([B·T, I] × [I, G·H]); only h·W_hh runs per step.
 * Gate order as PyTorch: LSTM (i, f, g, o), GRU (r, z, n). Weights are stored [in, G·H] (x·W,
 * no transposes), so PyTorch's `weight_ih_l0` is this layer's `weight_ih` transposed.
 */
import type { Parameter, Value } from '../engine/index';
import { lecunUniform, parameter } from './init';
import type { Layer } from './layers';
import type { Rng } from './rng';

/** Recurrent state at a step: h [B, H] (and c [B, H] for an LSTM). */
export interface RecurrentState {
  h: Value;
  c?: Value;
}

export interface RecurrentResult {
  /** Hidden state of every step, [B, T, H]. */
  output: Value;
  /** State after the last step. */
  state: RecurrentState;
}

export interface RecurrentLayer extends Layer {
  readonly hiddenSize: number;
  readonly kind: 'lstm' | 'gru';
  /** Run over x [B, T, I] from `initial` (zeros when absent). */
  run(x: Value, initial?: RecurrentState): RecurrentResult;
}

interface Weights {
  ih: Parameter;
  hh: Parameter;
  bias: Parameter;
  /** GRU only: b_hn sits inside r ⊙ (h·W_hn + b_hn), so the hidden bias is kept apart. */
  hhBias: Parameter | null;
}

function weights(rng: Rng, gates: number, input: number, hidden: number, gru: boolean): Weights {
  // PyTorch's default: every weight and bias U(±1/√H).
  const init = (name: string, dims: number[]) => parameter(name, dims, lecunUniform(rng, dims, hidden, 0));
  const ih = init('weight_ih', [input, gates * hidden]);
  const hh = init('weight_hh', [hidden, gates * hidden]);
  const bias = init('bias', [gates * hidden]);
  return { ih, hh, bias, hhBias: gru ? init('bias_hh', [gates * hidden]) : null };
}

/** x [B, T, I] → T values [B, G·H]: x·W_ih + b for all steps in one MatMul, split per step. */
function inputProjections(x: Value, w: Weights): Value[] {
  const g = x.graph;
  const proj = g.op('Add', [g.op('MatMul', [x, g.param(w.ih)]), g.param(w.bias)]);
  const steps = Number(x.shape[1]);
  const timeMajor = g.op('Transpose', [proj], { perm: [1, 0, 2] });
  const parts =
    steps === 1 ? [timeMajor] : g.ops('Split', [timeMajor], { axis: 0, split: Array(steps).fill(1) });
  return parts.map((p) => g.op('Squeeze', [p], { axes: [0] }));
}

/** T values [B, H] → [B, T, H]. */
function stack(hs: Value[]): Value {
  const g = hs[0].graph;
  const parts = hs.map((h) => g.op('Unsqueeze', [h], { axes: [1] }));
  return parts.length === 1 ? parts[0] : g.op('Concat', parts, { axis: 1 });
}

function lstmStep(w: Weights, xp: Value, prev: RecurrentState | null, hidden: number): RecurrentState {
  const g = xp.graph;
  // With a zero initial state h·W_hh vanishes and so does f ⊙ c: the first step skips them.
  const pre = prev ? g.op('Gemm', [prev.h, g.param(w.hh), xp]) : xp;
  const [i, f, gg, o] = g.ops('Split', [pre], { axis: 1, split: [hidden, hidden, hidden, hidden] });
  const ig = g.op('Mul', [g.op('Sigmoid', [i]), g.op('Tanh', [gg])]);
  const c = prev?.c ? g.op('Add', [g.op('Mul', [g.op('Sigmoid', [f]), prev.c]), ig]) : ig;
  const h = g.op('Mul', [g.op('Sigmoid', [o]), g.op('Tanh', [c])]);
  return { h, c };
}

function gruStep(w: Weights, xp: Value, prev: RecurrentState | null, hidden: number): RecurrentState {
  const g = xp.graph;
  const split = { axis: -1, split: [hidden, hidden, hidden] };
  const [xr, xz, xn] = g.ops('Split', [xp], split);
  // h = 0 makes h·W_hh + b_hh equal to b_hh (broadcast over the batch).
  const hp = prev ? g.op('Gemm', [prev.h, g.param(w.hh), g.param(w.hhBias!)]) : g.param(w.hhBias!);
  const [hr, hz, hn] = g.ops('Split', [hp], split);
  const r = g.op('Sigmoid', [g.op('Add', [xr, hr])]);
  const z = g.op('Sigmoid', [g.op('Add', [xz, hz])]);
  const n = g.op('Tanh', [g.op('Add', [xn, g.op('Mul', [r, hn])])]);
  // h' = (1 − z) ⊙ n + z ⊙ h = n + z ⊙ (h − n)
  const h = prev
    ? g.op('Add', [n, g.op('Mul', [z, g.op('Sub', [prev.h, n])])])
    : g.op('Sub', [n, g.op('Mul', [z, n])]);
  return { h };
}

function recurrent(kind: 'lstm' | 'gru', rng: Rng, inputSize: number, hiddenSize: number): RecurrentLayer {
  const w = weights(rng, kind === 'lstm' ? 4 : 3, inputSize, hiddenSize, kind === 'gru');
  const step = kind === 'lstm' ? lstmStep : gruStep;
  const run = (x: Value, initial?: RecurrentState): RecurrentResult => {
    let state: RecurrentState | null = initial ?? null;
    const hs: Value[] = [];
    for (const xp of inputProjections(x, w)) {
      state = step(w, xp, state, hiddenSize);
      hs.push(state.h);
    }
    return { output: stack(hs), state: state! };
  };
  const params = [w.ih, w.hh, w.bias, ...(w.hhBias ? [w.hhBias] : [])];
  return Object.assign((x: Value) => run(x).output, { params, buffers: [], hiddenSize, kind, run });
}

/** LSTM layer: x [B, T, I] → h of every step [B, T, H]; `.run(x, {h, c})` also gives the final state. */
export function lstm(rng: Rng, inputSize: number, hiddenSize: number): RecurrentLayer {
  return recurrent('lstm', rng, inputSize, hiddenSize);
}

/** GRU layer (PyTorch's formulation, b_hn inside the reset gate's product). */
export function gru(rng: Rng, inputSize: number, hiddenSize: number): RecurrentLayer {
  return recurrent('gru', rng, inputSize, hiddenSize);
}
