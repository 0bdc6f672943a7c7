/** A short text for memorisation tests, cut into fixed char-level batches. */
import { tensorFrom } from '../../src/engine/runtime/tensor';

export const TEXT =
  'It is a truth universally acknowledged, that a single man in possession of a good fortune, ' +
  'must be in want of a wife. However little known the feelings or views of such a man may be ' +
  'on his first entering a neighbourhood.';

/** Char vocabulary and the text cut into `rows` fixed chunks of `seq` (x) and their next chars (y). */
export function charBatch(text: string, rows: number, seq: number) {
  const vocab = [...new Set(text)].sort();
  const ids = [...text].map((ch) => vocab.indexOf(ch));
  const x: number[] = [];
  const y: number[] = [];
  for (let r = 0; r < rows; r++) {
    x.push(...ids.slice(r * seq, r * seq + seq));
    y.push(...ids.slice(r * seq + 1, r * seq + seq + 1));
  }
  return {
    vocab,
    ids,
    batch: { x: tensorFrom('int64', [rows, seq], x), y: tensorFrom('int64', [rows, seq], y) },
  };
}
