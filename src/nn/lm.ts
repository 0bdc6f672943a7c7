/**
 * Language models over token ids: a recurrent LM (embedding → LSTM/GRU layers → linear head) and
 * the train spec every LM here shares (next-token cross-entropy over [B, T]).
 *
 *   const model = lstmLm({ vocab: 65, embed: 64, hidden: 256 });
 *   const trainer = await compileTrainStep({ model: languageModelSpec(model, { batch: 32, seq: 64 }), optimizer: adam() });
 *   const onnx = exportLstmLm(model);   // step-wise generation with state in/out, see engine README
 */
import { fail } from '../common/errors';
import { encodeModel, Graph, type ModelSpec, type Parameter, type Value } from '../engine/index';
import { embedding, type Layer, linear, named } from './layers';
import { accuracy, crossEntropy } from './losses';
import { Rng } from './rng';
import { gru, lstm, type RecurrentLayer, type RecurrentState } from './rnn';

/** What `languageModelSpec` needs: ids [B, T] → logits [B, T, V]. */
export interface TokenModel {
  readonly params: Parameter[];
  readonly vocab: number;
  logits(ids: Value): Value;
}

export interface LstmLmConfig {
  vocab: number;
  embed: number;
  hidden: number;
  layers?: number;
  cell?: 'lstm' | 'gru';
  seed?: number;
}

export interface LstmLm extends TokenModel {
  readonly config: Required<LstmLmConfig>;
  readonly cells: RecurrentLayer[];
  /** Logits and the state after the last step; `initial` has one state per layer. */
  run(ids: Value, initial?: RecurrentState[]): { logits: Value; state: RecurrentState[] };
}

export function lstmLm(config: LstmLmConfig): LstmLm {
  const c: Required<LstmLmConfig> = { layers: 1, cell: 'lstm', seed: 1, ...config };
  const rng = new Rng(c.seed);
  const emb = named('embed', embedding(rng, c.vocab, c.embed));
  const make = c.cell === 'lstm' ? lstm : gru;
  const cells = Array.from({ length: c.layers }, (_, i) =>
    named(`${c.cell}${i}`, make(rng, i === 0 ? c.embed : c.hidden, c.hidden)),
  );
  const head: Layer = named('head', linear(rng, c.hidden, c.vocab));
  const run = (ids: Value, initial?: RecurrentState[]) => {
    let x = emb(ids);
    const state: RecurrentState[] = [];
    cells.forEach((cell, i) => {
      const r = cell.run(x, initial?.[i]);
      x = r.output;
      state.push(r.state);
    });
    return { logits: head(x), state };
  };
  return {
    config: c,
    cells,
    vocab: c.vocab,
    params: [...emb.params, ...cells.flatMap((l) => l.params), ...head.params],
    run,
    logits: (ids) => run(ids).logits,
  };
}

/** Next-token training on batches { x: int64 [B, T], y: int64 [B, T] } (y = x shifted by one). */
export function languageModelSpec(model: TokenModel, shape: { batch: number; seq: number }): ModelSpec {
  return {
    params: model.params,
    batch: {
      x: { dtype: 'int64', shape: [shape.batch, shape.seq] },
      y: { dtype: 'int64', shape: [shape.batch, shape.seq] },
    },
    forward: (b) => ({ logits: model.logits(b.x) }),
    loss: (p, b) => crossEntropy(p.logits, b.y),
    metrics: (p, b): Record<string, Value> => ({ accuracy: accuracy(p.logits, b.y) }),
    inferenceOutputs: ['logits'],
  };
}

/** [L, B, H] → L values [B, H]. */
function unstack(v: Value, n: number): Value[] {
  const g = v.graph;
  const parts = n === 1 ? [v] : g.ops('Split', [v], { axis: 0, split: Array(n).fill(1) });
  return parts.map((p) => g.op('Squeeze', [p], { axes: [0] }));
}

/** L values [B, H] → [L, B, H]. */
function restack(vs: Value[]): Value {
  const g = vs[0].graph;
  const parts = vs.map((v) => g.op('Unsqueeze', [v], { axes: [0] }));
  return parts.length === 1 ? parts[0] : g.op('Concat', parts, { axis: 0 });
}

/**
 * Inference ONNX for step-wise generation (parameters as float32 initializers; call
 * `trainer.syncParameters()` first). Inputs `input_ids` int64 [batch, seq] (seq fixed, default 1),
 * `h_in` (and `c_in` for an LSTM) float32 [layers, batch, hidden]; outputs `logits`
 * [batch, seq, vocab], `h_out` (and `c_out`) [layers, batch, hidden]. Zeros start a sequence.
 */
export function exportLstmLm(model: LstmLm, options: { seq?: number } = {}): Uint8Array {
  const { layers, hidden, cell } = model.config;
  const seq = options.seq ?? 1;
  if (!Number.isInteger(seq) || seq < 1)
    fail('invalid_request', `seq must be a positive integer, got ${seq}`);
  const g = new Graph();
  const ids = g.input('input_ids', 'int64', ['batch', seq]);
  const stateShape = [layers, 'batch', hidden];
  const hs = unstack(g.input('h_in', 'float32', stateShape), layers);
  const cs = cell === 'lstm' ? unstack(g.input('c_in', 'float32', stateShape), layers) : null;
  const initial = hs.map((h, i) => (cs ? { h, c: cs[i] } : { h }));
  const { logits, state } = model.run(ids, initial);
  g.output('logits', logits);
  g.output('h_out', restack(state.map((s) => s.h)));
  if (cs) g.output('c_out', restack(state.map((s) => s.c!)));
  return encodeModel(g, { name: `maas-${cell}-lm` });
}
