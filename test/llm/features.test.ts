/**
 * OpenAI features on an uploaded Hugging Face-layout folder (the folder's own byte-level BPE
 * tokenizer and ChatML template): `response_format` json_schema by constrained decoding, and
 * `logprobs` / `top_logprobs`. The tiny model has random weights, so only constrained output can
 * be valid JSON: the schema is what makes it so.
 */
import { join } from 'node:path';
import Ajv from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaFolder } from '../helpers/hf-fixtures';
import { auth, type TestServer, testServer } from '../helpers/server';
import { tempDir } from '../helpers/tmp';
import { folderFiles, packFolder, uploadArchive } from './helpers';

const schema = {
  type: 'object',
  properties: {
    city: { type: 'string', enum: ['Paris', 'Rome', 'Oslo'] },
    days: { type: 'integer' },
    sunny: { type: 'boolean' },
  },
  required: ['city', 'days', 'sunny'],
  additionalProperties: false,
};

describe('OpenAI features on an uploaded folder', () => {
  let s: TestServer;
  let root: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    root = await tempDir('maas-llm-features-');
    const llama = await writeTinyLlamaFolder(join(root.dir, 'tiny-llama'));
    s = await testServer();
    const up = await uploadArchive(s.app, 'llama', await packFolder(await folderFiles(llama.dir)));
    expect(up.statusCode, JSON.stringify(up.body)).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await s?.close();
    await root?.remove();
  });

  const chat = (body: Record<string, unknown>) =>
    s.app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: auth,
      payload: { model: 'llama', messages: [{ role: 'user', content: 'Where to go?' }], ...body },
    });

  it('json_schema: 8 seeded samples all parse and validate against the schema', async () => {
    const validate = new Ajv().compile(schema);
    for (let seed = 0; seed < 8; seed++) {
      const res = await chat({
        seed,
        temperature: 1,
        max_tokens: 120,
        response_format: { type: 'json_schema', json_schema: { name: 'trip', schema, strict: true } },
      });
      expect(res.statusCode, res.body).toBe(200);
      const text = res.json().choices[0].message.content as string;
      const value = JSON.parse(text);
      expect(validate(value), `${text}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('logprobs: one entry per generated token, each with its top alternatives, in OpenAI shape', async () => {
    const res = await chat({ temperature: 0, max_tokens: 6, logprobs: true, top_logprobs: 3 });
    expect(res.statusCode, res.body).toBe(200);
    const choice = res.json().choices[0];
    const content = choice.logprobs.content as { token: string; logprob: number; top_logprobs: unknown[] }[];
    expect(content.length).toBe(
      res.json().usage.completion_tokens - (choice.finish_reason === 'stop' ? 1 : 0),
    );
    for (const entry of content) {
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.top_logprobs).toHaveLength(3);
    }
    // Greedy: the chosen token is the most likely one.
    const first = content[0] as unknown as { logprob: number; top_logprobs: { logprob: number }[] };
    expect(first.logprob).toBeCloseTo(first.top_logprobs[0].logprob, 5);
  });
});
