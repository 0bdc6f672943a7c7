import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { loadTextAssets } from '../../src/models/hf/index';
import { writeRandomLlamaFolder } from '../../src/models/language/hf/random';

it('a random folder with a model vocabulary larger than its tokenizer pads the tokenizer: every id decodes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'maas-pad-vocab-'));
  try {
    await writeRandomLlamaFolder(dir, {
      hidden: 32,
      layers: 1,
      heads: 2,
      kvHeads: 1,
      intermediate: 64,
      modelVocab: 1000,
      context: 32,
    });
    const { tokenizer } = await loadTextAssets(async (name) => {
      try {
        return new Uint8Array(await readFile(join(dir, name)));
      } catch {
        return null;
      }
    });
    expect(tokenizer.vocabSize).toBe(1000);
    expect(tokenizer.decode([999, 700])).toBe('~999~700');
    // Every id has a token: none decodes to nothing.
    const silent = Array.from({ length: 1000 }, (_, id) => id).filter(
      (id) => tokenizer.decode([id], { skipSpecial: false }) === '',
    );
    expect(silent).toEqual([]);
    // The padding is decode-only: text still encodes to the learned tokens.
    const ids = tokenizer.encode('The quick brown fox', { addSpecialTokens: false });
    expect(ids.length).toBeGreaterThan(0);
    expect(Math.max(...ids)).toBeLessThan(400);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
