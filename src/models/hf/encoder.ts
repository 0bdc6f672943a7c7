/**
 * The `hf-encoder` family: a text-embedding model uploaded as a Hugging Face-layout folder
 * (BERT-style encoders and sentence-transformers exports; see encoder-plan.ts), served on
 * /v1/embeddings and native embed with its own tokenizer (`tokenizer.json`, special tokens added
 * as transformers does: `[CLS] … [SEP]`).
 *
 * Texts run in batches padded to the longest of the batch (`attention_mask` 0 on the padding,
 * `token_type_ids` all 0: one segment); the hidden states are pooled over the real tokens only,
 * so a text's vector does not depend on what it was batched with. A text longer than the
 * model's context is refused (OpenAI's 400 with the numbers), never silently truncated.
 */
import { fail } from '../../common/errors';
import { type Tensor, tensorFrom } from '../../engine/runtime/tensor';
import { registerRuntime } from '../runtimes';
import type { EmbeddingRuntime, RunModel, RuntimeContext } from '../task';
import { readJson } from './assets';
import type { EncoderPlan, PoolingMode } from './encoder-plan';
import { loadTokenizer, type TextTokenizer } from './tokenizer';

export const HF_ENCODER_FAMILY = 'hf-encoder';

/** Texts per run: enough to fill the cores, small enough that padding stays cheap. */
const BATCH = 16;

/** One text's pooled vector from its rows of `hidden` [B, S, H] (`length` real tokens). */
type Pool = (hidden: Float32Array, row: number, seq: number, length: number, size: number) => Float32Array;

function tokens(hidden: Float32Array, row: number, seq: number, size: number, t: number) {
  return hidden.subarray((row * seq + t) * size, (row * seq + t + 1) * size);
}

function sumOf(hidden: Float32Array, row: number, seq: number, length: number, size: number) {
  const out = new Float32Array(size);
  for (let t = 0; t < length; t++) {
    const v = tokens(hidden, row, seq, size, t);
    for (let k = 0; k < size; k++) out[k] += v[k];
  }
  return out;
}

const POOLS: Record<PoolingMode, Pool> = {
  cls: (h, row, seq, _length, size) => tokens(h, row, seq, size, 0).slice(),
  lasttoken: (h, row, seq, length, size) => tokens(h, row, seq, size, length - 1).slice(),
  mean: (h, row, seq, length, size) => sumOf(h, row, seq, length, size).map((x) => x / length),
  mean_sqrt_len: (h, row, seq, length, size) =>
    sumOf(h, row, seq, length, size).map((x) => x / Math.sqrt(length)),
  max: (h, row, seq, length, size) => {
    const out = new Float32Array(size).fill(Number.NEGATIVE_INFINITY);
    for (let t = 0; t < length; t++) {
      const v = tokens(h, row, seq, size, t);
      for (let k = 0; k < size; k++) out[k] = Math.max(out[k], v[k]);
    }
    return out;
  },
};

function normalised(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  // sentence-transformers' Normalize (torch's F.normalize) divides by max(‖v‖, 1e-12).
  const scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
  return v.map((x) => x * scale);
}

function metaPlan(meta: Readonly<Record<string, unknown>>): { plan: EncoderPlan; context: number } {
  const plan = meta.encoder as EncoderPlan | undefined;
  const context = meta.context;
  if (!plan || !Array.isArray(plan.pooling) || typeof context !== 'number')
    fail('unsupported_model', 'the version has no encoder plan: upload the model folder again');
  return { plan, context };
}

/** Run one batch of tokenised texts and pool each. */
async function embedBatch(
  run: RunModel,
  plan: EncoderPlan,
  batch: readonly number[][],
  signal?: AbortSignal,
): Promise<Float32Array[]> {
  const seq = Math.max(...batch.map((ids) => ids.length));
  const ids: number[] = [];
  const mask: number[] = [];
  for (const row of batch) {
    ids.push(...row, ...new Array(seq - row.length).fill(0));
    mask.push(...new Array(row.length).fill(1), ...new Array(seq - row.length).fill(0));
  }
  const shape = [batch.length, seq];
  const feeds: Record<string, Tensor> = {
    [plan.inputIds]: tensorFrom('int64', shape, ids),
    [plan.attentionMask]: tensorFrom('int64', shape, mask),
  };
  if (plan.tokenTypeIds) feeds[plan.tokenTypeIds] = tensorFrom('int64', shape, new Array(ids.length).fill(0));
  const out = await run(feeds, { outputs: [plan.output], signal });
  const hidden = out[plan.output];
  const size = hidden.dims[2];
  if (hidden.dims.length !== 3 || size !== plan.hidden)
    fail(
      'inference_failed',
      `${plan.output} is [${hidden.dims.join(', ')}], expected [b, s, ${plan.hidden}]`,
    );
  const data = hidden.data as Float32Array;
  return batch.map((row, r) => {
    const parts = plan.pooling.map((mode) => POOLS[mode](data, r, seq, row.length, size));
    const joined = new Float32Array(parts.length * size);
    parts.forEach((p, i) => {
      joined.set(p, i * size);
    });
    return plan.normalize ? normalised(joined) : joined;
  });
}

function checkLength(tokenizer: TextTokenizer, texts: readonly string[], context: number): number[][] {
  return texts.map((text, i) => {
    const ids = tokenizer.encode(text, { addSpecialTokens: true });
    if (ids.length > context)
      fail(
        'context_length_exceeded',
        `This model's maximum context length is ${context} tokens. However, input[${i}] has ${ids.length} tokens. Please shorten it.`,
        { pointer: `input[${i}]` },
      );
    return ids;
  });
}

export async function hfEncoderRuntime(ctx: RuntimeContext): Promise<EmbeddingRuntime> {
  const read = ctx.readFile ?? fail('unsupported_model', 'this version has no folder files to read');
  const { plan, context } = metaPlan(ctx.metadata);
  const tokenizer = loadTokenizer(
    await readJson(read, 'tokenizer.json', true),
    (await readJson(read, 'tokenizer_config.json')) ?? {},
  );
  return {
    task: 'embeddings',
    dimensions: plan.hidden * plan.pooling.length,
    countTokens: (text) => tokenizer.encode(text, { addSpecialTokens: true }).length,
    async embed(texts, signal) {
      const all = checkLength(tokenizer, texts, context);
      const vectors: Float32Array[] = [];
      for (let at = 0; at < all.length; at += BATCH)
        vectors.push(...(await embedBatch(ctx.run, plan, all.slice(at, at + BATCH), signal)));
      return vectors;
    },
  };
}

registerRuntime(HF_ENCODER_FAMILY, hfEncoderRuntime);
