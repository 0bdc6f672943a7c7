/**
 * Embedding models in the Hugging Face layout: a tiny random-weight BERT-style encoder folder
 * (WordPiece tokenizer.json, sentence-transformers modules.json / 1_Pooling) packed, uploaded and
 * served on /v1/embeddings and the native embed. Vectors must equal @huggingface/transformers'
 * feature-extraction pipeline on the same folder (offline) within 1e-4, usage must count the real
 * tokenizer's tokens, and a text longer than the context is a 400 with the numbers.
 */
import { env, pipeline } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RandomBertOptions, writeRandomBertFolder } from '../../src/models/language/hf/bert';
import { auth, type TestServer, testServer } from '../helpers/server';
import { tempDir } from '../helpers/tmp';
import { folderFiles, packFolder, uploadArchive } from './helpers';

const texts = [
  'Hello, world!',
  'The quick brown fox jumps over the lazy dog. Le modèle répond en français.',
  'Grüße aus München 🙂 你好，世界。',
];

/** transformers.js feature-extraction on `root/name`, and the token count of each text. */
async function reference(root: string, name: string, pooling: 'mean' | 'cls', normalize: boolean) {
  env.allowRemoteModels = false;
  env.localModelPath = root;
  const extractor = await pipeline('feature-extraction', name, { dtype: 'fp32' });
  try {
    const out = await extractor(texts, { pooling, normalize });
    const [rows, size] = out.dims as number[];
    const data = out.data as Float32Array;
    const vectors = Array.from({ length: rows }, (_, r) => Array.from(data.slice(r * size, (r + 1) * size)));
    const tokens = texts.map((t) => (extractor.tokenizer.encode(t) as number[]).length);
    return { vectors, tokens };
  } finally {
    await extractor.dispose();
  }
}

function expectClose(actual: number[][], expected: number[][]) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => {
    expect(v.length).toBe(expected[i].length);
    const worst = Math.max(...v.map((x, k) => Math.abs(x - expected[i][k])));
    expect(worst, `vector ${i}`).toBeLessThan(1e-4);
  });
}

const folders: Record<string, RandomBertOptions> = {
  // sentence-transformers: mean pooling, then Normalize.
  'bert-st': { pooling: 'mean', normalize: true, seed: 1 },
  // A plain transformers folder: no modules.json, so mean pooling without normalisation.
  'bert-plain': { seed: 2 },
  'bert-cls': { pooling: 'cls', seed: 3 },
};

describe('BERT-style encoder folders on /v1/embeddings', () => {
  let s: TestServer;
  let out: Awaited<ReturnType<typeof tempDir>>;
  const uploaded: Record<string, Record<string, unknown>> = {};

  beforeAll(async () => {
    s = await testServer();
    out = await tempDir();
    for (const [name, options] of Object.entries(folders)) {
      await writeRandomBertFolder(`${out.dir}/${name}`, options);
      const archive = await packFolder(await folderFiles(`${out.dir}/${name}`));
      const up = await uploadArchive(s.app, name, archive);
      expect(up.statusCode, JSON.stringify(up.body)).toBe(201);
      uploaded[name] = up.body;
    }
  }, 120_000);
  afterAll(async () => {
    await s?.close();
    await out?.remove();
  });

  it('records the kind, the pooling and the sizes on the version', async () => {
    const model = await s.app.inject({ url: '/api/v1/models/bert-st', headers: auth });
    expect(model.json()).toMatchObject({ task: 'embeddings' });
    expect(uploaded['bert-st'].metadata).toMatchObject({
      family: 'hf-encoder',
      task: 'embeddings',
      kind: 'text-embedding',
      architecture: 'BertModel',
      context: 64,
      encoder: { hidden: 32, pooling: ['mean'], normalize: true, tokenTypeIds: 'token_type_ids' },
    });
    expect((uploaded['bert-plain'].metadata as { encoder: unknown }).encoder).toMatchObject({
      pooling: ['mean'],
      normalize: false,
    });
    expect((uploaded['bert-cls'].metadata as { encoder: unknown }).encoder).toMatchObject({
      pooling: ['cls'],
    });
  });

  for (const [name, pooling, normalize] of [
    ['bert-st', 'mean', true],
    ['bert-plain', 'mean', false],
    ['bert-cls', 'cls', false],
  ] as const) {
    it(`${name}: the vectors of transformers.js (${pooling} pooling${normalize ? ', normalised' : ''})`, async () => {
      const ref = await reference(out.dir, name, pooling, normalize);
      const res = await s.app.inject({
        method: 'POST',
        url: '/v1/embeddings',
        headers: auth,
        payload: { model: name, input: texts },
      });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as { data: { embedding: number[] }[]; usage: { prompt_tokens: number } };
      expectClose(
        body.data.map((d) => d.embedding),
        ref.vectors,
      );
      expect(body.usage.prompt_tokens).toBe(ref.tokens.reduce((a, b) => a + b, 0));
      if (normalize) for (const d of body.data) expect(Math.hypot(...d.embedding)).toBeCloseTo(1, 5);
      // One text alone gets the vector it gets in a padded batch.
      const native = await s.app.inject({
        method: 'POST',
        url: `/api/v1/models/${name}/embed`,
        headers: auth,
        payload: { input: texts[0] },
      });
      expect(native.statusCode, native.body).toBe(200);
      const one = native.json() as { dimensions: number; embeddings: number[][]; usage: unknown };
      expect(one.dimensions).toBe(32);
      expectClose(one.embeddings, [ref.vectors[0]]);
    }, 60_000);
  }

  it('refuses a pooling it cannot do, naming the file', async () => {
    const files = await folderFiles(`${out.dir}/bert-st`, (path, bytes) =>
      path === '1_Pooling/config.json'
        ? JSON.stringify({
            ...JSON.parse(Buffer.from(bytes).toString()),
            pooling_mode_weightedmean_tokens: true,
          })
        : bytes,
    );
    const up = await uploadArchive(s.app, 'bert-weighted', await packFolder(files));
    expect(up.statusCode).toBe(422);
    expect(JSON.stringify(up.body)).toContain(
      '1_Pooling/config.json: pooling_mode_weightedmean_tokens is not supported',
    );
  });

  it('refuses a text longer than the context with the numbers, and stays ready', async () => {
    const long = 'the quick brown fox '.repeat(40);
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/embeddings',
      headers: auth,
      payload: { model: 'bert-st', input: ['Hello', long] },
    });
    expect(res.statusCode, res.body).toBe(400);
    const error = (res.json() as { error: { message: string; code: string } }).error;
    expect(error.code).toBe('context_length_exceeded');
    expect(error.message).toContain('maximum context length is 64 tokens');
    expect(error.message).toMatch(/input\[1\] has \d+ tokens/);
    const ok = await s.app.inject({
      method: 'POST',
      url: '/v1/embeddings',
      headers: auth,
      payload: { model: 'bert-st', input: 'Hello' },
    });
    expect(ok.statusCode).toBe(200);
  });
});
