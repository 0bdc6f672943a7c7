/**
 * A stored gpt version seen as a Hugging Face folder on load (src/models/language/hf/gpt-version.ts):
 * the derived tokenizer.json, read by @huggingface/tokenizers as every folder's is, must give
 * exactly maas's ids for both tokenizer kinds, so the stored graph gets the tokens it was trained on.
 */
import { describe, expect, it } from 'vitest';
import { BpeTokenizer, trainBpe } from '../../../src/data/text/bpe';
import { buildCharVocab, CharTokenizer } from '../../../src/data/text/char';
import { loadTextAssets } from '../../../src/models/hf/index';
import { gptVersionFolder } from '../../../src/models/language/hf/gpt-version';
import { TOKENIZER_TEXT } from '../../../src/models/language/hf/random';

const samples = [
  'The quick brown fox jumps over the lazy dog.',
  'Le modèle répond en français : où est la gare ?\nGrüße aus München!',
  'emoji 🙂 🚀 and CJK 你好，世界。',
  // Characters the vocabulary lacks become <unk> (id 1) in both.
  'unknown: ☃ ∑ ɐ',
  '',
];

function shape(tokenizer: object) {
  return { family: 'gpt', tokenizer, context: 64, layers: 2, heads: 4, headDim: 8, kvCache: true };
}

async function assetsOf(meta: Record<string, unknown>) {
  const folder = gptVersionFolder(meta);
  return { folder, assets: await loadTextAssets(async (p) => folder.files.get(p) ?? null) };
}

describe('a stored gpt as a Hugging Face folder', () => {
  it('a character vocabulary: tokenizer.json gives maas ids, code point by code point', async () => {
    const spec = buildCharVocab([TOKENIZER_TEXT.replace(/[🙂🚀你]/gu, '')]);
    const own = new CharTokenizer(spec);
    const { folder, assets } = await assetsOf(shape(spec));
    for (const text of [...samples, '🙂']) {
      expect(assets.tokenizer.encode(text), text).toEqual(own.encode(text));
    }
    const known = samples[1];
    expect(assets.tokenizer.decode(own.encode(known))).toBe(known);
    expect(assets.eosIds).toEqual([]);
    expect(folder.vocabSize).toBe(spec.chars.length);
    expect(folder.plan.layers[1]).toEqual({
      pastKey: 'past_key_1',
      pastValue: 'past_value_1',
      presentKey: 'present_key_1',
      presentValue: 'present_value_1',
    });
  });

  it('a byte-level BPE: maas ids, <|endoftext|> the eos; no cache → a plan without layers', async () => {
    const spec = trainBpe(TOKENIZER_TEXT, { vocabSize: 330 });
    const own = new BpeTokenizer(spec);
    const { assets } = await assetsOf(shape(spec));
    for (const text of samples) expect(assets.tokenizer.encode(text), text).toEqual(own.encode(text));
    expect(assets.eosIds).toEqual([2]);
    expect(gptVersionFolder({ ...shape(spec), kvCache: false }).plan.layers).toEqual([]);
  });
});
