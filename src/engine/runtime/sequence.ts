/**
 * Runs of one model that form a sequence: named outputs of each run are fed back as named inputs
 * of the next (a decoder's `present_key_0` → `past_key_0`, an LSTM's `h_out` → `h_in`). The state
 * stays wherever this object lives, so a session in a worker thread keeps its KV cache there and
 * only the new token and the logits cross the thread boundary each step (a 4-layer, d=128 cache
 * is 4 KB per position: ≈ 150 KB cloned each way per token at 36 positions, otherwise).
 */
import { releaseStorage } from './release';
import type { Tensor } from './tensor';

/** Output name → the input it feeds on the next run, e.g. `{ present_key_0: 'past_key_0' }`. */
export type Feedback = Readonly<Record<string, string>>;

/**
 * How the steps of several sequences of one decoder graph run as one batch (continuous batching,
 * see DecodeBatch in the platform's serving): which inputs are what.
 */
export interface BatchPlan {
  /** The input of the new tokens, [1, n]. */
  tokens: string;
  /** The [b, past + n] attention mask: built by the batch, with zeros over each row's left padding. */
  attentionMask: string;
  /** Inputs every row passes alike (num_logits_to_keep, use_cache_branch): the first row's is fed. */
  shared: readonly string[];
  /** The axis along which the fed-back state grows (2 for [b, heads, past, head_dim]). */
  axis: number;
}

export type RunFeeds = (
  feeds: Record<string, Tensor>,
  outputs?: readonly string[],
) => Promise<Record<string, Tensor>>;

interface Entry {
  state: Record<string, Tensor>;
}

/** The fed-back state of every open sequence of one session, by sequence id. */
export class SequenceStates {
  private readonly entries = new Map<number, Entry>();

  get size(): number {
    return this.entries.size;
  }

  /**
   * One run of sequence `id`: `feeds` override the state (a first step passes the initial state
   * explicitly), the fed-back outputs become the next state, the rest is returned. `outputs`
   * selects returned outputs (default: all that are not fed back).
   */
  async run(
    id: number,
    feedback: Feedback,
    exec: RunFeeds,
    feeds: Record<string, Tensor>,
    outputs?: readonly string[],
  ): Promise<Record<string, Tensor>> {
    let entry = this.entries.get(id);
    if (!entry) {
      entry = { state: {} };
      this.entries.set(id, entry);
    }
    const fetch = outputs ? [...new Set([...outputs, ...Object.keys(feedback)])] : undefined;
    const out = await exec({ ...entry.state, ...feeds }, fetch);
    const next: Record<string, Tensor> = {};
    const rest: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(out)) {
      const input = feedback[name];
      if (input !== undefined) next[input] = t;
      else rest[name] = t;
    }
    // The previous state is garbage now (the fed-back outputs replace it): free it at once.
    for (const [name, t] of Object.entries(entry.state))
      if (next[name] !== t && !(name in feeds)) releaseStorage(t);
    // Closed while it ran (the client went away): the entry is detached, nothing is revived.
    entry.state = next;
    return rest;
  }

  close(id: number): void {
    this.entries.delete(id);
  }

  /** Take sequence `id`'s state out (a batch of sequences holds it meanwhile: see DecodeBatch). */
  take(id: number): Record<string, Tensor> | undefined {
    const entry = this.entries.get(id);
    this.entries.delete(id);
    return entry?.state;
  }

  /** Give sequence `id` its own state back. */
  put(id: number, state: Record<string, Tensor>): void {
    this.entries.set(id, { state });
  }

  clear(): void {
    this.entries.clear();
  }
}
