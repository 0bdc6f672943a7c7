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
 *   maas-served      `maas serve` over HTTP: the folder pushed, then /v1/completions with the
 *                    same prompt ids (see maasServed).
 *   maas-served-nospin maas-served with `--intra-op-spin-us 0` (threads sleep between ops; the default spins 50 µs for decoders)
 *   maas-served-spin-200, maas-served-spin-1000: the same with 200 µs and 1 ms bounds
 *   …-q8             the same on the int8 sibling `model_quantized.onnx` (transformers.js dtype q8).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForCausalLM, env, Tensor as HfTensor } from '@huggingface/transformers';
import { folderBody } from '../../src/cli/push-folder';
import { EngineSession } from '../../src/engine/runtime/session';
import { type Tensor, tensorFrom, zeros } from '../../src/engine/runtime/tensor';
import { spawnServe } from '../../test/helpers/serve';
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

type Precision = 'fp32' | 'q8';

async function transformersJs(args: ShapeArgs, precision: Precision): Promise<StreamTiming> {
  env.allowRemoteModels = false;
  env.localModelPath = MODEL_ROOT;
  const t0 = performance.now();
  const model = await AutoModelForCausalLM.from_pretrained(MODEL_NAME, {
    dtype: precision,
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
  return timing(
    args,
    r.prefill,
    r.decode,
    loadS,
    `@huggingface/transformers 4.3.2 (${precision}), onnxruntime-node 1.30.0`,
  );
}

async function maasEngine(args: ShapeArgs, precision: Precision, fuse = false): Promise<StreamTiming> {
  const s = BENCH_SHAPE;
  const headDim = s.hidden / s.heads;
  const t0 = performance.now();
  const file = precision === 'q8' ? 'model_quantized.onnx' : 'model.onnx';
  const session = await EngineSession.create(join(MODEL_ROOT, MODEL_NAME, 'onnx', file), {
    intraOpThreads: THREADS,
    interOpThreads: 1,
    fuseProjections: fuse,
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
  return timing(args, r.prefill, r.decode, loadS, `maas EngineSession (${file}), onnxruntime-node 1.30.0`);
}

/**
 * maas served: `maas serve` in a child process (its own data folder), the folder pushed as a
 * streamed .tar.gz (as `maas models push` does; upload and checks not timed), then greedy
 * `/v1/completions` over HTTP with the same prompt ids (OpenAI's token-id prompt). Random weights
 * may hit an eos id and the served text can hold back bytes, so the timing comes from two whole
 * requests: prefill = a request for 1 token, decode = (a request for new_tokens − that) over the
 * tokens it actually generated after the first.
 */
async function maasServed(
  args: ShapeArgs,
  fuse = true,
  spinUs: number | 'auto' = 'auto',
): Promise<StreamTiming> {
  const dataDir = await mkdtemp(join(tmpdir(), 'maas-bench-llm-'));
  const key = 'bench-admin-key-0123456789abcdef';
  const server = await spawnServe({
    dataDir,
    adminKey: key,
    flags: [
      '--intra-op-threads',
      String(THREADS),
      '--max-upload-bytes',
      String(2 * 1024 ** 3),
      '--fuse-projections',
      String(fuse),
      '--intra-op-spin-us',
      String(spinUs),
    ],
    env: { MAAS_VALIDATE_TIMEOUT_MS: '600000', MAAS_VALIDATE_MEMORY_MB: '4096' },
  });
  try {
    const headers = { authorization: `Bearer ${key}` };
    const t0 = performance.now();
    // As `maas models push` sends it: a plain .tar of the graph it serves (no int8 sibling).
    const body = await folderBody(join(MODEL_ROOT, MODEL_NAME), undefined);
    const pushed = await fetch(`${server.url}/api/v1/models/bench/versions`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-tar' },
      body,
      duplex: 'half',
    } as RequestInit);
    if (!pushed.ok) throw new Error(`push failed: ${pushed.status} ${await pushed.text()}`);
    const complete = async (prompt: number[], maxTokens: number) => {
      const start = performance.now();
      const res = await fetch(`${server.url}/v1/completions`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'bench', prompt, max_tokens: maxTokens, temperature: 0 }),
      });
      const out = (await res.json()) as { usage?: { completion_tokens: number }; error?: unknown };
      if (!res.ok || !out.usage) throw new Error(`completion failed: ${JSON.stringify(out).slice(0, 300)}`);
      return { ms: performance.now() - start, tokens: out.usage.completion_tokens };
    };
    await complete(promptIds(8), 4); // loads the session (not timed)
    const loadS = (performance.now() - t0) / 1000;
    const ids = promptIds(Number(args.prompt_tokens));
    const first = await complete(ids, 1);
    const whole = await complete(ids, Number(args.new_tokens));
    const t = timing(
      args,
      first.ms,
      whole.ms - first.ms,
      loadS,
      'maas serve over HTTP, onnxruntime-node 1.30.0',
    );
    return {
      ...t,
      new_tokens: whole.tokens,
      decode_tokens_per_s: (whole.tokens - 1) / ((whole.ms - first.ms) / 1000),
    };
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const contenders: Record<string, (args: ShapeArgs) => Promise<StreamTiming | { unsupported: string }>> = {
  'transformers-js': (args) => transformersJs(args, 'fp32'),
  'maas-engine': (args) => maasEngine(args, 'fp32'),
  'transformers-js-q8': (args) => transformersJs(args, 'q8'),
  'maas-engine-q8': (args) => maasEngine(args, 'q8'),
  'maas-served': (args) => maasServed(args, true),
  // The projection fusion (src/engine/onnx/fuse.ts) on and off: the served default is on.
  'maas-engine-fused': (args) => maasEngine(args, 'fp32', true),
  'maas-served-unfused': (args) => maasServed(args, false),
  // MAAS_INTRA_OP_SPIN_US 0: intra-op threads sleep between ops (the default before `auto`, which
  // lets a decoder's threads spin up to 50 µs while a run is in progress).
  'maas-served-nospin': (args) => maasServed(args, true, 0),
  // Longer bounded spins (`--intra-op-spin-us`), for hosts where 50 µs is too short a wait.
  'maas-served-spin-200': (args) => maasServed(args, true, 200),
  'maas-served-spin-1000': (args) => maasServed(args, true, 1000),
};

/** bench/lib/child.ts entry: `args.contender` names the row. */
export function run(args: ShapeArgs): Promise<StreamTiming | { unsupported: string }> {
  const which = String(args.contender);
  const contender = contenders[which];
  if (!contender) throw new Error(`unknown contender '${which}' (${Object.keys(contenders).join(', ')})`);
  return contender(args);
}
