import { type Tensor, zeros } from '../../engine/runtime/tensor';
import { badData } from '../problems';

/** Token ids every maas tokenizer reserves: 0 pads a sequence, 1 stands for anything unknown. */
export const PAD_ID = 0;
export const UNK_ID = 1;

export interface WordTokenizerSpec {
  type: 'word';
  /** Index = id. `vocab[0]` is `<pad>`, `vocab[1]` is `<unk>`. */
  vocab: string[];
}

export interface CharTokenizerSpec {
  type: 'char';
  /** Index = id; 0 and 1 are `<pad>` and `<unk>`, then one entry per character (code point). */
  chars: string[];
}

export interface BpeTokenizerSpec {
  type: 'bpe';
  /**
   * Merges in rank order: `[a, b]` (two token ids) makes the token `BPE_FIRST_MERGE_ID + rank`.
   * Ids 0, 1, 2 are `<pad>`, `<unk>`, `<|endoftext|>`; bytes 0..255 are ids 3..258 (see bpe.ts).
   */
  merges: [number, number][];
}

export type TokenizerSpec = WordTokenizerSpec | CharTokenizerSpec | BpeTokenizerSpec;

export interface Tokenizer {
  readonly spec: TokenizerSpec;
  readonly vocabSize: number;
  readonly padId: number;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

/**
 * Token ids of many texts as an int64 tensor [n, maxLength]: truncated, then padded with `padId`
 * on the right. E.g. maxLength 4, "the cat" → [2, 7, 0, 0].
 */
export function encodeBatch(
  tokenizer: Tokenizer,
  texts: readonly string[],
  maxLength: number,
): Tensor<'int64'> {
  if (!Number.isInteger(maxLength) || maxLength < 1) badData('maxLength', 'must be a positive integer');
  const t = zeros('int64', [texts.length, maxLength]);
  texts.forEach((text, r) => {
    const ids = tokenizer.encode(text);
    for (let j = 0; j < maxLength; j++)
      t.data[r * maxLength + j] = BigInt(j < ids.length ? ids[j] : tokenizer.padId);
  });
  return t;
}
