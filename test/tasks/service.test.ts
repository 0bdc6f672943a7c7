import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav, parseWav } from '../../src/models/common/audio';
import { WAV_BATCH_SAMPLES } from '../../src/models/common/wav-stream';
import { type SpeechEngine, SpeechEngineRegistry } from '../../src/models/tts/engines';
import { TextToSpeech } from '../../src/models/tts/speech';
import { createCppnModel } from '../../src/models/vision/cppn';
import { CPPN_CHUNK_PIXELS } from '../../src/models/vision/cppn-runtime';
import { DEFAULT_TENANT } from '../../src/platform/auth/auth';
import { TaskService } from '../../src/platform/tasks/service';
import type { TestServer } from '../helpers/server';
import { bigramStats } from './fixtures/families';
import { bigramModel, CORPUS } from './fixtures/models';
import { pushModel, taskServer } from './fixtures/server';

let server: TestServer;
const target = (model: string, ref?: string) => ({ owner: DEFAULT_TENANT, model, ref });

/** A speech engine whose binary is a real program (`sleep` or `true`) and whose output is given. */
function fakeEngine(binary: string, synthesize: SpeechEngine['synthesize']): TextToSpeech {
  const engine: SpeechEngine = {
    name: binary,
    binary,
    defaultVoice: 'v',
    install: 'nothing',
    listVoices: async () => [{ id: 'v', name: 'v', language: '', engine: binary }],
    synthesize,
  };
  return new TextToSpeech({ engines: new SpeechEngineRegistry().register(engine), maxOutputBytes: 1 << 26 });
}

beforeAll(async () => {
  server = await taskServer();
});
afterAll(() => server?.close());

