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

/** A token and its natural-log probability, as OpenAI's `top_logprobs` lists them. */
export interface TokenChoice {
  token: number;
  logprob: number;
}

/** Most alternatives OpenAI lets a request ask for (`top_logprobs`). */
export const MAX_TOP_LOGPROBS = 20;

/**
 * The log probability of `token` and of the `top` most likely tokens under softmax(logits) (the
 * model's own distribution: temperature 1, no filters). One log-sum-exp pass plus a top-k heap.
 */
export function tokenLogprobs(
  logits: Float32Array,
  token: number,
  top: number,
): { logprob: number; top: TokenChoice[] } {
  const lse = logSumExp(logits);
  const best = top > 0 ? topKIndices(logits, Math.min(top, MAX_TOP_LOGPROBS)) : [];
  return {
    logprob: logits[token] - lse,
    top: best.map((t) => ({ token: t, logprob: logits[t] - lse })),
  };
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

/** Vocabularies up to 2^21 tokens: a 32-bit logit key and a 21-bit index fit a float64's 53 bits. */
const PACKED_SORT_MAX_VOCAB = 2 ** 21;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * All indices by descending logit (ties: lower index first), NaN dropped, via one native numeric
 * sort of packed keys; a comparator sort of 50,000 indices is ≈ 10× slower. The key maps the float
 * bits to an order-preserving unsigned integer, inverted for descending order.
 */
function packedSort(logits: ArrayLike<number>, n: number): number[] {
  const keys = new Float64Array(logits.length);
  let m = 0;
  for (let i = 0; i < logits.length; i++) {
    if (Number.isNaN(logits[i])) continue;
    f32[0] = logits[i];
    const bits = u32[0];
    const ordered = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
    keys[m++] = (0xffffffff - ordered) * PACKED_SORT_MAX_VOCAB + i;
  }
  const sorted = keys.subarray(0, m).sort();
  const out = new Array<number>(Math.min(n, m));
  for (let j = 0; j < out.length; j++) out[j] = sorted[j] % PACKED_SORT_MAX_VOCAB;
  return out;
}

/** The k indices with the largest logits, in descending order of logit (ties: lower index first). */
export function topKIndices(logits: ArrayLike<number>, k: number): number[] {
  const n = Math.min(k, logits.length);
  if (n > logits.length / 4 && logits.length <= PACKED_SORT_MAX_VOCAB) return packedSort(logits, n);
  // A size-n min-heap of (logit, index), weakest at the root: O(V log n), and for V ≫ n almost
  // every token is rejected by one comparison with the root.
  const vals = new Float64Array(n);
  const idx = new Int32Array(n);
  const weaker = (va: number, ia: number, vb: number, ib: number): boolean =>
    va < vb || (va === vb && ia > ib);
  let size = 0;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (Number.isNaN(v)) continue;
    let j: number;
    if (size < n) {
      j = size++;
      while (j > 0) {
        const p = (j - 1) >> 1;
        if (!weaker(v, i, vals[p], idx[p])) break;
        vals[j] = vals[p];
        idx[j] = idx[p];
        j = p;
      }
    } else {
      if (!weaker(vals[0], idx[0], v, i)) continue;
      j = 0;
      for (;;) {
        const l = 2 * j + 1;
        if (l >= size) break;
        const c = l + 1 < size && weaker(vals[l + 1], idx[l + 1], vals[l], idx[l]) ? l + 1 : l;
        if (!weaker(vals[c], idx[c], v, i)) break;
        vals[j] = vals[c];
        idx[j] = idx[c];
        j = c;
      }
    }
    vals[j] = v;
    idx[j] = i;
  }
  return Array.from(idx.subarray(0, size)).sort((a, b) => logits[b] - logits[a] || a - b);
}

/** Nucleus search starts with this many top tokens and widens ×8 until it holds mass p. */
const NUCLEUS_FIRST_K = 64;

/** exp((logit − max) / T) for the given tokens; max over the same tokens, so the best weighs 1. */
function weightsOf(logits: Float32Array, tokens: readonly number[], temperature: number): number[] {
  let max = Number.NEGATIVE_INFINITY;
  for (const t of tokens) if (logits[t] > max) max = logits[t];
  if (!Number.isFinite(max)) fail('inference_failed', 'every logit is -inf or NaN: nothing can be sampled');
  return tokens.map((t) => Math.exp((logits[t] - max) / temperature) || 0);
}

