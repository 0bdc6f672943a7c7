import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpeTokenizer, type BpeTokenizerSpec } from '../../../src/data/index';
import { EngineSession } from '../../../src/engine/runtime/session';
import { loadProse, splitProse } from '../../../src/models/language/corpus';
import { gptRuntime, type TrainedLanguageModel, trainGpt } from '../../../src/models/language/gpt';
import type { RuntimeContext, Tensor, TextGenerationRuntime } from './helpers';
import { countingRun } from './helpers';

// A tiny GPT on the first 60,000 characters: enough training that logits are not near-ties, so
// the cached and the re-run paths must agree on every argmax.
const CONTEXT = 24;
let trained: TrainedLanguageModel;
let kvSession: EngineSession;
let plainSession: EngineSession;
let kvRuns: { calls: Record<string, Tensor>[] };

function runtimeOf(
  session: EngineSession,
  metadata: Record<string, unknown>,
  log?: Record<string, Tensor>[],
) {
  const ctx: RuntimeContext = { run: countingRun(session, log), metadata };
  return gptRuntime(ctx) as Promise<TextGenerationRuntime>;
}

beforeAll(async () => {
  const split = splitProse((await loadProse()).slice(0, 60_000));
  trained = await trainGpt(
    split,
    { context: CONTEXT, layers: 2, dim: 32, heads: 4 },
    { steps: 120, batch: 16, lr: 5e-3, warmup: 10, seed: 3, maxValidationWindows: 32 },
  );
  kvSession = await EngineSession.create(trained.onnx);
  plainSession = await EngineSession.create(trained.plainOnnx!);
  kvRuns = { calls: [] };
});
afterAll(async () => {
  await kvSession?.release();
  await plainSession?.release();
});

