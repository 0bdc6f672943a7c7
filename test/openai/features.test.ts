/**
 * Structured outputs, tools and logprobs through the official `openai` client, over a real socket,
 * against a tiny random-weight maas `gpt` (byte-level BPE, KV cache) uploaded like any model.
 * Random weights write noise; only the constraint makes the answers JSON.
 */
import type { AddressInfo } from 'node:net';
import Ajv from 'ajv';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpeTokenizer, trainBpe } from '../../src/data/index';
import { exportGpt, gptModel } from '../../src/nn/index';
import { ADMIN_KEY, type TestServer, testServer, upload } from '../helpers/server';

const CORPUS = `Call me Ishmael. Some years ago, never mind how long precisely, having little money.
{"city": "Paris", "unit": "celsius", "days": 3} {"name": "get_weather", "arguments": {"city": "Oslo"}}`;

let server: TestServer;
let client: OpenAI;

beforeAll(async () => {
  server = await testServer();
  const tokenizer = new BpeTokenizer(trainBpe(CORPUS.repeat(4), { vocabSize: 400 }));
  const config = { vocab: tokenizer.vocabSize, context: 256, layers: 2, dim: 32, heads: 4, seed: 5 };
  const metadata = {
    family: 'gpt',
    task: 'text-generation',
    tokenizer: tokenizer.spec,
    context: 256,
    layers: 2,
    heads: 4,
    dim: 32,
    headDim: 8,
    kvCache: true,
    startText: '\n',
  };
  const onnx = exportGpt(gptModel(config), { kvCache: true });
  const res = await upload(
    server.app,
    'tiny',
    onnx,
    `?metadata=${encodeURIComponent(JSON.stringify(metadata))}`,
  );
  expect(res.statusCode, JSON.stringify(res.body)).toBe(201);
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = server.app.server.address() as AddressInfo;
  client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: ADMIN_KEY, maxRetries: 0 });
}, 60_000);
afterAll(() => server?.close());

const weather = {
  type: 'object',
  properties: {
    city: { type: 'string' },
    unit: { enum: ['celsius', 'fahrenheit'] },
    days: { type: 'integer' },
    tags: { type: 'array', items: { type: 'string' }, maxItems: 3 },
  },
  required: ['city', 'unit', 'days'],
  additionalProperties: false,
};
const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  {
    type: 'function',
    function: { name: 'get_weather', description: 'Weather in a city', parameters: weather },
  },
  {
    type: 'function',
    function: {
      name: 'get_time',
      parameters: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] },
    },
  },
];

