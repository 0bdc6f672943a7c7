/**
 * What quantisation buys and costs, in one run:
 *
 *   1. single-stream decode tokens/s of the ≈ 110 M-parameter Llama-layout random decoder
 *      (bench/llm/folder.ts) in float32 and as `maas models quantize` rewrites it: int8
 *      (DynamicQuantizeMatMul) and int4 (MatMulNBits, block 32, accuracy level 4), each with the
 *      LM head quantised too (the embedding stays float); raw onnxruntime through maas's
 *      EngineSession, 2 intra-op threads, prefill with an empty cache then one token per run;
 *   2. the zoo gpt (trained here on Moby Dick, the zoo's full or quick size): held-out bits per
 *      character in float32, int8 and int4, and the top-token agreement with the float model.
 *
 *   node --import tsx bench/llm/quantize.ts [--rounds 3] [--prompt-tokens 32] [--new-tokens 64]
 *        [--gpt full|quick] [--out bench/results]
 *
 * Writes `<out>/llm-quantize.md` (tables, load average) and `llm-quantize.json`.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { quantizeModel } from '../../src/engine/onnx/quantize/rewrite';
import { EngineSession } from '../../src/engine/runtime/session';
import { type Tensor, tensorFrom, zeros } from '../../src/engine/runtime/tensor';
import '../../src/models/index';
import { gptRuntime, trainGpt } from '../../src/models/language/gpt';
import { loadProse, splitProse } from '../../src/models/language/index';
import { compareQuality, type QualityReport } from '../../src/models/quantize/quality';
import { LANGUAGE_ZOO_SIZES } from '../../src/models/zoo/language';
import { promptIds } from './contenders';
import { BENCH_SHAPE, benchFolder, llamaParams } from './folder';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const THREADS = 2;
const targets = ['int8', 'int4'] as const;
const fileOf = { fp32: 'model.onnx', int8: 'model_int8.onnx', int4: 'model_q4.onnx' } as const;
type Precision = keyof typeof fileOf;

/** The quantised siblings of the bench folder's graph, written once beside it. */
async function quantizedSiblings(dir: string, log: (s: string) => void): Promise<void> {
  const float = new Uint8Array(await readFile(join(dir, 'onnx', fileOf.fp32)));
  for (const to of targets) {
    const path = join(dir, 'onnx', fileOf[to]);
    if (existsSync(path)) continue;
    const t0 = performance.now();
    const q = quantizeModel(float, { to });
    await writeFile(path, q.model);
    log(
      `quantised to ${to} in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${q.report.nodes} MatMuls, weights ${(q.report.weightBytes.before / 1e6).toFixed(0)} → ${(q.report.weightBytes.after / 1e6).toFixed(0)} MB, file ${(q.model.length / 1e6).toFixed(0)} MB`,
    );
  }
}