describe('gpt text-generation runtime', () => {
  it('KV-cache generation yields exactly the tokens of full re-runs at temperature 0, up to the context', async () => {
    // Served by the one decoder runtime of Hugging Face folders, stepping maas's graph names.
    const kv = await runtimeOf(kvSession, trained.metadata, kvRuns.calls);
    const plain = await runtimeOf(plainSession, { ...trained.metadata, kvCache: false });
    // 16 prompt characters, then tokens until the 24-token context is full (there is no sliding
    // window: the answer ends with `length` when prompt + answer fill the context).
    const req = { prompt: 'Call me Ishmael.', maxTokens: 60, temperature: 0 };
    const a = await kv.generate(req);
    const b = await plain.generate(req);
    expect(a.promptTokens).toBe(16);
    expect(a.completionTokens).toBe(CONTEXT - 16);
    expect(a.text).toBe(b.text);
    expect(a.text.length).toBe(CONTEXT - 16);
    expect(a.finishReason).toBe('length');
    // One run per token: the prefill runs the prompt at once, then one cached step per token.
    const lengths = kvRuns.calls.map((f) => f.input_ids.dims[1]);
    expect(lengths).toEqual([16, ...new Array(CONTEXT - 16 - 1).fill(1)]);
    for (const f of kvRuns.calls)
      expect(f.input_ids.dims[1] + f.past_key_0.dims[2]).toBeLessThanOrEqual(CONTEXT);
    // A prompt that fills the context is OpenAI's 400 with the numbers.
    await expect(kv.generate({ ...req, prompt: 'Call me Ishmael. Some years ago' })).rejects.toMatchObject({
      code: 'context_length_exceeded',
    });
  });

  it('streams deltas that add up to the text; stop sequences end it; seeds replay', async () => {
    const kv = await runtimeOf(kvSession, trained.metadata);
    const deltas: string[] = [];
    const req = { prompt: 'The whale', maxTokens: 80, temperature: 0.9, topK: 10, topP: 0.95, seed: 42 };
    const r = await kv.generate(req, (d) => deltas.push(d));
    expect(deltas.join('')).toBe(r.text);
    expect(deltas.length).toBeGreaterThan(10);
    expect((await kv.generate(req)).text).toBe(r.text);
    expect((await kv.generate({ ...req, seed: 43 })).text).not.toBe(r.text);
    // Stop at the first space the same sampler produces: nothing from the stop on is returned.
    const cut = r.text.indexOf(' ', 1);
    expect(cut).toBeGreaterThan(0);
    const stopped = await kv.generate({ ...req, stop: [' '] });
    expect(stopped.finishReason).toBe('stop');
    expect(stopped.text).toBe(r.text.slice(0, cut));
    expect(kv.countTokens('whale')).toBe(5);
    expect(kv.contextLength).toBe(CONTEXT);
  });

  it('stops between tokens when the signal aborts', async () => {
    const kv = await runtimeOf(kvSession, trained.metadata);
    const controller = new AbortController();
    let deltas = 0;
    const pending = kv.generate(
      { prompt: 'a', maxTokens: 500, temperature: 0 },
      () => {
        deltas++;
        if (deltas === 5) controller.abort();
      },
      controller.signal,
    );
    await expect(pending).rejects.toMatchObject({ code: 'client_closed' });
    expect(deltas).toBe(5);
  });

  it('refuses out-of-range sampling options as invalid_request', async () => {
    const kv = await runtimeOf(kvSession, trained.metadata);
    await expect(kv.generate({ prompt: 'a', temperature: 3 })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    await expect(kv.generate({ prompt: 'a', maxTokens: 0 })).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });
});

describe('gpt with a byte-level BPE tokenizer', () => {
  const split = splitProse(
    'Call me Ishmael. Some years ago—never mind how long precisely—having little money, the whale… '.repeat(
      300,
    ),
  );

  it('scores bits per character over the characters its tokens cover, not per token', async () => {
    // An untrained model predicts ≈ uniformly: ln V nats per token. Divided by the characters per
    // token of the held-out text, that is log2(V) / (chars/token) bits per character.
    const t = await trainGpt(
      split,
      { context: 16, layers: 1, dim: 16, heads: 2, bpeVocab: 300 },
      { steps: 1, batch: 4, lr: 1e-9, warmup: 0, seed: 1 },
    );
    expect(t.metadata.tokenizer).toMatchObject({ type: 'bpe' });
    const tokenizer = new BpeTokenizer(t.metadata.tokenizer as BpeTokenizerSpec);
    const charsPerToken = split.validation.length / tokenizer.encode(split.validation).length;
    expect(charsPerToken).toBeGreaterThan(1.5);
    expect(t.result.validationBitsPerChar).toBeCloseTo(Math.log2(300) / charsPerToken, 1);
  });

  it('generates the same text with and without the KV cache, multi-byte characters included', async () => {
    const t = await trainGpt(
      split,
      { context: 16, layers: 1, dim: 16, heads: 2, bpeVocab: 300 },
      { steps: 60, batch: 8, lr: 1e-2, warmup: 5, seed: 2 },
    );
    const kv = await EngineSession.create(t.onnx);
    const plain = await EngineSession.create(t.plainOnnx!);
    try {
      const req = { prompt: 'Some years ago—never', maxTokens: 40, temperature: 0 };
      const a = await (await runtimeOf(kv, t.metadata)).generate(req);
      const b = await (await runtimeOf(plain, { ...t.metadata, kvCache: false })).generate(req);
      expect(a.text).toBe(b.text);
      // Until the 16-token context is full (or the model writes <|endoftext|>, its eos).
      if (a.finishReason === 'length') expect(a.promptTokens + a.completionTokens).toBe(16);
      expect(a.completionTokens).toBeGreaterThan(0);
      // Fewer tokens than characters: the merges are in use on the prompt.
      expect(a.promptTokens).toBeLessThan(req.prompt.length);
      expect(a.text).not.toContain('\uFFFD');
    } finally {
      await kv.release();
      await plain.release();
    }
  });
});