describe('task service', () => {
  it('generates through the real runtime: seeded runs repeat, usage counts tokens', async () => {
    const tasks = server.platform.tasks;
    const params = { prompt: 'the ', maxTokens: 30, temperature: 1, seed: 42 };
    const a = await (await tasks.generation(target('bigram'), params)).run();
    const b = await (await tasks.generation(target('bigram'), params)).run();
    expect(a.choices[0].text).toBe(b.choices[0].text);
    expect(a.choices[0].text.length).toBeGreaterThan(0);
    expect(a.choices[0].finishReason).toBe('length');
    expect(a.usage).toEqual({ unit: 'tokens', promptTokens: 4, completionTokens: 30, quantity: 34 });
    // Every generated character pair is one the corpus contains (the model's probable bigrams).
    const text = `the ${a.choices[0].text}`;
    const pairs = new Set(Array.from(CORPUS).map((c, i, s) => s[i - 1] + c));
    const seen = Array.from(text)
      .slice(1)
      .map((c, i) => text[i] + c);
    expect(seen.filter((p) => pairs.has(p)).length / seen.length).toBeGreaterThan(0.9);
  });

  it('greedy generation follows the most likely bigram; stop ends before the stop text', async () => {
    const tasks = server.platform.tasks;
    const greedy = await (
      await tasks.generation(target('bigram'), { prompt: 't', maxTokens: 3, temperature: 0 })
    ).run();
    // After 't' the corpus's most frequent next char is 'h', then 'e', then ' '.
    expect(greedy.choices[0].text).toBe('he ');
    const stopped = await (
      await tasks.generation(target('bigram'), { prompt: 't', maxTokens: 20, temperature: 0, stop: ['e'] })
    ).run();
    expect(stopped.choices[0]).toMatchObject({ text: 'h', finishReason: 'stop' });
  });

  it('n choices: each seeded differently, usage adds completions once per prompt', async () => {
    const job = await server.platform.tasks.generation(target('bigram'), {
      prompt: 'a ',
      maxTokens: 12,
      seed: 7,
      n: 3,
    });
    const out = await job.run();
    expect(out.choices).toHaveLength(3);
    expect(new Set(out.choices.map((c) => c.text)).size).toBeGreaterThan(1);
    expect(out.usage).toMatchObject({ promptTokens: 2, completionTokens: 36, quantity: 38 });
    const again = await job.run();
    expect(again.choices.map((c) => c.text)).toEqual(out.choices.map((c) => c.text));
  });

  it('refuses the wrong task naming what the model can do, and invalid parameters', async () => {
    const tasks = server.platform.tasks;
    await expect(tasks.embed(target('bigram'), ['x'])).rejects.toMatchObject({
      code: 'invalid_request',
      message: "model 'bigram' can do text-generation, not embeddings",
    });
    await expect(tasks.generation(target('tts'), { prompt: 'x' })).rejects.toThrow(/can do speech/);
    await expect(tasks.speak(target('bag'), { input: 'hi' })).rejects.toThrow(
      /can do embeddings, not speech/,
    );
    await expect(tasks.generation(target('nope'), { prompt: 'x' })).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(tasks.generation(target('bigram'), { prompt: 'x', temperature: 3 })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    await expect(tasks.generation(target('bigram'), { prompt: 'x', n: 99 })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    // Plain tensor models (no family) and unknown families say they do tensor inference only.
    const plain = bigramModel();
    await pushModel(server, 'plain', { onnx: plain.onnx, metadata: {} });
    await expect(tasks.generation(target('plain'), { prompt: 'x' })).rejects.toThrow(/tensor inference only/);
    await pushModel(server, 'alien', { onnx: plain.onnx, metadata: { family: 'no-such-family' } });
    await expect(tasks.generation(target('alien'), { prompt: 'x' })).rejects.toThrow(/no task runtime/);
  });

  it('caches one runtime per version and drops it when the version is removed', async () => {
    const tasks = server.platform.tasks;
    await pushModel(server, 'bg2', bigramModel());
    const first = await tasks.runtime(target('bg2'), 'text-generation');
    const second = await tasks.runtime(target('bg2', '1'), 'text-generation');
    expect(second.runtime).toBe(first.runtime);
    await pushModel(server, 'bg2', bigramModel(`${CORPUS} zzz`));
    const v2 = await tasks.runtime(target('bg2'), 'text-generation');
    expect(v2.version.version).toBe(2);
    expect(v2.runtime).not.toBe(first.runtime);
    await server.platform.registry.deleteVersion(DEFAULT_TENANT, 'bg2', '1');
    await expect(tasks.runtime(target('bg2', '1'), 'text-generation')).rejects.toMatchObject({
      code: 'not_found',
    });
    expect((await tasks.runtime(target('bg2'), 'text-generation')).runtime).toBe(v2.runtime);
  });

  it('aborting stops generation within a step or two', async () => {
    const job = await server.platform.tasks.generation(target('bigram'), {
      prompt: 'the',
      maxTokens: 50_000,
    });
    const controller = new AbortController();
    const before = bigramStats.steps;
    const deltas: string[] = [];
    const running = job.run((_, d) => {
      deltas.push(d);
      if (deltas.length === 20) controller.abort();
    }, controller.signal);
    await expect(running).rejects.toMatchObject({ code: 'client_closed' });
    const ran = bigramStats.steps - before;
    expect(ran).toBeGreaterThanOrEqual(20);
    expect(ran).toBeLessThan(40);
  });

  it('embeds, classifies and draws through real runtimes', async () => {
    const tasks = server.platform.tasks;
    const e = await tasks.embed(target('bag'), ['the cat', 'the cat', 'zzzz qqq']);
    expect(e.dimensions).toBe(16);
    expect(Array.from(e.vectors[0])).toEqual(Array.from(e.vectors[1]));
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);
    expect(dot(e.vectors[0], e.vectors[0])).toBeCloseTo(1, 5);
    expect(dot(e.vectors[0], e.vectors[2])).toBeLessThan(0.99);
    expect(e.usage).toMatchObject({ unit: 'tokens', promptTokens: 7 + 7 + 8 });
    const c = await tasks.classify(target('vowels'), ['aeiou ea', 'strk mn']);
    expect(c.predictions.map((p) => p.label)).toEqual(['vowels', 'consonants']);
    const img = await tasks.imagine(target('cppn'), { prompt: 'x', n: 2, width: 24, height: 16, seed: 1 });
    expect(img.images).toHaveLength(2);
    expect(img.usage).toEqual({ unit: 'images', quantity: 2, pixels: 2 * 24 * 16 });
    await expect(
      tasks.imagine(target('cppn'), { prompt: 'x', n: 1, width: 0, height: 16 }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    // 4096×4096 × 10 once ran past the deadline, ≈ 2 s of event loop per PNG: refused before rendering.
    await expect(
      tasks.imagine(target('cppn'), { prompt: 'x', n: 10, width: 4096, height: 4096 }),
    ).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining('more than 4194304 per request'),
    });
  });

  it('an image request ends at the request deadline (render and encoding included) with a 504', async () => {
    const tasks = new TaskService({
      registry: server.platform.registry,
      inference: server.platform.inference,
      requestTimeoutMs: 1,
    });
    await expect(
      tasks.imagine(target('cppn'), { prompt: 'x', n: 4, width: 1024, height: 1024, seed: 1 }),
    ).rejects.toMatchObject({
      code: 'deadline_exceeded',
      message: expect.stringContaining('MAAS_REQUEST_TIMEOUT_MS'),
    });
  });

  it('the largest image request allowed keeps the event loop turning: rendering and PNG encoding yield', async () => {
    // maas's own cppn family (not the test fixture's): its chunked renderer and streaming PNG
    // encoder give the loop a turn after every 65,536 pixels rendered and every row batch encoded.
    // (How long each turn waits depends on the machine's load: bench/, not here.)
    const art = createCppnModel({ seed: 3 });
    await pushModel(server, 'real-cppn', { onnx: art.onnx, metadata: { ...art.metadata } });
    let turns = 0;
    let spinning = true;
    const spin = () => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const img = await server.platform.tasks.imagine(target('real-cppn'), {
      prompt: 'x',
      n: 1,
      width: 2048,
      height: 2048,
      seed: 1,
    });
    spinning = false;
    const png = PNG.sync.read(Buffer.from(img.images[0]));
    expect([png.width, png.height]).toEqual([2048, 2048]);
    const chunks = (2048 * 2048) / CPPN_CHUNK_PIXELS;
    const batches = Math.floor((2048 * 3 * 2048) / (256 * 1024));
    expect(turns).toBeGreaterThanOrEqual(chunks + batches);
  });

  it('a prompt too long for any model is refused before it is tokenised on the event loop', async () => {
    const tasks = server.platform.tasks;
    const long = 'the '.repeat(25_001); // 100,004 characters
    await expect(tasks.generation(target('bigram'), { prompt: long, maxTokens: 1 })).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining('more than 100000'),
    });
    await expect(
      tasks.chat(target('bigram'), [{ role: 'user', content: long }], { maxTokens: 1 }),
    ).rejects.toMatchObject({ code: 'invalid_request', extras: { pointer: 'messages' } });
    // Under the bound it is a prompt like any other.
    const ok = await (
      await tasks.generation(target('bigram'), { prompt: long.slice(0, 50_000), maxTokens: 1 })
    ).run();
    expect(ok.usage.promptTokens).toBeGreaterThan(0);
  });

  it('a long speech output keeps the event loop turning: the WAV is re-encoded in batches', async () => {
    // 4 M float samples (≈ 3 min at 22 kHz, 16 MB from the engine): decoded and re-written as
    // PCM16 with a loop turn after every WAV_BATCH_SAMPLES, not in one synchronous pass.
    const samples = new Float32Array(4 * 1024 * 1024).map((_, i) => Math.sin(i / 10));
    const engineWav = Buffer.from(encodeWav({ sampleRate: 22050, channels: 1, samples }));
    engineWav.writeUInt32LE(0x7ffff000, 40); // a pipe's placeholder size, as espeak-ng writes
    const tasks = new TaskService({
      registry: server.platform.registry,
      inference: server.platform.inference,
      speech: fakeEngine('true', async () => engineWav),
    });
    let turns = 0;
    let spinning = true;
    const spin = () => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const out = await tasks.speak(target('tts'), { input: 'a long text' });
    spinning = false;
    expect(out.wav.readUInt32LE(40)).toBe(samples.length * 2); // exact sizes in the clean WAV
    expect(out.durationSeconds).toBeCloseTo(samples.length / 22050, 3);
    expect(Array.from(parseWav(out.wav).samples.subarray(0, 4))).toEqual(
      Array.from(parseWav(engineWav).samples.subarray(0, 4)),
    );
    expect(turns).toBeGreaterThanOrEqual(samples.length / WAV_BATCH_SAMPLES);
  });

  it('speech obeys the request deadline: a slow engine is killed and the answer is a 504', async () => {
    const tasks = new TaskService({
      registry: server.platform.registry,
      inference: server.platform.inference,
      speech: fakeEngine('sleep', async (runner) => (await runner.run(['30'])).stdout),
      requestTimeoutMs: 300,
    });
    const started = process.hrtime.bigint();
    await expect(tasks.speak(target('tts'), { input: 'hello' })).rejects.toMatchObject({
      code: 'deadline_exceeded',
      message: expect.stringContaining('MAAS_REQUEST_TIMEOUT_MS'),
    });
    // Killed at the deadline, not at the engine's own 30 s limit (generous: 10× the deadline).
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(15_000);
  });

  it('speech without an installed engine is a 503 that says how to install one', async () => {
    const tasks = new TaskService({
      registry: server.platform.registry,
      inference: server.platform.inference,
      speech: new TextToSpeech({ env: { PATH: '/nonexistent' } }),
    });
    await expect(tasks.speak(target('tts'), { input: 'hello' })).rejects.toMatchObject({
      code: 'engine_unavailable',
      message: expect.stringMatching(/apt-get install/),
    });
  });
});
