/**
 * ONNX's RNN, LSTM and GRU ops, unrolled over a static sequence length into IR primitives (MatMul,
 * Gemm, Split, Sigmoid, Tanh, Relu, Mul, Add), so an imported recurrent model differentiates like
 * any other graph. The maths is the ONNX spec's (layout 0): X [T, B, I], W [D, G·H, I],
 * R [D, G·H, H], B [D, 2·G·H] = [Wb, Rb]; one gate for RNN (h' = f(x·Wᵀ + h·Rᵀ + Wb + Rb), f Tanh
 * or Relu), gate order i, o, f, c for LSTM and z, r, h for GRU; outputs Y [T, D, B, H], Y_h and
 * (LSTM) Y_c [D, B, H]. A reverse direction runs from the last step to the first, and its Y rows
 * stay at their input positions. What is not built (sequence_lens, peepholes, other activations,
 * clip, layout 1, input_forget) is refused by name.
 */
import type { GraphBuilder, Value } from '../ir/types';
import type { ImportRow, NodeImport } from './import-node';

type Kind = 'RNN' | 'LSTM' | 'GRU';

/** One direction's weights: W [G·H, I], R [G·H, H], biases [G·H] (absent: zero). */
interface DirectionWeights {
  w: Value;
  r: Value;
  wb: Value | null;
  rb: Value | null;
}

interface State {
  h: Value | null;
  c: Value | null;
}

interface StepContext {
  g: GraphBuilder;
  hidden: number;
  weights: DirectionWeights;
  /** GRU only. */
  gru: GruWeights | null;
  linearBeforeReset: boolean;
  /** RNN only: its activation op in this direction. */
  activation: string;
}

const DEFAULT_ACTIVATIONS: Record<'LSTM' | 'GRU', string[]> = {
  LSTM: ['Sigmoid', 'Tanh', 'Tanh'],
  GRU: ['Sigmoid', 'Tanh'],
};
const DIRECTIONS: Record<string, number> = { forward: 1, reverse: 1, bidirectional: 2 };

/** Refuse the forms this unrolling does not compute, naming each. */
function refuseUnbuilt(c: NodeImport, kind: Kind, directions: number): void {
  if (c.int('layout', 0) !== 0) c.refuse('layout 1 (batch-first tensors) is not supported');
  if (c.has(4)) c.refuse('sequence_lens is not supported (every sequence runs the full length)');
  if (kind === 'LSTM' && c.has(7)) c.refuse('peepholes (input P) are not supported');
  if (kind === 'LSTM' && c.int('input_forget', 0) !== 0) c.refuse('input_forget 1 is not supported');
  if (c.node.attrs.clip) c.refuse('clip is not supported');
  if (c.node.attrs.activation_alpha || c.node.attrs.activation_beta)
    c.refuse('activation_alpha and activation_beta are not supported');
  const activations = c.node.attrs.activations;
  // An RNN's activations are read (or refused) by rnnActivations.
  if (activations && kind !== 'RNN') {
    const want = Array.from({ length: directions }, () => DEFAULT_ACTIVATIONS[kind]).flat();
    const given = activations.kind === 'strings' ? activations.value : [];
    if (given.join() !== want.join())
      c.refuse(`activations [${given}] are not supported (only the defaults ${DEFAULT_ACTIVATIONS[kind]})`);
  }
}

/** An RNN's activation per direction: Tanh by default, or Relu (PyTorch's `nonlinearity='relu'`). */
const RNN_ACTIVATIONS = ['Tanh', 'Relu'];
function rnnActivations(c: NodeImport, directions: number): string[] {
  const activations = c.node.attrs.activations;
  if (!activations) return Array(directions).fill('Tanh');
  const given = activations.kind === 'strings' ? activations.value : [];
  if (given.length !== directions || !given.every((a) => RNN_ACTIVATIONS.includes(a)))
    c.refuse(
      `activations [${given}] are not supported (an RNN takes one of ${RNN_ACTIVATIONS} per direction)`,
    );
  return given;
}

/** Direction `d` of a [D, …] value. */
function pick(g: GraphBuilder, v: Value, d: number): Value {
  const one = v.shape[0] === 1 ? v : g.op('Slice', [v], { starts: [d], ends: [d + 1], axes: [0] });
  return g.op('Squeeze', [one], { axes: [0] });
}

/** Rows [from, to) of a [G·H, …] weight or [G·H] bias. */
const rows = (g: GraphBuilder, v: Value, from: number, to: number): Value =>
  g.op('Slice', [v], { starts: [from], ends: [to], axes: [0] });

const add = (g: GraphBuilder, a: Value, b: Value | null): Value => (b ? g.op('Add', [a, b]) : a);

