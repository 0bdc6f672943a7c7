/**
 * The official `openai` client against a real maas on a real socket, with real small models of
 * the test families (test/tasks/fixtures) and the built-in speech model.
 */
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server';
import { audioDuration, parseWav } from '../../src/models/common/audio';
import { decodePng } from '../../src/models/common/image';
import { findExecutable } from '../../src/models/tts/process';
import { TextToSpeech } from '../../src/models/tts/speech';
import { TaskService } from '../../src/platform/tasks/service';
import { ADMIN_KEY, auth, type TestServer, testServer } from '../helpers/server';
import { bigramStats } from '../tasks/fixtures/families';
import { taskServer } from '../tasks/fixtures/server';

let server: TestServer;
let client: OpenAI;
let base: string;
const hasSpeech =
  (await findExecutable('espeak-ng', process.env.PATH)) !== null ||
  (await findExecutable('flite', process.env.PATH)) !== null;

beforeAll(async () => {
  server = await taskServer();
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = server.app.server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: ADMIN_KEY, maxRetries: 0 });
});
afterAll(() => server?.close());

describe('OpenAI-compatible API with the official client', () => {
  it('lists the tenant models and the built-in speech models', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(expect.arrayContaining(['bigram', 'bag', 'vowels', 'cppn', 'tts', 'tts-1']));
    const one = await client.models.retrieve('bigram');
    expect(one).toMatchObject({ id: 'bigram', object: 'model' });
  });

  it('chat completion: seeded answers repeat, usage is counted, n gives n choices', async () => {
    const ask = () =>
      client.chat.completions.create({
        model: 'bigram',
        messages: [{ role: 'user', content: 'the cat' }],
        max_tokens: 16,
        seed: 11,
        n: 2,
        temperature: 0.9,
      });
    const a = await ask();
    const b = await ask();
    expect(a.object).toBe('chat.completion');
    expect(a.choices).toHaveLength(2);
    expect(a.choices.map((c) => c.message.content)).toEqual(b.choices.map((c) => c.message.content));
    expect(a.choices[0].message.role).toBe('assistant');
    // "user: the cat\nassistant:" = 24 characters = 24 tokens of the character model.
    expect(a.usage?.prompt_tokens).toBe(24);
    expect(a.usage?.completion_tokens).toBeGreaterThan(0);
    expect(a.usage?.total_tokens).toBe((a.usage?.prompt_tokens ?? 0) + (a.usage?.completion_tokens ?? 0));
  });

  it('streams chat deltas that add up to the non-streamed answer, with include_usage and [DONE]', async () => {
    const request = {
      model: 'bigram',
      messages: [{ role: 'user' as const, content: 'a dog' }],
      max_tokens: 40,
      seed: 5,
    };
    const whole = await client.chat.completions.create(request);
    const stream = await client.chat.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        finish = c.finish_reason ?? finish;
      }
    }
    expect(chunks).toBeGreaterThan(3);
    expect(text).toBe(whole.choices[0].message.content);
    expect(finish).toBe(whole.choices[0].finish_reason);
    expect(usage).toEqual(whole.usage);
  });

  it('streams n choices with stop and seed: each index adds up to the same non-streamed choice', async () => {
    const request = {
      model: 'bigram',
      messages: [{ role: 'user' as const, content: 'the sun' }],
      max_tokens: 40,
      seed: 9,
      n: 3,
      temperature: 1,
      stop: ['e', 'zz'],
    };
    const whole = await client.chat.completions.create(request);
    const stream = await client.chat.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    const texts = ['', '', ''];
    const finish: (string | null)[] = [null, null, null];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      if (chunk.usage) {
        // include_usage: the usage chunk comes last, with no choices.
        expect(chunk.choices).toEqual([]);
        usage = chunk.usage;
      }
      for (const c of chunk.choices) {
        texts[c.index] += c.delta.content ?? '';
        finish[c.index] = c.finish_reason ?? finish[c.index];
      }
    }
    expect(texts).toEqual(whole.choices.map((c) => c.message.content));
    expect(finish).toEqual(whole.choices.map((c) => c.finish_reason));
    expect(usage).toEqual(whole.usage);
    // The stop sequence ends a choice and is not part of it; seeded choices still differ.
    expect(finish).toContain('stop');
    for (const t of texts) expect(t).not.toContain('e');
    expect(new Set(texts).size).toBeGreaterThan(1);
  });

  it('completions honour stop and max_tokens; the raw stream ends with data: [DONE]', async () => {
    const greedy = await client.completions.create({
      model: 'bigram',
      prompt: 't',
      max_tokens: 3,
      temperature: 0,
    });
    expect(greedy.choices[0]).toMatchObject({ text: 'he ', finish_reason: 'length' });
    const stopped = await client.completions.create({
      model: 'bigram',
      prompt: 't',
      max_tokens: 30,
      temperature: 0,
      stop: ['e'],
    });
    expect(stopped.choices[0]).toMatchObject({ text: 'h', finish_reason: 'stop' });
    const res = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'bigram', prompt: 't', max_tokens: 3, temperature: 0, stream: true }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await res.text();
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const texts = body
      .split('\n\n')
      .filter((e) => e.startsWith('data: {'))
      .map((e) => JSON.parse(e.slice(6)).choices[0].text);
    expect(texts.join('')).toBe('he ');
  });

  it('a client that disconnects mid-stream stops the generation', async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'bigram', messages: [{ role: 'user', content: 'go' }], max_tokens: 50_000, stream: true },
      { signal: controller.signal },
    );
    const before = bigramStats.steps;
    let chunks = 0;
    try {
      for await (const _ of stream) if (++chunks === 10) controller.abort();
    } catch {
      // The client may end the iteration or throw its abort error; either way it hung up.
    }
    await new Promise((r) => setTimeout(r, 300));
    const settled = bigramStats.steps;
    await new Promise((r) => setTimeout(r, 300));
    expect(bigramStats.steps).toBe(settled);
    expect(chunks).toBe(10);
    // It ran, and stopped far short of its 50,000 tokens.
    expect(settled - before).toBeGreaterThanOrEqual(9);
    expect(settled - before).toBeLessThan(50);
  });

  it('embeddings in float and base64 encode the same unit vectors', async () => {
    const input = ['the cat sat', 'a dog met'];
    const floats = await client.embeddings.create({ model: 'bag', input, encoding_format: 'float' });
    // The client asks for base64 by default and decodes it itself.
    const decoded = await client.embeddings.create({ model: 'bag', input });
    expect(floats.data).toHaveLength(2);
    expect(floats.data[0].embedding).toHaveLength(16);
    expect(decoded.data[1].embedding).toEqual(floats.data[1].embedding);
    const norm = Math.hypot(...floats.data[0].embedding);
    expect(norm).toBeCloseTo(1, 5);
    expect(floats.usage).toEqual({ prompt_tokens: 20, total_tokens: 20 });
  });

  it('images come back as b64 PNGs of the requested size, n of them', async () => {
    const res = await client.images.generate({
      model: 'cppn',
      prompt: 'swirls',
      n: 2,
      size: '64x48' as '256x256',
      response_format: 'b64_json',
    });
    expect(res.data).toHaveLength(2);
    const imgs = (res.data ?? []).map((d) => decodePng(Buffer.from(d.b64_json ?? '', 'base64')));
    for (const img of imgs) expect([img.width, img.height]).toEqual([64, 48]);
    expect(Buffer.from(imgs[0].data).equals(Buffer.from(imgs[1].data))).toBe(false);
  });

  it.skipIf(!hasSpeech)('speech: a WAV of plausible length, faster with speed 2', async () => {
    const say = async (speed: number) => {
      const res = await client.audio.speech.create({
        model: 'tts-1',
        voice: 'alloy',
        input: 'Hello from maas, a model service you can run yourself.',
        response_format: 'wav',
        speed,
      });
      return parseWav(new Uint8Array(await res.arrayBuffer()));
    };
    const normal = audioDuration(await say(1));
    const fast = audioDuration(await say(2));
    expect(normal).toBeGreaterThan(1.5);
    expect(normal).toBeLessThan(8);
    expect(fast).toBeLessThan(normal * 0.8);
  });

  it("errors arrive in OpenAI's shape and as the client's error classes", async () => {
    const missing = await client.chat.completions
      .create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing).toMatchObject({ status: 404, code: 'model_not_found', type: 'invalid_request_error' });
    const bad = await client.completions
      .create({ model: 'bigram', prompt: 'x', temperature: 5 })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    const wrongTask = await client.embeddings
      .create({ model: 'bigram', input: 'x' })
      .catch((e: unknown) => e);
    expect((wrongTask as Error).message).toMatch(/can do text-generation, not embeddings/);
    const anon = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'wrong-key', maxRetries: 0 });
    await expect(anon.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const raw = await fetch(`${base}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'bag', input: 'x', encoding_format: 'hex' }),
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toEqual({
      error: {
        message: "encoding_format must be 'float' or 'base64'",
        type: 'invalid_request_error',
        param: 'encoding_format',
        code: 'invalid_request',
      },
    });
    const noRoute = await fetch(`${base}/v1/nothing`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(((await noRoute.json()) as { error: { code: string } }).error.code).toBe('route_not_found');
  });
});

describe('speech without an installed engine', () => {
  it("answers 503 engine_unavailable in OpenAI's shape, saying how to install one", async () => {
    const bare = await testServer();
    const platform = {
      ...bare.platform,
      tasks: new TaskService({
        registry: bare.platform.registry,
        inference: bare.platform.inference,
        speech: new TextToSpeech({ env: { PATH: '/nonexistent' } }),
      }),
    };
    const { app } = buildServer(platform);
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/audio/speech',
        headers: auth,
        payload: { model: 'tts-1', input: 'hello', voice: 'alloy' },
      });
      expect(res.statusCode).toBe(503);
      expect(res.json().error).toMatchObject({ type: 'server_error', code: 'engine_unavailable' });
      expect(res.json().error.message).toMatch(/apt-get install espeak-ng/);
    } finally {
      await app.close();
      await bare.close();
    }
  });
});
