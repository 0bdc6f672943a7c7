/**
 * One stream, one process per contender and round (bench/lib/child.ts runs `run(args)`): load the
 * folder (not timed), one short warm-up generation, then a timed greedy generation of
 * `new_tokens` tokens after a fixed `prompt_tokens`-token prompt. Prefill = the prompt's run up to
 * the first new token; decode = every later token. Both paths use 2 intra-op threads, 1 inter-op.
 *
 *   transformers-js  `@huggingface/transformers` in-process: AutoModelForCausalLM.generate with a
 *                    streamer that timestamps each token (its own KV cache handling).
 *   maas-engine      raw onnxruntime through maas's EngineSession: prefill with an empty cache,
 *                    then one token per run feeding `present.*` back as `past_key_values.*`.
 *   maas-served      SLOT for the serving runtime (branch llm-serve): not measured here.
 */
import { join } from 'node:path';
import { AutoModelForCausalLM, env, Tensor as HfTensor } from '@huggingface/transformers';
import { EngineSession } from '../../src/engine/runtime/session';
import { type Tensor, tensorFrom, zeros } from '../../src/engine/runtime/tensor';
import type { ShapeArgs } from '../lib/contender';
import { BENCH_SHAPE, MODEL_NAME, MODEL_ROOT } from './folder';

export interface StreamTiming {
  prompt_tokens: number;
  new_tokens: number;
  prefill_ms: number;
  decode_ms: number;
  prefill_tokens_per_s: number;
  decode_tokens_per_s: number;
  load_s: number;
  rss_mb: number;
  threads: number;
  version: string;
}

const THREADS = 2;

/** A fixed prompt: token ids drawn from a seeded LCG over the model's vocabulary. */
export function promptIds(length: number): number[] {
  let s = 12345;
  return Array.from({ length }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return 3 + (s % (BENCH_SHAPE.modelVocab - 3));
  });
}

function timing(
  args: ShapeArgs,
  prefillMs: number,
  decodeMs: number,
  loadS: number,
  version: string,
): StreamTiming {
  const prompt = Number(args.prompt_tokens);
  const fresh = Number(args.new_tokens);
  return {
    prompt_tokens: prompt,
    new_tokens: fresh,
    prefill_ms: prefillMs,
    decode_ms: decodeMs,
    prefill_tokens_per_s: prompt / (prefillMs / 1000),
    decode_tokens_per_s: (fresh - 1) / (decodeMs / 1000),
    load_s: loadS,
    rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
    threads: THREADS,
    version,
  };
}

async function transformersJs(args: ShapeArgs): Promise<StreamTiming> {
  env.allowRemoteModels = false;
  env.localModelPath = MODEL_ROOT;
  const t0 = performance.now();
  const model = await AutoModelForCausalLM.from_pretrained(MODEL_NAME, {
    dtype: 'fp32',
    session_options: { intraOpNumThreads: THREADS, interOpNumThreads: 1 },
  });
  const loadS = (performance.now() - t0) / 1000;
  const generate = async (promptLength: number, fresh: number) => {
    const ids = promptIds(promptLength);
    const stamps: number[] = [];
    const streamer = { put: () => stamps.push(performance.now()), end: () => {} };
    const start = performance.now();
    await model.generate({
      input_ids: new HfTensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
      attention_mask: new HfTensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
      max_new_tokens: fresh,
      min_new_tokens: fresh,
      do_sample: false,
      streamer: streamer as never,
    });
    // stamps[0]: the prompt handed to the streamer; stamps[1]: the first new token.
    return { prefill: stamps[1] - start, decode: stamps[stamps.length - 1] - stamps[1] };
  };
  await generate(8, 4);
  const r = await generate(Number(args.prompt_tokens), Number(args.new_tokens));
  await model.dispose();
  return timing(args, r.prefill, r.decode, loadS, '@huggingface/transformers 4.3.2, onnxruntime-node 1.30.0');
}

async function maasEngine(args: ShapeArgs): Promise<StreamTiming> {
  const s = BENCH_SHAPE;
  const headDim = s.hidden / s.heads;
  const t0 = performance.now();
  const session = await EngineSession.create(join(MODEL_ROOT, MODEL_NAME, 'onnx', 'model.onnx'), {
    intraOpThreads: THREADS,
    interOpThreads: 1,
  });
  const loadS = (performance.now() - t0) / 1000;
  const generate = async (promptLength: number, fresh: number) => {
    const ids = promptIds(promptLength);
    const past: Record<string, Tensor> = {};
    for (let i = 0; i < s.layers; i++) {
      past[`past_key_values.${i}.key`] = zeros('float32', [1, s.kvHeads, 0, headDim]);
      past[`past_key_values.${i}.value`] = zeros('float32', [1, s.kvHeads, 0, headDim]);
    }
    let feed = ids;
    let total = 0;
    const start = performance.now();
    let firstAt = 0;
    for (let step = 0; step < fresh; step++) {
      const r = await session.run({
        input_ids: tensorFrom('int64', [1, feed.length], feed),
        attention_mask: tensorFrom('int64', [1, total + feed.length], new Array(total + feed.length).fill(1)),
        position_ids: tensorFrom(
          'int64',
          [1, feed.length],
          feed.map((_, k) => total + k),
        ),
        ...past,
      });
      total += feed.length;
      const logits = r.logits.data as Float32Array;
      const last = logits.subarray(logits.length - s.modelVocab);
      let next = 0;
      for (let v = 1; v < last.length; v++) if (last[v] > last[next]) next = v;
      feed = [next];
      for (let i = 0; i < s.layers; i++) {
        past[`past_key_values.${i}.key`] = r[`present.${i}.key`];
        past[`past_key_values.${i}.value`] = r[`present.${i}.value`];
      }
      if (step === 0) firstAt = performance.now();
    }
    return { prefill: firstAt - start, decode: performance.now() - firstAt };
  };
  await generate(8, 4);
  const r = await generate(Number(args.prompt_tokens), Number(args.new_tokens));
  await session.release();
  return timing(args, r.prefill, r.decode, loadS, 'maas EngineSession, onnxruntime-node 1.30.0');
}

/**
 * SLOT — maas served (the serving runtime of branch llm-serve, filled in after the merge): push
 * the folder (`maas models push NAME bench/llm/.model/llama-110m`), start `maas serve`, then time
 * one streamed `/v1/completions` request with the same prompt ids and `max_tokens` = new_tokens:
 * prefill = time to the first streamed token, decode = the rest. Until then it reports itself
 * unsupported and the table says so.
 */
async function maasServed(): Promise<{ unsupported: string }> {
  return { unsupported: 'slot: maas served (llm-serve runtime) is filled in after the merge' };
}

const contenders: Record<string, (args: ShapeArgs) => Promise<StreamTiming | { unsupported: string }>> = {
  'transformers-js': transformersJs,
  'maas-engine': maasEngine,
  'maas-served': maasServed,
};

/** bench/lib/child.ts entry: `args.contender` names the row. */
export function run(args: ShapeArgs): Promise<StreamTiming | { unsupported: string }> {
  const which = String(args.contender);
  const contender = contenders[which];
  if (!contender) throw new Error(`unknown contender '${which}' (${Object.keys(contenders).join(', ')})`);
  return contender(args);
}
