/**
 * One decoder path: maas's own gpt (stored in maas's layout, served by the folder runtime through
 * a folder view derived on load), exported as a Hugging Face folder (GET …/export) and uploaded
 * back, answers the same greedy text with the same finish reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainBpe } from '../../src/data/text/bpe';
import { randomGpt } from '../../src/models/language/hf/gpt2';
import { TOKENIZER_TEXT } from '../../src/models/language/hf/random';
import { exportGpt } from '../../src/nn/gpt';
import { auth, type TestServer, testServer, upload } from '../helpers/server';
import { uploadArchive } from './helpers';

const bpe = trainBpe(TOKENIZER_TEXT, { vocabSize: 330 });
const shape = { context: 64, layers: 2, dim: 32, heads: 4 };
const metadata = {
  family: 'gpt',
  task: 'text-generation',
  tokenizer: bpe,
  ...shape,
  headDim: shape.dim / shape.heads,
  kvCache: true,
  startText: '\n',
};

describe("maas's gpt, exported and uploaded back as a folder", () => {
  let s: TestServer;

  beforeAll(async () => {
    s = await testServer();
    const model = randomGpt({ vocab: 330, ...shape, seed: 3, initStd: 0.25 });
    const q = `?task=text-generation&metadata=${encodeURIComponent(JSON.stringify(metadata))}`;
    expect((await upload(s.app, 'gpt', exportGpt(model, { kvCache: true }), q)).statusCode).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  });

  it('serves the same greedy text through the folder runtime', async () => {
    const exported = await s.app.inject({ url: '/api/v1/models/gpt/versions/1/export', headers: auth });
    expect(exported.statusCode, exported.body.slice(0, 300)).toBe(200);
    const up = await uploadArchive(s.app, 'gpt-hf', exported.rawPayload);
    expect(up.statusCode, JSON.stringify(up.body)).toBe(201);
    expect(up.body.metadata).toMatchObject({
      family: 'hf-decoder',
      architecture: 'GPT2LMHeadModel',
      context: 64,
    });
    for (const prompt of ['The quick brown fox', 'Hello, world! Le modèle répond.']) {
      const ask = async (model: string) => {
        const res = await s.app.inject({
          method: 'POST',
          url: '/v1/completions',
          headers: auth,
          payload: { model, prompt, temperature: 0, max_tokens: 10 },
        });
        expect(res.statusCode, res.body).toBe(200);
        return res.json() as {
          choices: { text: string; finish_reason: string }[];
          usage: { prompt_tokens: number };
        };
      };
      const own = await ask('gpt');
      const folder = await ask('gpt-hf');
      expect(folder.usage.prompt_tokens).toBe(own.usage.prompt_tokens);
      // One runtime: the same text and the same end (<|endoftext|> stops both).
      expect(folder.choices[0].text).toBe(own.choices[0].text);
      expect(folder.choices[0].finish_reason).toBe(own.choices[0].finish_reason);
      expect(folder.choices[0].text.length).toBeGreaterThan(0);
    }
  }, 90_000);
});
