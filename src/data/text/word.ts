import { PAD_ID, type Tokenizer, UNK_ID, type WordTokenizerSpec } from './tokenizer';

/** Words: runs of letters/digits (Unicode), apostrophes inside words kept; punctuation marks alone. */
const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu;

export function splitWords(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

export interface WordVocabOptions {
  /** Most tokens in the vocabulary, pad and unk included. Default 20,000. */
  maxSize?: number;
  /** Words seen fewer times are unknown. Default 1. */
  minCount?: number;
}

/**
 * A lower-case word vocabulary from training texts: the most frequent words, ties broken
 * alphabetically so the same texts always give the same ids.
 */
export function buildWordVocab(texts: Iterable<string>, options: WordVocabOptions = {}): WordTokenizerSpec {
  const maxSize = options.maxSize ?? 20_000;
  const minCount = options.minCount ?? 1;
  const counts = new Map<string, number>();
  for (const text of texts) for (const w of splitWords(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const words = [...counts.entries()]
    .filter(([, c]) => c >= minCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, Math.max(0, maxSize - 2))
    .map(([w]) => w);
  return { type: 'word', vocab: ['<pad>', '<unk>', ...words] };
}

export class WordTokenizer implements Tokenizer {
  readonly padId = PAD_ID;
  private readonly ids: Map<string, number>;

  constructor(readonly spec: WordTokenizerSpec) {
    this.ids = new Map(spec.vocab.map((w, i) => [w, i]));
  }

  get vocabSize(): number {
    return this.spec.vocab.length;
  }

  encode(text: string): number[] {
    return splitWords(text).map((w) => this.ids.get(w) ?? UNK_ID);
  }

  decode(ids: readonly number[]): string {
    return ids
      .filter((id) => id !== PAD_ID)
      .map((id) => this.spec.vocab[id] ?? '<unk>')
      .join(' ');
  }
}