function directionWeights(c: NodeImport, d: number, gates: number, hidden: number): DirectionWeights {
  const g = c.g;
  const w = pick(g, c.x(1), d);
  const r = pick(g, c.x(2, w.dtype), d);
  if (!c.has(3)) return { w, r, wb: null, rb: null };
  const b = pick(g, c.x(3, w.dtype), d);
  return { w, r, wb: rows(g, b, 0, gates * hidden), rb: rows(g, b, gates * hidden, 2 * gates * hidden) };
}

/** X [T, B, I] → T values [B, G·H]: X·Wᵀ + bias for all steps in one MatMul, split per step. */
function inputProjections(g: GraphBuilder, x: Value, w: Value, bias: Value | null): Value[] {
  const proj = add(g, g.op('MatMul', [x, g.op('Transpose', [w], { perm: [1, 0] })]), bias);
  const steps = x.shape[0] as number;
  const parts = steps === 1 ? [proj] : g.ops('Split', [proj], { axis: 0, split: Array(steps).fill(1) });
  return parts.map((p) => g.op('Squeeze', [p], { axes: [0] }));
}

/** h·Rᵀ + bias; with no previous h (a zero initial state) only the bias is left. */
function recurrent(s: StepContext, h: Value | null, r: Value, bias: Value | null): Value | null {
  if (!h) return bias;
  return s.g.op('Gemm', bias ? [h, r, bias] : [h, r], { transB: true });
}

/** h' = f(x·Wᵀ + Wb + Rb + h·Rᵀ), f Tanh or Relu: the biases are already in the input projection. */
function rnnStep(s: StepContext, xp: Value, prev: State): State {
  const pre = prev.h ? s.g.op('Gemm', [prev.h, s.weights.r, xp], { transB: true }) : xp;
  return { h: s.g.op(s.activation, [pre]), c: null };
}

function lstmStep(s: StepContext, xp: Value, prev: State): State {
  const { g, hidden } = s;
  const pre = prev.h ? g.op('Gemm', [prev.h, s.weights.r, xp], { transB: true }) : xp;
  const [i, o, f, cc] = g.ops('Split', [pre], { axis: 1, split: [hidden, hidden, hidden, hidden] });
  const input = g.op('Mul', [g.op('Sigmoid', [i]), g.op('Tanh', [cc])]);
  const c = prev.c ? g.op('Add', [g.op('Mul', [g.op('Sigmoid', [f]), prev.c]), input]) : input;
  return { h: g.op('Mul', [g.op('Sigmoid', [o]), g.op('Tanh', [c])]), c };
}

/** GRU's R and Rb cut once per direction: the z and r rows act on h, the h rows (maybe) on r ⊙ h. */
interface GruWeights {
  rzr: Value;
  rh: Value;
  rbzr: Value | null;
  rbh: Value | null;
}

function gruWeights(g: GraphBuilder, w: DirectionWeights, hidden: number): GruWeights {
  const cut = (v: Value, from: number, to: number) => rows(g, v, from, to);
  return {
    rzr: cut(w.r, 0, 2 * hidden),
    rh: cut(w.r, 2 * hidden, 3 * hidden),
    rbzr: w.rb && cut(w.rb, 0, 2 * hidden),
    rbh: w.rb && cut(w.rb, 2 * hidden, 3 * hidden),
  };
}

function gruStep(s: StepContext, xp: Value, prev: State): State {
  const { g, hidden } = s;
  const w = s.gru!;
  const [xz, xr, xh] = g.ops('Split', [xp], { axis: 1, split: [hidden, hidden, hidden] });
  const zr = recurrent(s, prev.h, w.rzr, w.rbzr);
  const [hz, hr] = zr ? g.ops('Split', [zr], { axis: -1, split: [hidden, hidden] }) : [null, null];
  const z = g.op('Sigmoid', [add(g, xz, hz)]);
  const r = g.op('Sigmoid', [add(g, xr, hr)]);
  // linear_before_reset 0: (r ⊙ h)·R_hᵀ + Rb_h; 1: r ⊙ (h·R_hᵀ + Rb_h).
  let hh: Value | null;
  if (!s.linearBeforeReset) hh = recurrent(s, prev.h ? g.op('Mul', [r, prev.h]) : null, w.rh, w.rbh);
  else {
    const inner = recurrent(s, prev.h, w.rh, w.rbh);
    hh = inner ? g.op('Mul', [r, inner]) : null;
  }
  const candidate = g.op('Tanh', [add(g, xh, hh)]);
  // h' = (1 − z) ⊙ ĥ + z ⊙ h = ĥ + z ⊙ (h − ĥ)
  const h = prev.h
    ? g.op('Add', [candidate, g.op('Mul', [z, g.op('Sub', [prev.h, candidate])])])
    : g.op('Sub', [candidate, g.op('Mul', [z, candidate])]);
  return { h, c: null };
}