describe('OpenAI features with the official client', () => {
  it('response_format json_schema: the answer parses and validates (3 seeds)', async () => {
    const validate = new Ajv().compile(weather);
    for (let seed = 1; seed <= 3; seed++) {
      const r = await client.chat.completions.create({
        model: 'tiny',
        messages: [{ role: 'user', content: 'Weather in Paris as JSON' }],
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'weather', schema: weather, strict: true },
        },
        max_completion_tokens: 80,
        seed,
      });
      const text = r.choices[0].message.content ?? '';
      expect(validate(JSON.parse(text)), text).toBe(true);
      expect(r.choices[0].finish_reason).toBe('stop');
    }
  });

  it('a forced tool call comes back as tool_calls, whole and streamed', async () => {
    const request = {
      model: 'tiny',
      messages: [{ role: 'user' as const, content: 'What time is it in Oslo?' }],
      tools,
      tool_choice: { type: 'function' as const, function: { name: 'get_time' } },
      max_tokens: 80,
      seed: 3,
    };
    const r = await client.chat.completions.create(request);
    const call = r.choices[0].message.tool_calls?.[0];
    expect(r.choices[0].finish_reason).toBe('tool_calls');
    expect(call?.type).toBe('function');
    expect(call?.id).toMatch(/^call_/);
    const fn = (call as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall).function;
    expect(fn.name).toBe('get_time');
    expect(typeof JSON.parse(fn.arguments).tz).toBe('string');

    const stream = await client.chat.completions.create({ ...request, stream: true });
    let name = '';
    let args = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        for (const t of c.delta.tool_calls ?? []) {
          name += t.function?.name ?? '';
          args += t.function?.arguments ?? '';
        }
        finish = c.finish_reason ?? finish;
      }
    }
    expect({ name, args, finish }).toEqual({ name: 'get_time', args: fn.arguments, finish: 'tool_calls' });
  });

  it('tool_choice required picks one of the tools, its arguments matching that tool', async () => {
    const r = await client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'Weather?' }],
      tools,
      tool_choice: 'required',
      max_tokens: 120,
      seed: 8,
    });
    const fn = (
      r.choices[0].message.tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall
    ).function;
    const schema = tools.find((t) => t.type === 'function' && t.function.name === fn.name) as {
      function: { parameters: object };
    };
    expect(new Ajv().validate(schema.function.parameters, JSON.parse(fn.arguments)), fn.arguments).toBe(true);
  });

  it('a conversation with a tool call and its result is accepted', async () => {
    const r = await client.chat.completions.create({
      model: 'tiny',
      messages: [
        { role: 'user', content: 'Time in Oslo?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_time', arguments: '{"tz":"CET"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '12:00' },
      ],
      tools,
      max_tokens: 8,
    });
    expect(r.choices[0].message.role).toBe('assistant');
  });

  it('logprobs with top_logprobs on chat: one entry per token, whole and streamed alike', async () => {
    const request = {
      model: 'tiny',
      messages: [{ role: 'user' as const, content: 'Hello' }],
      max_tokens: 12,
      seed: 4,
      logprobs: true,
      top_logprobs: 3,
    };
    const r = await client.chat.completions.create(request);
    const content = r.choices[0].logprobs?.content ?? [];
    expect(content).toHaveLength(r.usage?.completion_tokens ?? -1);
    for (const e of content) {
      expect(e.logprob).toBeLessThanOrEqual(0);
      expect(e.top_logprobs).toHaveLength(3);
      expect(e.top_logprobs[0].logprob).toBeGreaterThanOrEqual(e.top_logprobs[2].logprob);
      expect(e.top_logprobs[0].logprob).toBeGreaterThanOrEqual(e.logprob);
      expect(Array.isArray(e.bytes)).toBe(true);
    }
    const stream = await client.chat.completions.create({ ...request, stream: true });
    const streamed: unknown[] = [];
    for await (const chunk of stream)
      for (const c of chunk.choices) streamed.push(...(c.logprobs?.content ?? []));
    expect(streamed).toEqual(content);
  });

  it('logprobs on completions: tokens, token_logprobs, top_logprobs and text_offset', async () => {
    const r = await client.completions.create({
      model: 'tiny',
      prompt: 'Call me',
      max_tokens: 6,
      seed: 2,
      logprobs: 2,
    });
    const lp = r.choices[0].logprobs!;
    expect(lp.tokens).toHaveLength(6);
    expect(lp.token_logprobs).toHaveLength(6);
    expect(lp.top_logprobs?.every((t) => Object.keys(t).length >= 1)).toBe(true);
    expect(lp.text_offset?.[0]).toBe('Call me'.length);
    const stream = await client.completions.create({
      model: 'tiny',
      prompt: 'Call me',
      max_tokens: 6,
      seed: 2,
      logprobs: 2,
      stream: true,
    });
    const tokens: string[] = [];
    const offsets: number[] = [];
    for await (const chunk of stream) {
      tokens.push(...(chunk.choices[0]?.logprobs?.tokens ?? []));
      offsets.push(...(chunk.choices[0]?.logprobs?.text_offset ?? []));
    }
    expect({ tokens, offsets }).toEqual({ tokens: lp.tokens, offsets: lp.text_offset });
    // Random weights pick bytes that are not whole characters too: those read `bytes:\x..`.
    lp.tokens?.forEach((t, i) => {
      if (!t.startsWith('bytes:'))
        expect(r.choices[0].text.slice(lp.text_offset![i] - 'Call me'.length)).toContain(t);
    });
  });

  it('native generate takes format (a JSON Schema, as Ollama does) and answers validating JSON', async () => {
    const res = await server.app.inject({
      method: 'POST',
      url: '/api/v1/models/tiny/generate',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: { prompt: 'Weather:', format: weather, max_tokens: 100, seed: 6 },
    });
    expect(res.statusCode, res.body).toBe(200);
    const text = res.json().choices[0].text;
    expect(new Ajv().validate(weather, JSON.parse(text)), text).toBe(true);
  });

  it('a schema outside the subset is a 400 naming the keyword; the server stays up', async () => {
    const bad = client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'x' }],
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'x',
          schema: { type: 'object', properties: { n: { type: 'integer', minimum: 1 } } },
        },
      },
    });
    await expect(bad).rejects.toMatchObject({ status: 400, message: expect.stringContaining('"minimum"') });
    const badChoice = client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'x' }],
      tools,
      tool_choice: { type: 'function', function: { name: 'nope' } },
    });
    await expect(badChoice).rejects.toMatchObject({ status: 400, message: expect.stringContaining('nope') });
    const ok = await client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_object' },
      max_tokens: 40,
    });
    expect(typeof JSON.parse(ok.choices[0].message.content ?? '')).toBe('object');
  });
});
