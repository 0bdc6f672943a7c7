import { type CharTokenizerSpec, PAD_ID, type Tokenizer, UNK_ID } from './tokenizer';

/** Every distinct character (code point) of the training text, sorted by code point. */
export function buildCharVocab(texts: Iterable<string>, maxSize = 4096): CharTokenizerSpec {
  const counts = new Map<string, number>();
  for (const text of texts) for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const kept = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].codePointAt(0)! - b[0].codePointAt(0)!)
    .slice(0, Math.max(0, maxSize - 2))
    .map(([c]) => c)
    .sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  return { type: 'char', chars: ['<pad>', '<unk>', ...kept] };
}

export class CharTokenizer implements Tokenizer {
  readonly padId = PAD_ID;
  private readonly ids: Map<string, number>;

  constructor(readonly spec: CharTokenizerSpec) {
    this.ids = new Map(spec.chars.map((c, i) => [c, i]));
  }

  get vocabSize(): number {
    return this.spec.chars.length;
  }

  encode(text: string): number[] {
    return Array.from(text, (ch) => this.ids.get(ch) ?? UNK_ID);
  }

  decode(ids: readonly number[]): string {
    return ids
      .filter((id) => id !== PAD_ID)
      .map((id) => (id === UNK_ID ? '\uFFFD' : (this.spec.chars[id] ?? '\uFFFD')))
      .join('');
  }
}
