import { describe, expect, it } from 'vitest';
import {
  BpeTokenizer,
  buildCharVocab,
  buildWordVocab,
  CharTokenizer,
  EOS_ID,
  encodeBatch,
  PAD_ID,
  tokenizerFromSpec,
  trainBpe,
  UNK_ID,
  WordTokenizer,
} from '../../src/data';

const corpus = [
  'The cat sat on the mat. The cat ate.',
  "The dog didn't sit; the dog ran!",
  'Ünïcödé wörds and emoji 🐳 too.',
].join('\n');

describe('word tokenizer', () => {
  it('lower-cases, orders the vocabulary by frequency then alphabet, maps unseen words to <unk>', () => {
    const spec = buildWordVocab(corpus.split('\n'), { maxSize: 8 });
    expect(spec.vocab).toEqual(['<pad>', '<unk>', 'the', '.', 'cat', 'dog', '!', ';']);
    const tok = new WordTokenizer(spec);
    expect(tok.encode('THE cat flew.')).toEqual([2, 4, UNK_ID, 3]);
    const t = encodeBatch(tok, ['the cat', 'the dog the dog the dog'], 4);
    expect(t.dims).toEqual([2, 4]);
    expect(Array.from(t.data)).toEqual([2n, 4n, 0n, 0n, 2n, 5n, 2n, 5n]);
    expect(tok.decode([2, 4, PAD_ID])).toBe('the cat');
  });
});

describe('character tokenizer', () => {
  it('round-trips text, code points included', () => {
    const tok = new CharTokenizer(buildCharVocab([corpus]));
    const ids = tok.encode('the 🐳');
    expect(ids).toHaveLength(5);
    expect(tok.decode(ids)).toBe('the 🐳');
    expect(tok.encode('€')).toEqual([UNK_ID]);
  });
});

describe('byte-pair encoding', () => {
  it('is deterministic, compresses, and round-trips any text exactly', () => {
    const text = `${corpus}\n`.repeat(20);
    const a = trainBpe(text, { vocabSize: 300 });
    const b = trainBpe(text, { vocabSize: 300 });
    expect(a).toEqual(b);
    expect(a.merges.length).toBeGreaterThan(20);
    const tok = new BpeTokenizer(a);
    const ids = tok.encode(corpus);
    expect(ids.length).toBeLessThan(new TextEncoder().encode(corpus).length / 2);
    expect(tok.decode(ids)).toBe(corpus);
    const unseen = 'Zebras × quartz ∑ 🦀 never seen\ttabs';
    expect(tok.decode(tok.encode(unseen))).toBe(unseen);
    expect(tok.decode([EOS_ID, ...tok.encode('hi')])).toBe('hi');
  });

  it('learns the first merge from the most frequent pair (ties to the lowest ids)', () => {
    const spec = trainBpe('ab ab ab cd cd', { vocabSize: 260 });
    // Bytes are ids 3..258: 'a' = 97 + 3. " ab" chunks and "ab": pair (a, b) is most frequent.
    expect(spec.merges[0]).toEqual([97 + 3, 98 + 3]);
    const tok = tokenizerFromSpec(JSON.parse(JSON.stringify(spec)));
    expect(tok.vocabSize).toBe(260);
    expect(tok.encode('ab')).toEqual([259]);
  });
});
