/**
 * The prose every language family here trains on, split the same way for all of them: the first
 * 90% of the text (by characters) trains, the last 10% is held out, so the bits-per-character
 * figures of gpt, lstm-lm and the unigram baseline are measured on the very same characters.
 */
import {
  BpeTokenizer,
  buildCharVocab,
  CharTokenizer,
  getBuiltin,
  type Tokenizer,
  trainBpe,
} from '../../data/index';
import { type Tensor, tensorFrom } from '../../engine/runtime/tensor';
import { Rng } from '../common/prng';

export interface ProseSplit {
  train: string;
  validation: string;
}

/** Held-out share of the corpus, taken from its end (no shuffling: prose has long-range structure). */
export const VALIDATION_SHARE = 0.1;

export function splitProse(text: string, validationShare = VALIDATION_SHARE): ProseSplit {
  const cut = Math.floor(text.length * (1 - validationShare));
  return { train: text.slice(0, cut), validation: text.slice(cut) };
}

/** Moby Dick (the `moby-dick` built-in, 1.2 MB), CRLF folded to LF so a newline is one character. */
export async function loadProse(): Promise<string> {
  const data = (await getBuiltin('moby-dick').load()) as { text: string };
  return data.text.replace(/\r\n?/g, '\n');
}

/**
 * Character tokenizer fitted on the training split only. Characters seen once or never in
 * training map to `<unk>` in validation; they are still counted as characters in bits/char.
 */
export function charTokenizer(train: string): CharTokenizer {
  return new CharTokenizer(buildCharVocab([train]));
}

/**
 * The tokenizer of a language family: a byte-level BPE of `bpeVocab` tokens learned on the
 * training split only (no held-out text leaks into the merges), or characters when absent.
 */
export function proseTokenizer(train: string, bpeVocab?: number): Tokenizer {
  return bpeVocab === undefined
    ? charTokenizer(train)
    : new BpeTokenizer(trainBpe(train, { vocabSize: bpeVocab }));
}

/** Next-token batches { x, y } int64 [batch, seq] from random windows of `ids`. */
export class WindowSampler {
  private readonly rng: Rng;
  constructor(
    private readonly ids: Int32Array,
    private readonly seq: number,
    seed: number,
  ) {
    if (ids.length < seq + 2)
      throw new RangeError(`corpus of ${ids.length} tokens is shorter than seq ${seq}`);
    this.rng = new Rng(seed);
  }

  batch(size: number): Record<'x' | 'y', Tensor> {
    const x = new BigInt64Array(size * this.seq);
    const y = new BigInt64Array(size * this.seq);
    for (let b = 0; b < size; b++) {
      const start = this.rng.int(this.ids.length - this.seq - 1);
      for (let t = 0; t < this.seq; t++) {
        x[b * this.seq + t] = BigInt(this.ids[start + t]);
        y[b * this.seq + t] = BigInt(this.ids[start + t + 1]);
      }
    }
    const dims = [size, this.seq];
    return { x: { dtype: 'int64', dims, data: x }, y: { dtype: 'int64', dims, data: y } };
  }
}

/**
 * Held-out batches: consecutive non-overlapping windows of `seq` next-token pairs, `batch` windows
 * per batch (the last partial batch dropped), at most `maxWindows` windows from the start.
 */
export function validationBatches(
  ids: Int32Array,
  seq: number,
  batch: number,
  maxWindows = Number.POSITIVE_INFINITY,
): Record<'x' | 'y', Tensor>[] {
  const windows = Math.min(maxWindows, Math.floor((ids.length - 1) / seq));
  const out: Record<'x' | 'y', Tensor>[] = [];
  for (let w0 = 0; w0 + batch <= windows; w0 += batch) {
    const x: number[] = [];
    const y: number[] = [];
    for (let w = w0; w < w0 + batch; w++) {
      for (let t = 0; t < seq; t++) {
        x.push(ids[w * seq + t]);
        y.push(ids[w * seq + t + 1]);
      }
    }
    out.push({ x: tensorFrom('int64', [batch, seq], x), y: tensorFrom('int64', [batch, seq], y) });
  }
  return out;
}

/**
 * Cross-entropy in bits per character of a unigram model (character frequencies of `train`,
 * add-one smoothed over the training alphabet plus one unknown slot) on `validation`.
 */
export function unigramBitsPerChar(train: string, validation: string): number {
  const counts = new Map<string, number>();
  for (const ch of train) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let total = 0;
  for (const c of counts.values()) total += c + 1;
  total += 1; // the unknown slot
  let bits = 0;
  let n = 0;
  for (const ch of validation) {
    bits -= Math.log2(((counts.get(ch) ?? 0) + 1) / total);
    n++;
  }
  return bits / n;
}

/** Nats per token → bits per character, for a tokenizer that spends `charsPerToken` characters per token. */
export function bitsPerChar(natsPerToken: number, charsPerToken = 1): number {
  return natsPerToken / Math.LN2 / charsPerToken;
}
