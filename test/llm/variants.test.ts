/**
 * The published variants of a folder, served: weights as external data (`onnx/model.onnx_data`),
 * a `chat_template.jinja` that overrides the config's template, and onnxruntime-genai's layout
 * (`model.onnx` + `genai_config.json` name maps). Same seed = same weights, so each must answer
 * exactly as the plain folder does (or, for the template, as transformers.js renders it).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyGpt2Folder, writeTinyLlamaFolder } from '../helpers/hf-fixtures';
import { auth, type TestServer, testServer } from '../helpers/server';
import { tempDir } from '../helpers/tmp';
import { folderFiles, type Message, packFolder, reference, uploadArchive } from './helpers';

const messages: Message[] = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'Hello, world!' },
];

describe('published folder variants, served', () => {
  let s: TestServer;
  let root: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    root = await tempDir('maas-variants-');
    s = await testServer();
  });
  afterAll(async () => {
    await s?.close();
    await root?.remove();
  });

  async function push(name: string, dir: string) {
    const res = await uploadArchive(s.app, name, await packFolder(await folderFiles(dir)));
    expect(res.statusCode, JSON.stringify(res.body)).toBe(201);
    return res.body.metadata as Record<string, unknown>;
  }

  async function chat(model: string) {
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: auth,
      payload: { model, messages, temperature: 0, max_tokens: 10 },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { choices: { message: { content: string } }[]; usage: { prompt_tokens: number } };
  }

  it('external data and the genai layout answer as the plain folder', async () => {
    const plain = await writeTinyGpt2Folder(join(root.dir, 'plain'));
    const external = await writeTinyGpt2Folder(join(root.dir, 'external'), { externalData: true });
    const genai = await writeTinyGpt2Folder(join(root.dir, 'genai'), { genai: true });
    await push('plain', plain.dir);
    const ext = await push('external', external.dir);
    expect((ext.files as { path: string }[]).map((f) => f.path)).toContain('onnx/model.onnx_data');
    const g = await push('genai', genai.dir);
    expect(g).toMatchObject({ layout: 'onnxruntime-genai', graph: 'model.onnx' });
    const want = await chat('plain');
    expect(await chat('external')).toMatchObject({ choices: want.choices, usage: want.usage });
    expect(await chat('genai')).toMatchObject({ choices: want.choices, usage: want.usage });
  }, 120_000);

  it('chat_template.jinja overrides the config template (Python transformers 4.43+ does the same)', async () => {
    const template =
      '{% for m in messages %}[{{ m.role | upper }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[ASSISTANT] {% endif %}';
    const f = await writeTinyLlamaFolder(join(root.dir, 'jinja'), { chatTemplateFile: template });
    await push('jinja', f.dir);
    const ref = await reference(root.dir, 'jinja', { messages, chatTemplate: template }, 10);
    const got = await chat('jinja');
    expect(got.usage.prompt_tokens).toBe(ref.promptTokens);
    expect(got.choices[0].message.content).toBe(ref.text);
    const plain = await writeTinyLlamaFolder(join(root.dir, 'chatml'));
    await push('chatml', plain.dir);
    expect((await chat('chatml')).usage.prompt_tokens).not.toBe(ref.promptTokens);
  }, 120_000);

  it('an int8 sibling (?variant=quantized) answers as transformers.js does with dtype q8', async () => {
    const f = await writeTinyLlamaFolder(join(root.dir, 'int8'), { quantized: true });
    const res = await uploadArchive(
      s.app,
      'int8',
      await packFolder(await folderFiles(f.dir)),
      'application/gzip',
      '?variant=quantized',
    );
    expect(res.statusCode, JSON.stringify(res.body)).toBe(201);
    expect(res.body.metadata).toMatchObject({
      graph: 'onnx/model_quantized.onnx',
      quantization: 'int8 (dynamic)',
    });
    const ref = await reference(root.dir, 'int8', { messages }, 10, 'q8');
    expect(ref.tokens.length).toBeGreaterThan(0);
    const got = await chat('int8');
    expect(got.usage.prompt_tokens).toBe(ref.promptTokens);
    expect(got.choices[0].message.content).toBe(ref.text);
  }, 120_000);
});
