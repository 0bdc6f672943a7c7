import { badData } from '../problems';
import { type BpeTokenizerSpec, PAD_ID, type Tokenizer } from './tokenizer';

/** `<|endoftext|>`: separates documents for the `gpt` family. */
export const EOS_ID = 2;
/** Byte b is token BYTE_OFFSET + b. */
export const BYTE_OFFSET = 3;
export const BPE_FIRST_MERGE_ID = BYTE_OFFSET + 256;

/**
 * Pre-tokenisation as in GPT-2: merges never cross these chunks, so a word keeps the same tokens
 * wherever it stands. A chunk is an optional space and a run of letters, of digits, or of other
 * symbols; or whitespace.
 */
export const CHUNK_PATTERN = String.raw`\s?\p{L}+|\s?\p{N}+|\s?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;
const CHUNK = new RegExp(CHUNK_PATTERN, 'gu');

function chunks(text: string): string[] {
  return text.match(CHUNK) ?? [];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

function byteIds(chunk: string): number[] {
  return Array.from(encoder.encode(chunk), (b) => b + BYTE_OFFSET);
}

/** Pair key as one number: ids stay below 2^21, so a·2^21 + b is exact in a double. */
const pairKey = (a: number, b: number): number => a * 2_097_152 + b;

export interface BpeTrainOptions {
  /** Final vocabulary size, specials and bytes included (≥ 259). */
  vocabSize: number;
  /** Only the first this many characters of the corpus are used to learn merges. Default 2 M. */
  maxChars?: number;
}

/**
 * Learn byte-pair merges from a corpus. Deterministic: the most frequent pair wins, ties go to
 * the smallest pair of ids, so one corpus always gives one vocabulary. Pair counts are updated
 * incrementally (only words holding the merged pair are touched).
 */
export function trainBpe(corpus: string, options: BpeTrainOptions): BpeTokenizerSpec {
  const target = options.vocabSize;
  if (!Number.isInteger(target) || target < BPE_FIRST_MERGE_ID || target > 1_000_000) {
    badData('vocabSize', `must be an integer from ${BPE_FIRST_MERGE_ID} to 1000000`);
  }
  const counts = new Map<string, number>();
  for (const c of chunks(corpus.slice(0, options.maxChars ?? 2_000_000)))
    counts.set(c, (counts.get(c) ?? 0) + 1);
  const words = [...counts.entries()].map(([c, n]) => ({ ids: byteIds(c), n }));
  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (w: number, sign: 1 | -1) => {
    const { ids, n } = words[w];
    for (let i = 0; i + 1 < ids.length; i++) {
      const k = pairKey(ids[i], ids[i + 1]);
      pairCounts.set(k, (pairCounts.get(k) ?? 0) + sign * n);
      if (sign > 0) {
        const set = pairWords.get(k);
        if (set) set.add(w);
        else pairWords.set(k, new Set([w]));
      }
    }
  };
  for (let w = 0; w < words.length; w++) addPairs(w, 1);
  const merges: [number, number][] = [];
  while (BPE_FIRST_MERGE_ID + merges.length < target) {
    let best = -1;
    let bestCount = 1; // a pair seen once is not worth a token
    for (const [k, c] of pairCounts)
      if (c > bestCount || (c === bestCount && c > 1 && k < best)) [best, bestCount] = [k, c];
    if (best < 0) break;
    const a = Math.floor(best / 2_097_152);
    const b = best % 2_097_152;
    const id = BPE_FIRST_MERGE_ID + merges.length;
    merges.push([a, b]);
    for (const w of pairWords.get(best) ?? []) {
      addPairs(w, -1);
      words[w].ids = mergePair(words[w].ids, a, b, id);
      addPairs(w, 1);
    }
    pairCounts.delete(best);
    pairWords.delete(best);
  }
  return { type: 'bpe', merges };
}

function mergePair(ids: number[], a: number, b: number, id: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
      out.push(id);
      i++;
    } else out.push(ids[i]);
  }
  return out;
}

export class BpeTokenizer implements Tokenizer {
  readonly padId = PAD_ID;
  private readonly ranks = new Map<number, number>();
  /** Bytes of each token id, for decoding. */
  private readonly bytes: Uint8Array[] = [];
  private readonly cache = new Map<string, number[]>();

  constructor(readonly spec: BpeTokenizerSpec) {
    for (let i = 0; i < BYTE_OFFSET; i++) this.bytes.push(new Uint8Array(0));
    for (let b = 0; b < 256; b++) this.bytes.push(Uint8Array.of(b));
    spec.merges.forEach(([a, b], rank) => {
      const id = BPE_FIRST_MERGE_ID + rank;
      if (!(a < id && b < id && a >= BYTE_OFFSET && b >= BYTE_OFFSET))
        badData(`merges[${rank}]`, 'refers to a later or special token');
      this.ranks.set(pairKey(a, b), rank);
      const joined = new Uint8Array(this.bytes[a].length + this.bytes[b].length);
      joined.set(this.bytes[a]);
      joined.set(this.bytes[b], this.bytes[a].length);
      this.bytes.push(joined);
    });
  }

  get vocabSize(): number {
    return BPE_FIRST_MERGE_ID + this.spec.merges.length;
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const c of chunks(text)) {
      let ids = this.cache.get(c);
      if (!ids) {
        ids = this.encodeChunk(c);
        if (this.cache.size < 50_000) this.cache.set(c, ids);
      }
      for (const id of ids) out.push(id);
    }
    return out;
  }

  /** Apply merges lowest rank first, as they were learned. */
  private encodeChunk(chunk: string): number[] {
    let ids = byteIds(chunk);
    for (;;) {
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.ranks.get(pairKey(ids[i], ids[i + 1]));
        if (r !== undefined && r < bestRank) bestRank = r;
      }
      if (bestRank === Number.POSITIVE_INFINITY) return ids;
      const [a, b] = this.spec.merges[bestRank];
      ids = mergePair(ids, a, b, BPE_FIRST_MERGE_ID + bestRank);
    }
  }

  decode(ids: readonly number[]): string {
    const parts = ids.filter((id) => id >= BYTE_OFFSET && id < this.bytes.length).map((id) => this.bytes[id]);
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    return decoder.decode(all);
  }
}