/** Σ exp((logit − max) / T) over the whole vocabulary, with the max it was taken against. */
function fullMass(logits: Float32Array, temperature: number): { max: number; total: number } {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  if (!Number.isFinite(max)) fail('inference_failed', 'every logit is -inf or NaN: nothing can be sampled');
  let total = 0;
  for (let i = 0; i < logits.length; i++) total += Math.exp((logits[i] - max) / temperature) || 0;
  return { max, total };
}

/** Length of the shortest prefix of `weights` (sorted by logit, descending) reaching `mass`; -1 if none. */
function nucleusPrefix(weights: readonly number[], mass: number): number {
  let cumulative = 0;
  let keep = 0;
  while (keep < weights.length && cumulative < mass) cumulative += weights[keep++];
  return cumulative >= mass ? Math.max(1, keep) : -1;
}

/**
 * The candidate tokens (most likely first) and their unnormalised weights after temperature, top-k
 * and top-p, as in Hugging Face's order: top-k first, then the nucleus of what is left. Exposed so
 * tests can check the filtered distribution exactly, not only through draws. Top-p alone looks at
 * the best 64 tokens, then 512, ..., so a peaked distribution never sorts the whole vocabulary.
 */
export function candidateDistribution(
  logits: Float32Array,
  options: SamplingOptions,
): { tokens: number[]; weights: number[] } {
  const temperature = options.temperature ?? 1;
  const topK = options.topK ?? 0;
  const topP = options.topP ?? 1;
  if (topK > 0 && topK < logits.length) {
    const tokens = topKIndices(logits, topK);
    const weights = weightsOf(logits, tokens, temperature);
    if (topP >= 1) return { tokens, weights };
    const keep = nucleusPrefix(weights, topP * weights.reduce((a, b) => a + b, 0));
    return { tokens: tokens.slice(0, keep), weights: weights.slice(0, keep) };
  }
  if (topP >= 1) {
    const tokens = Array.from({ length: logits.length }, (_, i) => i);
    return { tokens, weights: weightsOf(logits, tokens, temperature) };
  }
  const { total } = fullMass(logits, temperature);
  for (let k = NUCLEUS_FIRST_K; ; k = k * 8 > logits.length / 4 ? logits.length : k * 8) {
    const tokens = topKIndices(logits, Math.min(k, logits.length));
    // Weights relative to the global max (the first token), so they compare with `total`.
    const weights = weightsOf(logits, tokens, temperature);
    const keep = nucleusPrefix(weights, topP * total);
    if (keep > 0 || k >= logits.length) {
      const n = keep > 0 ? keep : tokens.length;
      return { tokens: tokens.slice(0, n), weights: weights.slice(0, n) };
    }
  }
}

/** One draw from the whole softmax(logits / T) without building candidate arrays: two O(V) passes. */
function drawFull(logits: Float32Array, temperature: number, rng: Rng): number {
  const { max, total } = fullMass(logits, temperature);
  let u = rng.next() * total;
  let last = 0;
  for (let i = 0; i < logits.length; i++) {
    const w = Math.exp((logits[i] - max) / temperature) || 0;
    if (w > 0) last = i;
    u -= w;
    if (u < 0) return i;
  }
  return last; // float rounding left u ≥ 0: the last token with any weight
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
  const temperature = options.temperature ?? 1;
  const topK = options.topK ?? 0;
  let token: number;
  if (temperature === 0) {
    token = argmax(penalised);
  } else if ((topK <= 0 || topK >= logits.length) && (options.topP ?? 1) >= 1) {
    token = drawFull(penalised, temperature, rng);
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
  return lazyLogprob(token, () => logits[token] - logSumExp(logits));
}

/**
 * A token whose log probability is computed when first read, not when sampled: it takes a pass of
 * `Math.exp` over the whole vocabulary (≈ half the API thread's work per greedy token at 32,000
 * entries), and a request without `logprobs` never reads it.
 */
export function lazyLogprob(token: number, compute: () => number): SampledToken {
  let value: number | undefined;
  return {
    token,
    get logprob() {
      value ??= compute();
      return value;
    },
  };
}
