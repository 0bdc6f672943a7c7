/**
 * Decoders: "the logits of the token after this window", for the three ways a language model is
 * exported here. The generation loop (generate.ts) owns the window; a decoder only remembers what
 * it has already consumed, so a call with `fresh` false feeds just the tokens added since.
 *
 *   KV cache (`sequenceDecoder`; every decoder graph, maas's gpt included, steps through
 *     src/models/hf/decoder.ts): prefill the window in one run, then one token per run with each
 *     `present` output fed back as its `past` input (a ModelSequence: the cache stays by the model).
 *   Full re-run (a gpt exported without cache): the whole window every step; the reference.
 *   Recurrent (lstm-lm, exportLstmLm seq 1): one token per run, `h_out`/`c_out` fed back (a
 *     ModelSequence too).
 */
import { fail } from '../../common/errors';
import { type Feedback, SequenceStates } from '../../engine/index';
import { type Tensor, tensorFrom, zeros } from '../../engine/runtime/tensor';
import type { ModelSequence, RunModel, SequenceOptions } from '../task';

export interface Decoder {
  /**
   * Logits [vocab] of the next token after `window` (non-empty). `fresh`: the window does not
   * extend the previous call's window (first call, or the window slid), so state starts over.
   */
  next(window: readonly number[], fresh: boolean, signal?: AbortSignal): Promise<Float32Array>;
  /** Free what the decoder holds (a sequence's state by the model); it may be used again after. */
  close?(): void;
}

/**
 * The last row of logits [1, S, V]. A decode step's logits are that row alone and come fresh from
 * the run (another thread's transferred buffer): they are handed on as they are, not copied (a
 * 128 KB copy per token at a 32,000 vocabulary). A prefill's row is copied, so the S × V buffer
 * need not stay alive with it.
 */
function lastRow(logits: Tensor): Float32Array {
  const [, s, v] = logits.dims;
  const row = (logits.data as Float32Array).subarray((s - 1) * v, s * v);
  return s === 1 ? row : Float32Array.from(row);
}

function ids(tokens: readonly number[]): Tensor {
  return tensorFrom('int64', [1, tokens.length], tokens);
}

/** The run's own sequences (the platform keeps the state by the model) or, without, local ones. */
function openSequence(run: RunModel, feedback: Feedback, options?: SequenceOptions): ModelSequence {
  if (run.sequence) return run.sequence(feedback, options);
  const states = new SequenceStates();
  return {
    run: (inputs, o) =>
      states.run(
        0,
        feedback,
        (feeds, outputs) => run(feeds, { outputs, signal: o?.signal }),
        inputs,
        o?.outputs,
      ),
    close: () => states.close(0),
  };
}

/**
 * A decoder whose state is a sequence of `run`s (see ModelSequence): a fresh window opens a new
 * sequence with the initial state passed explicitly; later steps pass only the new tokens.
 */
export function sequenceDecoder(
  run: RunModel,
  feedback: Feedback,
  initial: () => Record<string, Tensor>,
  step: (
    seq: ModelSequence,
    added: readonly number[],
    first: Record<string, Tensor> | null,
    signal: AbortSignal | undefined,
    /** Tokens the sequence consumed before `added` (the past length of a KV cache). */
    past: number,
  ) => Promise<Tensor>,
  options?: SequenceOptions,
): Decoder {
  let seq: ModelSequence | null = null;
  let consumed = 0;
  const close = () => {
    seq?.close();
    seq = null;
  };
  return {
    async next(window, fresh, signal) {
      let first: Record<string, Tensor> | null = null;
      if (fresh || seq === null) {
        close();
        seq = openSequence(run, feedback, options);
        consumed = 0;
        first = initial();
      }
      const added = window.slice(consumed);
      if (added.length === 0) fail('internal', 'decoder called without new tokens');
      try {
        const logits = await step(seq, added, first, signal, consumed);
        consumed = window.length;
        return lastRow(logits);
      } catch (e) {
        // A failed step leaves the state unknown: the next call starts over.
        close();
        throw e;
      }
    },
    close,
  };
}

/**
 * The whole window every step. A sequence with nothing fed back still helps: the platform resolves
 * the model's runner once per generation and never holds a step for batch company.
 */
export function fullRerunDecoder(run: RunModel): Decoder {
  let seq: ModelSequence | null = null;
  return {
    async next(window, _fresh, signal) {
      seq ??= openSequence(run, {});
      const out = await seq.run({ input_ids: ids(window) }, { outputs: ['logits'], signal });
      return lastRow(out.logits);
    },
    close() {
      seq?.close();
      seq = null;
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
  const feedback: Record<string, string> = { h_out: 'h_in' };
  if (shape.cell === 'lstm') feedback.c_out = 'c_in';
  const zeroState = (): Record<string, Tensor> => {
    const s: Record<string, Tensor> = {};
    for (const name of Object.values(feedback)) s[name] = zeros('float32', [shape.layers, 1, shape.hidden]);
    return s;
  };
  return sequenceDecoder(run, feedback, zeroState, async (seq, added, first, signal) => {
    let logits: Tensor | null = null;
    // The export takes one token per run (seq 1): a prompt is fed step by step.
    for (const [i, token] of added.entries()) {
      if (signal?.aborted) fail('client_closed', 'generation cancelled');
      const out = await seq.run(
        { input_ids: ids([token]), ...(i === 0 ? first : null) },
        { outputs: ['logits'], signal },
      );
      logits = out.logits;
    }
    return logits!;
  });
}
