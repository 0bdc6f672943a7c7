/**
 * What quantisation cost a model, measured by running the float and the quantised graph side by
 * side on the same inputs:
 *
 *   decoders (an `input_ids` input of free length, a tokenizer): the float model decodes a few
 *     prompts greedily; both then score the same token sequences in one run each. Reported: the
 *     largest |logit difference| over those positions, and greedy-token agreement (how often the
 *     quantised model's top token is the float model's). With `heldOut` text (the zoo corpus's
 *     held-out split for maas's own language models): bits per character of both on it.
 *   anything else: a few deterministic probe inputs; the largest |difference| of the first output
 *     and how often its argmax (last axis) agrees.
 */
import type { ValueSignature } from '../../engine/index';
import { type Tensor, tensorFrom, zeros } from '../../engine/runtime/tensor';
import type { TokenInspector } from '../task';

export interface ProbedModel {
  readonly inputs: readonly ValueSignature[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
}

export interface BitsPerChar {
  float: number;
  quantized: number;
  /** (quantized − float) / float, e.g. 0.004 = 0.4 % worse. */
  relativeCost: number;
  characters: number;
}

export interface QualityReport {
  method: string;
  /** Largest |quantised − float| of the logits (first output) over the compared positions. */
  maxLogitError: number;
  /** max − min of the float logits there: the scale `maxLogitError` compares with. */
  logitRange: number;
  /** Share of positions (0…1) where the top token / argmax is the same. */
  agreement: number;
  positions: number;
  bitsPerChar?: BitsPerChar;
}

export interface QualityOptions {
  tokenizer?: TokenInspector;
  /** Longest sequence the model takes. */
  context: number;
  /** Text to score in bits per character (decoders only). */
  heldOut?: string;
  /** Windows of `context` tokens scored from `heldOut` (default 8). */
  heldOutWindows?: number;
}

const PROMPTS = ['Call me Ishmael.', 'The sea was calm and', 'Hello, world!', 'It was the best of times'];
const GREEDY_TOKENS = 12;
/** Scored windows of the held-out text (each `context` tokens), by default. */
const HELD_OUT_WINDOWS = 8;

/** A dim of a probe input: batch-like 1, a past length 0, other free dims `free`. */
function probeDim(d: number | string, free: number): number {
  if (typeof d === 'number' && d >= 0) return d;
  const name = String(d).toLowerCase();
  if (name.includes('batch')) return 1;
  if (name.includes('past') && !name.includes('+')) return 0;
  return free;
}

function isDecoder(m: ProbedModel): boolean {
  const ids = m.inputs.find((i) => i.name === 'input_ids');
  return ids !== undefined && ids.shape.length === 2 && typeof ids.shape[1] === 'string';
}

/** Feeds for one prefill of `ids` with an empty cache (the HF layout and maas's gpt alike). */
function prefillFeeds(m: ProbedModel, ids: readonly number[]): Record<string, Tensor> {
  const s = ids.length;
  const feeds: Record<string, Tensor> = {};
  for (const input of m.inputs) {
    if (input.name === 'input_ids') feeds[input.name] = tensorFrom('int64', [1, s], ids);
    else if (input.name === 'attention_mask')
      feeds[input.name] = tensorFrom(
        'int64',
        [1, s],
        ids.map(() => 1),
      );
    else if (input.name === 'position_ids')
      feeds[input.name] = tensorFrom(
        'int64',
        [1, s],
        ids.map((_, i) => i),
      );
    else if (input.dtype)
      feeds[input.name] = zeros(
        input.dtype,
        input.shape.map((d) => probeDim(d, 0)),
      );
  }
  return feeds;
}

/** Logits [S, V] of `ids`. */
async function logitsOf(
  m: ProbedModel,
  ids: readonly number[],
): Promise<{ data: Float32Array; vocab: number }> {
  const out = await m.run(prefillFeeds(m, ids));
  const t = out[m.outputNames[0]];
  return { data: t.data as Float32Array, vocab: t.dims[t.dims.length - 1] };
}

const argmax = (row: Float32Array) => row.reduce((best, x, i) => (x > row[best] ? i : best), 0);

function logSoftmaxAt(row: Float32Array, target: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const x of row) if (x > max) max = x;
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  return row[target] - max - Math.log(sum);
}

class Comparison {
  maxError = 0;
  lo = Number.POSITIVE_INFINITY;
  hi = Number.NEGATIVE_INFINITY;
  agree = 0;
  positions = 0;

  row(a: Float32Array, b: Float32Array): void {
    for (let i = 0; i < a.length; i++) {
      this.maxError = Math.max(this.maxError, Math.abs(a[i] - b[i]));
      if (a[i] < this.lo) this.lo = a[i];
      if (a[i] > this.hi) this.hi = a[i];
    }
    if (argmax(a) === argmax(b)) this.agree++;
    this.positions++;
  }

