/**
 * `maas models export`: a maas gpt version, stored in maas's own layout (`exportGpt`, as the zoo
 * and training store it), comes out as a Hugging Face folder that transformers.js loads offline
 * and that generates maas's greedy tokens. Real server, real socket, the real CLI.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, env } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIO, main } from '../../../src/cli/main';
import { BpeTokenizer, trainBpe } from '../../../src/data/text/bpe';
import { buildCharVocab, CharTokenizer } from '../../../src/data/text/char';
import { EngineSession } from '../../../src/engine/runtime/session';
import { type Tensor, tensorFrom, zeros } from '../../../src/engine/runtime/tensor';
import { randomGpt } from '../../../src/models/language/hf/gpt2';
import { TOKENIZER_TEXT } from '../../../src/models/language/hf/random';
import { exportGpt } from '../../../src/nn/gpt';
import { ADMIN_KEY, auth, type TestServer, testServer, upload } from '../../helpers/server';
import { tempDir } from '../../helpers/tmp';

const bpe = trainBpe(TOKENIZER_TEXT, { vocabSize: 330 });
const shape = { context: 64, layers: 2, dim: 32, heads: 4 };
const model = randomGpt({ vocab: 330, ...shape, seed: 3, initStd: 0.25 });
const stored = exportGpt(model, { kvCache: true });
/** What `trainGpt` stores beside the graph. */
const metadata = {
  family: 'gpt',
  task: 'text-generation',
  tokenizer: bpe,
  ...shape,
  headDim: shape.dim / shape.heads,
  kvCache: true,
  startText: '\n',
};
const prompt = 'The quick brown fox jumps over the lazy dog. Hello, world!';

/** Greedy tokens of maas's own graph (`past_key_<i>` layout), one token per run after the prompt. */
async function maasGreedy(ids: number[], steps: number): Promise<number[]> {
  const session = await EngineSession.create(stored);
  const empty = zeros('float32', [1, shape.heads, 0, shape.dim / shape.heads]);
  let past: Record<string, Tensor> = {};
  for (let i = 0; i < shape.layers; i++)
    past = { ...past, [`past_key_${i}`]: empty, [`past_value_${i}`]: empty };
  const out: number[] = [];
  let feed = ids;
  for (let s = 0; s < steps; s++) {
    const r = await session.run({ input_ids: tensorFrom('int64', [1, feed.length], feed), ...past });
    const vocab = r.logits.dims[2];
    const last = (r.logits.data as Float32Array).slice((feed.length - 1) * vocab);
    const next = last.reduce((best, x, i) => (x > last[best] ? i : best), 0);
    out.push(next);
    feed = [next];
    for (let i = 0; i < shape.layers; i++) {
      past[`past_key_${i}`] = r[`present_key_${i}`];
      past[`past_value_${i}`] = r[`present_value_${i}`];
    }
  }
  await session.release();
  return out;
}

function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = {
    out: (s) => {
      out += `${s}\n`;
    },
    err: (s) => {
      err += `${s}\n`;
    },
    env: {},
    stdin: async () => '',
  };
  return main(args, io).then((code) => ({ code, out, err }));
}

