/**
 * Choosing the next token from a decoder's logits: repetition penalties, temperature (0 = greedy
 * argmax), top-k, top-p (nucleus), then one draw from a seeded `Rng`. Pure functions over a
 * Float32Array of logits (one per vocabulary entry); the caller's array is never modified.
 */
import { fail } from '../../common/errors';
import type { Rng } from './prng';

export interface SamplingOptions {
  /** Softmax temperature; 0 picks the argmax (deterministic). OpenAI's range: 0..2. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens; 0 or absent = off. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability sums to ≥ p; 1 or absent = off. */
  topP?: number;
  /** OpenAI's presence penalty (-2..2): subtracted once from every token already generated. */
  presencePenalty?: number;
  /** OpenAI's frequency penalty (-2..2): subtracted per previous occurrence of the token. */
  frequencyPenalty?: number;
  /** CTRL-style multiplicative penalty (> 1 discourages repeats): positive logits ÷ r, negative × r. */
  repetitionPenalty?: number;
}

export interface SampledToken {
  token: number;
  /** Natural-log probability of the token under the model's own distribution (temperature 1, no filters). */
  logprob: number;
}

function checkRange(name: string, value: number | undefined, lo: number, hi: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < lo || value > hi) {
    fail('invalid_request', `${name} must be a number in [${lo}, ${hi}], got ${String(value)}`);
  }
}

/** Reject out-of-range options as `invalid_request` (call once per request, at parse time). */
export function validateSampling(options: SamplingOptions): void {
  checkRange('temperature', options.temperature, 0, 2);
  checkRange('top_p', options.topP, 0, 1);
  if (options.topP !== undefined && options.topP <= 0) fail('invalid_request', 'top_p must be > 0');
  if (options.topK !== undefined && (!Number.isInteger(options.topK) || options.topK < 0)) {
    fail('invalid_request', `top_k must be a non-negative integer, got ${String(options.topK)}`);
  }
  checkRange('presence_penalty', options.presencePenalty, -2, 2);
  checkRange('frequency_penalty', options.frequencyPenalty, -2, 2);
  checkRange('repetition_penalty', options.repetitionPenalty, 0.01, 10);
}

/** Index of the largest logit (the lowest index on ties); NaN counts as -inf. */
export function argmax(logits: ArrayLike<number>): number {
  let best = -1;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  if (best < 0) fail('inference_failed', 'every logit is -inf or NaN: nothing can be sampled');
  return best;
}

/** log Σ exp(x) with the max subtracted, so 1e4-sized logits do not overflow. */
function logSumExp(logits: ArrayLike<number>): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return max + Math.log(sum);
}

/** Apply the penalties to a copy of the logits; `counts` maps token → times generated so far. */
export function applyPenalties(
  logits: Float32Array,
  counts: ReadonlyMap<number, number>,
  options: SamplingOptions,
): Float32Array {
  const presence = options.presencePenalty ?? 0;
  const frequency = options.frequencyPenalty ?? 0;
  const repetition = options.repetitionPenalty ?? 1;
  if ((presence === 0 && frequency === 0 && repetition === 1) || counts.size === 0) return logits;
  const out = Float32Array.from(logits);
  for (const [token, count] of counts) {
    if (token < 0 || token >= out.length || count <= 0) continue;
    let v = out[token];
    if (repetition !== 1) v = v > 0 ? v / repetition : v * repetition;
    out[token] = v - presence - frequency * count;
  }
  return out;
}

/** The k indices with the largest logits, in descending order of logit (ties: lower index first). */
export function topKIndices(logits: ArrayLike<number>, k: number): number[] {
  const n = Math.min(k, logits.length);
  // A size-k min-heap keyed on logit: O(V log k), not a full sort of the vocabulary.
  const heap: number[] = [];
  const less = (a: number, b: number): boolean => logits[a] < logits[b] || (logits[a] === logits[b] && a > b);
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l], heap[m])) m = l;
      if (r < heap.length && less(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let i = 0; i < logits.length; i++) {
    if (Number.isNaN(logits[i])) continue;
    if (heap.length < n) {
      heap.push(i);
      for (let j = heap.length - 1; j > 0; ) {
        const p = (j - 1) >> 1;
        if (!less(heap[j], heap[p])) break;
        [heap[j], heap[p]] = [heap[p], heap[j]];
        j = p;
      }
    } else if (less(heap[0], i)) {
      heap[0] = i;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => logits[b] - logits[a] || a - b);
}

/**
 * The candidate tokens and their unnormalised weights after temperature, top-k and top-p. Exposed
 * so tests can check the filtered distribution exactly, not only through draws.
 */
export function candidateDistribution(
  logits: Float32Array,
  options: SamplingOptions,
): { tokens: number[]; weights: number[] } {
  const temperature = options.temperature ?? 1;
  const topK = options.topK ?? 0;
  const topP = options.topP ?? 1;
  let tokens: number[];
  if (topK > 0 && topK < logits.length) tokens = topKIndices(logits, topK);
  else if (topP < 1) tokens = topKIndices(logits, logits.length);
  else tokens = Array.from({ length: logits.length }, (_, i) => i);
  let max = Number.NEGATIVE_INFINITY;
  for (const t of tokens) if (logits[t] > max) max = logits[t];
  if (!Number.isFinite(max)) fail('inference_failed', 'every logit is -inf or NaN: nothing can be sampled');
  let weights = tokens.map((t) => Math.exp((logits[t] - max) / temperature) || 0);
  if (topP < 1) {
    // tokens are sorted by logit here, so the nucleus is a prefix.
    const total = weights.reduce((s, w) => s + w, 0);
    let cumulative = 0;
    let keep = 0;
    while (keep < weights.length && cumulative < topP * total) cumulative += weights[keep++];
    tokens = tokens.slice(0, Math.max(1, keep));
    weights = weights.slice(0, tokens.length);
  }
  return { tokens, weights };
}

/**
 * Choose the next token. `counts` (token → occurrences so far) feeds the repetition penalties.
 * Temperature 0 never touches the Rng, so greedy decoding is identical with or without a seed.
 */
export function sampleToken(
  logits: Float32Array,
  options: SamplingOptions,
  rng: Rng,
  counts: ReadonlyMap<number, number> = new Map(),
): SampledToken {
  if (logits.length === 0) fail('inference_failed', 'empty logits');
  const penalised = applyPenalties(logits, counts, options);
  let token: number;
  if ((options.temperature ?? 1) === 0) {
    token = argmax(penalised);
  } else {
    const { tokens, weights } = candidateDistribution(penalised, options);
    const total = weights.reduce((s, w) => s + w, 0);
    let u = rng.next() * total;
    token = tokens[tokens.length - 1];
    for (let i = 0; i < tokens.length; i++) {
      u -= weights[i];
      if (u < 0) {
        token = tokens[i];
        break;
      }
    }
  }
  return { token, logprob: logits[token] - logSumExp(logits) };
}
