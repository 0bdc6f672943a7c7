/**
 * Decoders: "the logits of the token after this window", for the three ways a language model is
 * exported here. The generation loop (generate.ts) owns the window; a decoder only remembers what
 * it has already consumed, so a call with `fresh` false feeds just the tokens added since.
 *
 *   KV cache (gpt, exportGpt kvCache): prefill the window in one run, then one token per run with
 *     each `present_*` fed back as `past_*`.
 *   Full re-run (gpt, exportGpt without cache): the whole window every step; the reference.
 *   Recurrent (lstm-lm, exportLstmLm seq 1): one token per run, `h_out`/`c_out` fed back.
 */
import { fail } from '../../common/errors';
import { type Tensor, tensorFrom, zeros } from '../../engine/runtime/tensor';
import type { RunModel } from '../task';

export interface Decoder {
  /**
   * Logits [vocab] of the next token after `window` (non-empty). `fresh`: the window does not
   * extend the previous call's window (first call, or the window slid), so state starts over.
   */
  next(window: readonly number[], fresh: boolean, signal?: AbortSignal): Promise<Float32Array>;
}

/** The last row of logits [1, S, V], copied. */
function lastRow(logits: Tensor): Float32Array {
  const [, s, v] = logits.dims;
  return Float32Array.from((logits.data as Float32Array).subarray((s - 1) * v, s * v));
}

function ids(tokens: readonly number[]): Tensor {
  return tensorFrom('int64', [1, tokens.length], tokens);
}

export interface KvShape {
  layers: number;
  heads: number;
  headDim: number;
}

export function kvCacheDecoder(run: RunModel, shape: KvShape): Decoder {
  let past: Record<string, Tensor> | null = null;
  let consumed = 0;
  const empty = (): Record<string, Tensor> => {
    const feeds: Record<string, Tensor> = {};
    for (let i = 0; i < shape.layers; i++) {
      feeds[`past_key_${i}`] = zeros('float32', [1, shape.heads, 0, shape.headDim]);
      feeds[`past_value_${i}`] = zeros('float32', [1, shape.heads, 0, shape.headDim]);
    }
    return feeds;
  };
  return {
    async next(window, fresh, signal) {
      if (fresh || past === null) {
        past = empty();
        consumed = 0;
      }
      const added = window.slice(consumed);
      if (added.length === 0) fail('internal', 'decoder called without new tokens');
      const out = await run({ input_ids: ids(added), ...past }, { signal });
      const next: Record<string, Tensor> = {};
      for (let i = 0; i < shape.layers; i++) {
        next[`past_key_${i}`] = out[`present_key_${i}`];
        next[`past_value_${i}`] = out[`present_value_${i}`];
      }
      past = next;
      consumed = window.length;
      return lastRow(out.logits);
    },
  };
}

export function fullRerunDecoder(run: RunModel): Decoder {
  return {
    async next(window, _fresh, signal) {
      const out = await run({ input_ids: ids(window) }, { outputs: ['logits'], signal });
      return lastRow(out.logits);
    },
  };
}

export interface RecurrentShape {
  layers: number;
  hidden: number;
  /** LSTMs carry a cell state `c` beside `h`; GRUs only `h`. */
  cell: 'lstm' | 'gru';
}

export function recurrentDecoder(run: RunModel, shape: RecurrentShape): Decoder {
  let state: Record<string, Tensor> | null = null;
  let consumed = 0;
  const zeroState = (): Record<string, Tensor> => {
    const s: Record<string, Tensor> = { h_in: zeros('float32', [shape.layers, 1, shape.hidden]) };
    if (shape.cell === 'lstm') s.c_in = zeros('float32', [shape.layers, 1, shape.hidden]);
    return s;
  };
  return {
    async next(window, fresh, signal) {
      if (fresh || state === null) {
        state = zeroState();
        consumed = 0;
      }
      if (consumed >= window.length) fail('internal', 'decoder called without new tokens');
      let logits: Tensor | null = null;
      // The export takes one token per run (seq 1): a prompt is fed step by step.
      for (; consumed < window.length; consumed++) {
        if (signal?.aborted) fail('client_closed', 'generation cancelled');
        const out = await run({ input_ids: ids([window[consumed]]), ...state }, { signal });
        state = { h_in: out.h_out };
        if (shape.cell === 'lstm') state.c_in = out.c_out;
        logits = out.logits;
      }
      return lastRow(logits!);
    },
  };
}