  report(method: string): QualityReport {
    return {
      method,
      maxLogitError: this.maxError,
      logitRange: this.hi - this.lo,
      agreement: this.positions ? this.agree / this.positions : 1,
      positions: this.positions,
    };
  }
}

async function compareDecoders(
  float: ProbedModel,
  quant: ProbedModel,
  o: QualityOptions,
): Promise<QualityReport> {
  const tokenizer = o.tokenizer;
  const cmp = new Comparison();
  for (const prompt of PROMPTS) {
    const ids = tokenizer ? tokenizer.encode(prompt).ids.slice(-Math.floor(o.context / 2)) : [0];
    const seq = ids.length > 0 ? [...ids] : [0];
    const start = seq.length;
    for (let t = 0; t < GREEDY_TOKENS && seq.length < o.context; t++) {
      const { data, vocab } = await logitsOf(float, seq);
      seq.push(argmax(data.subarray(data.length - vocab)));
    }
    const a = await logitsOf(float, seq.slice(0, -1));
    const b = await logitsOf(quant, seq.slice(0, -1));
    for (let p = start - 1; p < seq.length - 1; p++)
      cmp.row(
        a.data.subarray(p * a.vocab, (p + 1) * a.vocab),
        b.data.subarray(p * b.vocab, (p + 1) * b.vocab),
      );
  }
  const report = cmp.report(
    `greedy decoding of ${PROMPTS.length} prompts (${GREEDY_TOKENS} tokens each) by the float model; both score the same tokens`,
  );
  if (o.heldOut && tokenizer) report.bitsPerChar = await heldOutBitsPerChar(float, quant, tokenizer, o);
  return report;
}

async function heldOutBitsPerChar(
  float: ProbedModel,
  quant: ProbedModel,
  tokenizer: TokenInspector,
  o: QualityOptions,
): Promise<BitsPerChar> {
  const window = Math.min(o.context, 256);
  const windows = o.heldOutWindows ?? HELD_OUT_WINDOWS;
  const ids = tokenizer.encode((o.heldOut ?? '').slice(0, window * windows * 8)).ids;
  const nats = [0, 0];
  let scored: number[] = [];
  for (let w = 0; w < windows && (w + 1) * window < ids.length; w++) {
    const x = ids.slice(w * window, (w + 1) * window);
    const y = ids.slice(w * window + 1, (w + 1) * window + 1);
    for (const [k, m] of [float, quant].entries()) {
      const { data, vocab } = await logitsOf(m, x);
      for (let p = 0; p < y.length; p++)
        nats[k] -= logSoftmaxAt(data.subarray(p * vocab, (p + 1) * vocab), y[p]);
    }
    scored = scored.concat(y);
  }
  const characters = [...tokenizer.decode(scored)].length;
  const bpc = (n: number) => n / Math.LN2 / Math.max(1, characters);
  const [f, q] = [bpc(nats[0]), bpc(nats[1])];
  return { float: f, quantized: q, relativeCost: f > 0 ? (q - f) / f : 0, characters };
}

/** Deterministic probe values in [0, 1). */
function probeValues(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  });
}

async function compareProbes(
  float: ProbedModel,
  quant: ProbedModel,
  o: QualityOptions,
): Promise<QualityReport> {
  const cmp = new Comparison();
  const probes = 4;
  const vocab = o.tokenizer?.vocabSize ?? 1;
  for (let p = 0; p < probes; p++) {
    const feeds: Record<string, Tensor> = {};
    for (const input of float.inputs) {
      if (!input.dtype) continue;
      const dims = input.shape.map((d) => probeDim(d, 16));
      const n = dims.reduce((a, d) => a * d, 1);
      const v = probeValues(n, 17 + p * 31 + input.name.length);
      if (input.dtype === 'float32' || input.dtype === 'float64')
        feeds[input.name] = tensorFrom(input.dtype, dims, v);
      else if (input.dtype === 'int64' || input.dtype === 'int32')
        feeds[input.name] = tensorFrom(
          input.dtype,
          dims,
          v.map((x) => Math.floor(x * vocab)),
        );
      else feeds[input.name] = zeros(input.dtype, dims);
    }
    const name = float.outputNames[0];
    const a = (await float.run(feeds))[name];
    const b = (await quant.run(feeds))[name];
    const last = a.dims[a.dims.length - 1] ?? 1;
    const fa = Float32Array.from(a.data as Float32Array);
    const fb = Float32Array.from(b.data as Float32Array);
    for (let r = 0; r * last < fa.length; r++)
      cmp.row(fa.subarray(r * last, (r + 1) * last), fb.subarray(r * last, (r + 1) * last));
  }
  return cmp.report(`${probes} deterministic probe inputs; argmax over the last axis of the first output`);
}

/** Compare a quantised model with its float original (see the file's comment). */
export function compareQuality(
  float: ProbedModel,
  quant: ProbedModel,
  o: QualityOptions,
): Promise<QualityReport> {
  return isDecoder(float) ? compareDecoders(float, quant, o) : compareProbes(float, quant, o);
}
