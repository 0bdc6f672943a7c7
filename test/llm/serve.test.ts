/**
 * Serving a Hugging Face-layout decoder folder end to end: packed as a .tar.gz, uploaded, then
 * chatted with over /v1/chat/completions (whole and streamed), /v1/completions and the native
 * generate. Greedy text, usage.prompt_tokens and finish reasons must equal what
 * @huggingface/transformers generates from the same folder.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TinyFolder, writeTinyGpt2Folder, writeTinyLlamaFolder } from '../helpers/hf-fixtures';
import { auth, type TestServer, testServer } from '../helpers/server';
import { tempDir } from '../helpers/tmp';
import {
  folderFiles,
  type Message,
  packFolder,
  reference,
  referenceDecode,
  sseEvents,
  uploadArchive,
} from './helpers';

const chats: [string, Message[]][] = [
  [
    'a system message',
    [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'Hello, world! How are you today?' },
    ],
  ],
  [
    'several turns',
    [
      { role: 'user', content: 'What is the weather like in the city?' },
      { role: 'assistant', content: 'It is sunny and warm.' },
      { role: 'user', content: 'And the sea?' },
    ],
  ],
  ['non-ASCII text', [{ role: 'user', content: 'Grüße aus München 🙂 你好，世界。Καλημέρα' }]],
];

const MAX = 12;

describe('a Hugging Face-layout folder served by maas', () => {
  let s: TestServer;
  let root: Awaited<ReturnType<typeof tempDir>>;
  let llama: TinyFolder;
  let gpt2: TinyFolder;

  beforeAll(async () => {
    root = await tempDir('maas-llm-');
    llama = await writeTinyLlamaFolder(join(root.dir, 'tiny-llama'));
    gpt2 = await writeTinyGpt2Folder(join(root.dir, 'tiny-gpt2'));
    s = await testServer();
    const a = await uploadArchive(s.app, 'llama', await packFolder(await folderFiles(llama.dir)));
    expect(a.statusCode, JSON.stringify(a.body)).toBe(201);
    // A plain .tar (no gzip) sent as application/octet-stream: recognised by its bytes.
    const tar = await packFolder(await folderFiles(gpt2.dir));
    const b = await uploadArchive(s.app, 'gpt2', tar, 'application/octet-stream');
    expect(b.statusCode, JSON.stringify(b.body)).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await s?.close();
    await root?.remove();
  });

  it('records what the folder is: kind, architecture, context, vocabulary, parameters, files', async () => {
    const res = await s.app.inject({ url: '/api/v1/models/llama', headers: auth });
    expect(res.statusCode).toBe(200);
    const v = res.json().versions[0];
    expect(v.metadata).toMatchObject({
      kind: 'decoder-lm',
      family: 'hf-decoder',
      layout: 'optimum',
      architecture: 'LlamaForCausalLM',
      context: llama.config.max_position_embeddings,
      vocabSize: llama.config.vocab_size,
      dtype: 'float32',
      variant: 'default',
      quantization: 'none',
      eosTokenIds: llama.eos,
      graph: 'onnx/model.onnx',
    });
    expect(v.metadata.parameters).toBeGreaterThan(10_000);
    expect(v.metadata.decoder).toMatchObject({ kvHeads: 2, positionIds: 'position_ids' });
    const paths = (v.metadata.files as { path: string; digest: string }[]).map((f) => f.path).sort();
    expect(paths).toEqual([...llama.files].sort());
    expect(v.digest).toBe(
      (v.metadata.files as { path: string; digest: string }[]).find((f) => f.path === 'onnx/model.onnx')
        ?.digest,
    );
  });

  for (const [what, messages] of chats) {
    it(`chat with ${what}: greedy text, prompt tokens and finish reason equal transformers.js, whole and streamed`, async () => {
      const ref = await reference(root.dir, 'tiny-llama', { messages }, MAX);
      const body = { model: 'llama', messages, temperature: 0, max_tokens: MAX };
      const whole = await s.app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        headers: auth,
        payload: body,
      });
      expect(whole.statusCode, whole.body).toBe(200);
      const answer = whole.json();
      expect(answer.choices[0].message.content).toBe(ref.text);
      expect(answer.choices[0].finish_reason).toBe(ref.finishReason);
      expect(answer.usage.prompt_tokens).toBe(ref.promptTokens);
      expect(answer.usage.completion_tokens).toBe(ref.tokens.length);

      const streamed = await s.app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        headers: auth,
        payload: { ...body, stream: true, stream_options: { include_usage: true } },
      });
      expect(streamed.statusCode).toBe(200);
      const events = sseEvents(streamed.body) as {
        choices: { delta: { content?: string }; finish_reason: string | null }[];
        usage: { prompt_tokens: number } | null;
      }[];
      const text = events.flatMap((e) => e.choices.map((c) => c.delta.content ?? '')).join('');
      expect(text).toBe(ref.text);
      expect(events.flatMap((e) => e.choices.map((c) => c.finish_reason)).filter(Boolean)).toEqual([
        ref.finishReason,
      ]);
      expect(events.at(-1)?.usage?.prompt_tokens).toBe(ref.promptTokens);
    }, 60_000);
  }

  it('a GPT-2-style folder (no position_ids) generates what transformers.js does, on /v1/completions and native generate', async () => {
    const prompt = 'The quick brown fox';
    const ref = await reference(root.dir, 'tiny-gpt2', { prompt }, MAX);
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/completions',
      headers: auth,
      payload: { model: 'gpt2', prompt, temperature: 0, max_tokens: MAX },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().choices[0].text).toBe(ref.text);
    expect(res.json().usage.prompt_tokens).toBe(ref.promptTokens);
    const native = await s.app.inject({
      method: 'POST',
      url: '/api/v1/models/gpt2/generate',
      headers: auth,
      payload: { prompt, temperature: 0, max_tokens: MAX },
    });
    expect(native.statusCode, native.body).toBe(200);
    expect(native.json().choices[0]).toMatchObject({ text: ref.text, finish_reason: ref.finishReason });
  }, 60_000);

  it('takes a token-id prompt on /v1/completions (OpenAI prompt: [ids]), the same as its text', async () => {
    const text = 'The quick brown fox';
    const tok = await s.app.inject({
      url: `/api/v1/models/gpt2/tokenize?text=${encodeURIComponent(text)}`,
      headers: auth,
    });
    const ids = tok.json().ids as number[];
    const ask = (prompt: unknown) =>
      s.app.inject({
        method: 'POST',
        url: '/v1/completions',
        headers: auth,
        payload: { model: 'gpt2', prompt, temperature: 0, max_tokens: 6 },
      });
    const byText = (await ask(text)).json();
    const byIds = await ask(ids);
    expect(byIds.statusCode, byIds.body).toBe(200);
    expect(byIds.json().choices[0].text).toBe(byText.choices[0].text);
    expect(byIds.json().usage.prompt_tokens).toBe(ids.length);
    const bad = await ask([1, 2, 99_999]);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/prompt\[2\] must be a token id/);
  });

  it('stops on a second eos id that only generation_config.json lists, as transformers.js does', async () => {
    const messages: Message[] = [{ role: 'user', content: 'Hello, world!' }];
    const free = await reference(root.dir, 'tiny-llama', { messages }, MAX);
    expect(free.tokens.length).toBeGreaterThanOrEqual(4);
    // Make the third greedy token an end token, listed only in generation_config.json.
    const stopAt = free.tokens[2];
    expect(llama.eos).not.toContain(stopAt);
    const dir = join(root.dir, 'tiny-llama-eos');
    const files = await folderFiles(llama.dir, (path, bytes) =>
      path === 'generation_config.json'
        ? JSON.stringify({ ...llama.generationConfig, eos_token_id: [llama.ids.imEnd, stopAt] })
        : bytes,
    );
    for (const [path, bytes] of files) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), bytes);
    }
    const ref = await reference(root.dir, 'tiny-llama-eos', { messages }, MAX);
    expect(ref.tokens).toEqual(free.tokens.slice(0, 3));
    expect(ref.finishReason).toBe('stop');
    const up = await uploadArchive(s.app, 'llama-eos', await packFolder(files));
    expect(up.statusCode, JSON.stringify(up.body)).toBe(201);
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: auth,
      payload: { model: 'llama-eos', messages, temperature: 0, max_tokens: MAX },
    });
    expect(res.statusCode, res.body).toBe(200);
    // The end token itself adds no text (here it is an ordinary token, so transformers' decode
    // would show it; a real eos is special and skipped).
    const text = await referenceDecode(root.dir, 'tiny-llama-eos', ref.tokens.slice(0, 2));
    expect(res.json().choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: text } });
    expect(res.json().usage.completion_tokens).toBe(3);
  }, 90_000);

  // Uses 'llama-eos' from the test above: its third greedy token is an end token.
  it("vLLM's min_tokens and ignore_eos: the end token comes no earlier, or does not end the answer", async () => {
    const messages: Message[] = [{ role: 'user', content: 'Hello, world!' }];
    const chat = (extra: Record<string, unknown>, url = '/v1/chat/completions') =>
      s.app.inject({
        method: 'POST',
        url,
        headers: auth,
        payload: { model: 'llama-eos', messages, temperature: 0, max_tokens: MAX, ...extra },
      });
    const min = await chat({ min_tokens: 6 });
    expect(min.statusCode, min.body).toBe(200);
    expect(min.json().usage.completion_tokens).toBeGreaterThanOrEqual(6);
    const ignored = await chat({ ignore_eos: true });
    expect(ignored.statusCode, ignored.body).toBe(200);
    expect(ignored.json().usage.completion_tokens).toBe(MAX);
    expect(ignored.json().choices[0].finish_reason).toBe('length');
    const native = await s.app.inject({
      method: 'POST',
      url: '/api/v1/models/llama-eos/generate',
      headers: auth,
      payload: { prompt: 'Hello, world!', temperature: 0, max_tokens: MAX, ignore_eos: true },
    });
    expect(native.statusCode, native.body).toBe(200);
    expect(native.json().choices[0].finish_reason).toBe('length');
    const tooMany = await chat({ min_tokens: MAX + 1 });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().error.message).toContain(
      `min_tokens must be an integer from 0 to max_tokens (${MAX})`,
    );
    const notBool = await chat({ ignore_eos: 'yes' });
    expect(notBool.statusCode).toBe(400);
    expect(notBool.json().error.message).toBe('ignore_eos must be a boolean');
  }, 60_000);

  it('counts tokens with the model tokenizer: tokenize, detokenize, and a prompt past the context → 400 with the numbers', async () => {
    const tok = await s.app.inject({
      url: `/api/v1/models/llama/tokenize?text=${encodeURIComponent('Hello, world! 你好')}`,
      headers: auth,
    });
    expect(tok.statusCode, tok.body).toBe(200);
    const { ids, count, tokens } = tok.json();
    expect(count).toBe(ids.length);
    expect(tokens).toHaveLength(ids.length);
    const back = await s.app.inject({
      url: `/api/v1/models/llama/detokenize?ids=${ids.join(',')}`,
      headers: auth,
    });
    expect(back.json().text).toBe('Hello, world! 你好');
    const long = 'Hello, world! '.repeat(400);
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/completions',
      headers: auth,
      payload: { model: 'llama', prompt: long, max_tokens: 4 },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('context_length_exceeded');
    expect(res.json().error.message).toMatch(
      new RegExp(
        `maximum context length is ${llama.config.max_position_embeddings} tokens. However, your messages resulted in \\d+ tokens`,
      ),
    );
  });
});