describe('maas models export NAME DIR', () => {
  let server: TestServer;
  let url: string;
  let out: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    server = await testServer();
    const q = `?task=text-generation&metadata=${encodeURIComponent(JSON.stringify(metadata))}`;
    const res = await upload(server.app, 'tiny-gpt', stored, q);
    expect(res.statusCode).toBe(201);
    url = await server.app.listen({ port: 0, host: '127.0.0.1' });
    out = await tempDir('maas-export-');
  });
  afterAll(async () => {
    await server.close();
    await out.remove();
  });

  it('writes a folder transformers.js loads offline and that generates maas greedy tokens', async () => {
    const dir = join(out.dir, 'tiny-gpt');
    const r = await cli(['models', 'export', 'tiny-gpt', dir, '--url', url, '--key', ADMIN_KEY]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('onnx/model.onnx');
    expect((await readdir(dir)).sort()).toEqual([
      'config.json',
      'generation_config.json',
      'onnx',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'gpt2',
      n_embd: 32,
      n_head: 4,
      n_layer: 2,
      n_positions: 64,
      vocab_size: 330,
    });

    env.allowRemoteModels = false;
    env.localModelPath = out.dir;
    const tokenizer = await AutoTokenizer.from_pretrained('tiny-gpt');
    const hf = await AutoModelForCausalLM.from_pretrained('tiny-gpt', { dtype: 'fp32' });
    try {
      const ids = new BpeTokenizer(bpe).encode(prompt);
      expect(Array.from(tokenizer.encode(prompt))).toEqual(ids);
      const inputs = tokenizer(prompt);
      const generated = (await hf.generate({ ...inputs, max_new_tokens: 12, do_sample: false })) as {
        data: BigInt64Array;
      };
      const theirs = Array.from(generated.data, Number).slice(ids.length);
      const ours = await maasGreedy(ids, 12);
      expect(theirs.length).toBeGreaterThan(2);
      // transformers.js stops at <|endoftext|> (id 2); maas's gpt generates on through it.
      const stop = ours.indexOf(2);
      expect(theirs).toEqual(stop < 0 ? ours : ours.slice(0, stop + 1));

      // The served model (same stored version) answers the same text at temperature 0.
      const res = await server.app.inject({
        method: 'POST',
        url: '/api/v1/models/tiny-gpt/generate',
        headers: auth,
        payload: { prompt, max_tokens: theirs.length, temperature: 0 },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json().choices[0].text).toBe(tokenizer.decode(theirs, { skip_special_tokens: true }));
    } finally {
      await hf.dispose();
    }
  });

  it('chats through /v1/chat/completions with the greedy tokens of transformers.js on the export', async () => {
    // The stored gpt is served by the one decoder runtime; a chat renders with the platform's
    // plain template ("role: content" lines, then "assistant:"), since a gpt has no Jinja one.
    const dir = join(out.dir, 'tiny-gpt-chat');
    const r = await cli(['models', 'export', 'tiny-gpt', dir, '--url', url, '--key', ADMIN_KEY]);
    expect(r.code, r.err).toBe(0);
    env.allowRemoteModels = false;
    env.localModelPath = out.dir;
    const tokenizer = await AutoTokenizer.from_pretrained('tiny-gpt-chat');
    const hf = await AutoModelForCausalLM.from_pretrained('tiny-gpt-chat', { dtype: 'fp32' });
    try {
      for (const messages of [
        [
          { role: 'system', content: 'You are a helpful assistant.' },
          { role: 'user', content: 'Hello, world! How are you today?' },
        ],
        [{ role: 'user', content: 'Grüße aus München, où est la gare ?' }],
      ]) {
        const rendered = `${messages.map((m) => `${m.role}: ${m.content}`).join('\n')}\nassistant:`;
        const inputs = tokenizer(rendered);
        const promptTokens = inputs.input_ids.dims[1];
        const maxNew = 64 - promptTokens - 1;
        const generated = (await hf.generate({ ...inputs, max_new_tokens: maxNew, do_sample: false })) as {
          data: BigInt64Array;
        };
        const theirs = Array.from(generated.data, Number).slice(promptTokens);
        const theirText = tokenizer.decode(theirs, { skip_special_tokens: true });
        const res = await server.app.inject({
          method: 'POST',
          url: '/v1/chat/completions',
          headers: auth,
          payload: { model: 'tiny-gpt', messages, temperature: 0, max_tokens: maxNew },
        });
        expect(res.statusCode, res.body).toBe(200);
        const body = res.json() as {
          choices: { message: { content: string }; finish_reason: string }[];
          usage: { prompt_tokens: number; completion_tokens: number };
        };
        expect(body.usage.prompt_tokens).toBe(promptTokens);
        // The chat also stops where the model starts a user turn ("\nuser:", the template's stop).
        const cut = theirText.indexOf('\nuser:');
        expect(body.choices[0].message.content).toBe(cut < 0 ? theirText : theirText.slice(0, cut));
        if (cut < 0) {
          expect(body.usage.completion_tokens).toBe(theirs.length);
          expect(body.choices[0].finish_reason).toBe(theirs.at(-1) === 2 ? 'stop' : 'length');
        }
      }
    } finally {
      await hf.dispose();
    }
  });

  it('exports a gpt with a character vocabulary: same ids, same greedy text as maas serves', async () => {
    const spec = buildCharVocab([TOKENIZER_TEXT]);
    const charModel = randomGpt({ vocab: spec.chars.length, ...shape, seed: 5, initStd: 0.25 });
    const meta = { ...metadata, tokenizer: spec };
    const q = `?task=text-generation&metadata=${encodeURIComponent(JSON.stringify(meta))}`;
    expect(
      (await upload(server.app, 'char-gpt', exportGpt(charModel, { kvCache: true }), q)).statusCode,
    ).toBe(201);
    const r = await cli([
      'models',
      'export',
      'char-gpt',
      join(out.dir, 'char-gpt'),
      '--url',
      url,
      '--key',
      ADMIN_KEY,
    ]);
    expect(r.code, r.err).toBe(0);
    env.allowRemoteModels = false;
    env.localModelPath = out.dir;
    const tokenizer = await AutoTokenizer.from_pretrained('char-gpt');
    const hf = await AutoModelForCausalLM.from_pretrained('char-gpt', { dtype: 'fp32' });
    try {
      const text = 'Grüße aus München! The whale.';
      const ids = new CharTokenizer(spec).encode(text);
      expect(Array.from(tokenizer.encode(text))).toEqual(ids);
      const generated = (await hf.generate({ ...tokenizer(text), max_new_tokens: 16, do_sample: false })) as {
        data: BigInt64Array;
      };
      const theirs = Array.from(generated.data, Number).slice(ids.length);
      expect(theirs).toHaveLength(16);
      const res = await server.app.inject({
        method: 'POST',
        url: '/api/v1/models/char-gpt/generate',
        headers: auth,
        payload: { prompt: text, max_tokens: 16, temperature: 0 },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().choices[0].text).toBe(tokenizer.decode(theirs, { skip_special_tokens: true }));
    } finally {
      await hf.dispose();
    }
  });

  it('refuses a version that is not a decoder, with a 400 that says why', async () => {
    const res = await server.app.inject({
      method: 'GET',
      url: '/api/v1/models/tiny-gpt/versions/latest/export',
      headers: auth,
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/gzip');
    const plain = await upload(server.app, 'plain', stored, '?task=text-generation');
    expect(plain.statusCode).toBe(201);
    const refused = await server.app.inject({
      method: 'GET',
      url: '/api/v1/models/plain/versions/1/export',
      headers: auth,
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().detail).toMatch(/only decoder versions export/);
    const missing = await cli([
      'models',
      'export',
      'nope',
      join(out.dir, 'nope'),
      '--url',
      url,
      '--key',
      ADMIN_KEY,
    ]);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/nope/);
  });
});