/** Values [B, H] → [1, B, H] each, concatenated on axis 0. */
function stack(g: GraphBuilder, vs: Value[]): Value {
  const parts = vs.map((v) => g.op('Unsqueeze', [v], { axes: [0] }));
  return parts.length === 1 ? parts[0] : g.op('Concat', parts, { axis: 0 });
}

interface DirectionResult {
  /** h at each input position. */
  hs: Value[];
  last: State;
}

const GATES: Record<Kind, number> = { RNN: 1, LSTM: 4, GRU: 3 };
const STEPS: Record<Kind, (s: StepContext, xp: Value, prev: State) => State> = {
  RNN: rnnStep,
  LSTM: lstmStep,
  GRU: gruStep,
};

function runDirection(
  c: NodeImport,
  kind: Kind,
  d: number,
  reverse: boolean,
  hidden: number,
  activation: string,
): DirectionResult {
  const g = c.g;
  const x = c.x(0);
  const gates = GATES[kind];
  const weights = directionWeights(c, d, gates, hidden);
  // RNN and LSTM add Rb outside any product, so it joins Wb in the one input projection; GRU's
  // Rb_h may not.
  const bias = kind !== 'GRU' && weights.rb ? add(g, weights.wb!, weights.rb) : weights.wb;
  const xps = inputProjections(g, x, weights.w, bias);
  const s: StepContext = {
    g,
    hidden,
    weights,
    gru: kind === 'GRU' ? gruWeights(g, weights, hidden) : null,
    linearBeforeReset: c.int('linear_before_reset', 0) !== 0,
    activation,
  };
  const step = STEPS[kind];
  let state: State = {
    h: c.has(5) ? pick(g, c.x(5, x.dtype), d) : null,
    c: kind === 'LSTM' && c.has(6) ? pick(g, c.x(6, x.dtype), d) : null,
  };
  const hs: Value[] = new Array(xps.length);
  const order = [...xps.keys()];
  for (const t of reverse ? order.reverse() : order) {
    state = step(s, xps[t], state);
    hs[t] = state.h!;
  }
  return { hs, last: state };
}

/**
 * The RNN, LSTM or GRU row: [Y, Y_h] (and Y_c), built only where used (an unused output is left a
 * hole).
 */
export function recurrentRow(kind: Kind): ImportRow {
  return (c) => {
    const g = c.g;
    const direction = c.str('direction', 'forward');
    const directions = DIRECTIONS[direction];
    if (!directions)
      return c.refuse(`direction '${direction}' is not one of forward, reverse, bidirectional`);
    refuseUnbuilt(c, kind, directions);
    const x = c.x(0);
    const r = c.x(2);
    if (x.shape.length !== 3) c.refuse(`X is [${x.shape}]; it must be [seq_length, batch, input_size]`);
    if (typeof x.shape[0] !== 'number' || x.shape[0] < 1)
      c.refuse(
        `the sequence length (dim 0 of X, '${x.shape[0]}') must have a size to unroll (give it with dims)`,
      );
    const hidden = r.shape[2];
    if (typeof hidden !== 'number') return c.refuse('R must have a static shape');
    const declared = c.int('hidden_size', hidden);
    if (declared !== hidden) c.refuse(`hidden_size ${declared} differs from R's [${r.shape}]`);
    // One slice per direction on dim 0 (ORT refuses other counts: a direction must not borrow another's).
    const NAMES = ['X', 'W', 'R', 'B', 'sequence_lens', 'initial_h', 'initial_c'];
    for (const i of [1, 2, 3, 5, 6]) {
      if (i >= c.node.inputs.length || !c.has(i)) continue;
      const dim0 = c.x(i).shape[0];
      if (dim0 !== directions)
        c.refuse(`${NAMES[i]} has ${dim0} directions on dim 0; direction '${direction}' needs ${directions}`);
    }
    const activations = kind === 'RNN' ? rnnActivations(c, directions) : [];
    const runs = Array.from({ length: directions }, (_, d) =>
      runDirection(c, kind, d, direction === 'reverse' || d === 1, hidden, activations[d] ?? ''),
    );
    const outs: Value[] = [];
    // Y [T, D, B, H]: per step, the directions' h stacked on axis 1.
    if (c.used(0)) {
      const perDirection = runs.map((run) => g.op('Unsqueeze', [stack(g, run.hs)], { axes: [1] }));
      outs[0] = perDirection.length === 1 ? perDirection[0] : g.op('Concat', perDirection, { axis: 1 });
    }
    if (c.used(1))
      outs[1] = stack(
        g,
        runs.map((run) => run.last.h!),
      );
    if (kind === 'LSTM' && c.used(2))
      outs[2] = stack(
        g,
        runs.map((run) => run.last.c!),
      );
    return outs;
  };
}