/** Decode tokens/s of one greedy generation of `fresh` tokens after `prompt` (after a warm-up). */
async function decodeRate(path: string, prompt: number, fresh: number): Promise<number> {
  const s = BENCH_SHAPE;
  const headDim = s.hidden / s.heads;
  const session = await EngineSession.create(path, { intraOpThreads: THREADS, interOpThreads: 1 });
  const generate = async (promptLength: number, n: number) => {
    const past: Record<string, Tensor> = {};
    for (let i = 0; i < s.layers; i++)
      for (const part of ['key', 'value'])
        past[`past_key_values.${i}.${part}`] = zeros('float32', [1, s.kvHeads, 0, headDim]);
    let feed = promptIds(promptLength);
    let total = 0;
    let firstAt = 0;
    for (let step = 0; step < n; step++) {
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
      for (let i = 0; i < s.layers; i++)
        for (const part of ['key', 'value']) past[`past_key_values.${i}.${part}`] = r[`present.${i}.${part}`];
      if (step === 0) firstAt = performance.now();
    }
    return (n - 1) / ((performance.now() - firstAt) / 1000);
  };
  await generate(8, 4);
  const rate = await generate(prompt, fresh);
  await session.release();
  return rate;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const rounds = Number(flag('--rounds', '3'));
  const prompt = Number(flag('--prompt-tokens', '32'));
  const fresh = Number(flag('--new-tokens', '64'));
  const scale = flag('--gpt', 'full') as 'full' | 'quick';
  const out = flag('--out', join('bench', 'results'));
  const log = (s: string) => console.log(s);
  const loadBefore = os.loadavg();

  const dir = await benchFolder(log);
  await quantizedSiblings(dir, log);
  const rates: Record<Precision, number[]> = { fp32: [], int8: [], int4: [] };
  for (let r = 0; r < rounds; r++) {
    // Rotating order, so drift in the machine's load does not favour one precision.
    const order = (['fp32', 'int8', 'int4'] as Precision[]).map((_, i, a) => a[(i + r) % a.length]);
    for (const p of order) {
      const rate = await decodeRate(join(dir, 'onnx', fileOf[p]), prompt, fresh);
      rates[p].push(rate);
      log(`round ${r + 1} ${p}: ${rate.toFixed(2)} tokens/s`);
    }
  }
  const sizes: Record<Precision, number> = { fp32: 0, int8: 0, int4: 0 };
  for (const p of Object.keys(fileOf) as Precision[])
    sizes[p] = (await readFile(join(dir, 'onnx', fileOf[p]))).length;

  log(`training the zoo gpt (${scale}) …`);
  const size = LANGUAGE_ZOO_SIZES[scale].gpt;
  const split = splitProse(await loadProse());
  const t0 = performance.now();
  const trained = await trainGpt(split, size.model, { ...size.train, seed: 1 });
  log(
    `trained in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${trained.result.validationBitsPerChar.toFixed(4)} bits/char`,
  );
  const runtime = await gptRuntime({
    run: () => Promise.reject(new Error('unused')),
    metadata: trained.metadata,
  });
  const float = await EngineSession.create(trained.onnx);
  const gpt: Record<string, QualityReport> = {};
  for (const to of targets) {
    const quant = await EngineSession.create(quantizeModel(trained.onnx, { to }).model);
    gpt[to] = await compareQuality(float, quant, {
      tokenizer: runtime.tokenizer,
      context: size.model.context,
      heldOut: split.validation,
      heldOutWindows: 256,
    });
    await quant.release();
    log(`gpt ${to}: ${JSON.stringify(gpt[to])}`);
  }
  await float.release();
  const loadAfter = os.loadavg();

  const fp32 = median(rates.fp32);
  const row = (p: Precision) =>
    `| ${p} | ${fileOf[p]} | ${(sizes[p] / 1e6).toFixed(0)} MB | ${median(rates[p]).toFixed(2)} (${rates[p].map((x) => x.toFixed(2)).join(', ')}) | ${(median(rates[p]) / fp32).toFixed(2)}x |`;
  const gptRow = (to: (typeof targets)[number]) => {
    const q = gpt[to];
    const b = q.bitsPerChar!;
    return `| ${to} | ${b.float.toFixed(4)} | ${b.quantized.toFixed(4)} | ${b.relativeCost >= 0 ? '+' : ''}${(b.relativeCost * 100).toFixed(2)} % | ${(q.agreement * 100).toFixed(1)} % (${q.positions}) | ${q.maxLogitError.toFixed(3)} / ${q.logitRange.toFixed(1)} |`;
  };
  const md = [
    '# Quantisation: decode speed and quality cost',
    '',
    `Command: \`node --import tsx bench/llm/quantize.ts --rounds ${rounds} --prompt-tokens ${prompt} --new-tokens ${fresh} --gpt ${scale}\``,
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}; load average ${loadBefore.map((x) => x.toFixed(2)).join(', ')} before, ${loadAfter.map((x) => x.toFixed(2)).join(', ')} after.`,
    '',
    `## Single-stream decode, ${(llamaParams(BENCH_SHAPE) / 1e6).toFixed(0)} M-parameter random Llama-layout decoder`,
    '',
    `EngineSession (onnxruntime-node 1.30.0), ${THREADS} intra-op threads; ${prompt}-token prompt, ${fresh} new tokens, greedy; median of ${rounds} rounds (each round's figure in brackets).`,
    '',
    '| precision | graph | file | decode tokens/s | vs float32 |',
    '|---|---|---|---|---|',
    row('fp32'),
    row('int8'),
    row('int4'),
    '',
    `## Zoo gpt (${scale} size), held-out Moby Dick`,
    '',
    `Bits per character on up to 256 windows of ${size.model.context} tokens of the held-out split; agreement: the quantised model's top token equals the float model's (greedy continuations of 4 prompts).`,
    '',
    '| to | float32 bits/char | quantised bits/char | cost | top-token agreement (positions) | max logit error / range |',
    '|---|---|---|---|---|---|',
    gptRow('int8'),
    gptRow('int4'),
    '',
  ].join('\n');
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'llm-quantize.md'), md);
  await writeFile(
    join(out, 'llm-quantize.json'),
    JSON.stringify({ rounds, prompt, fresh, rates, sizes, gpt, loadBefore, loadAfter }, null, 2),
  );
  console.log(md);
}

await main();
