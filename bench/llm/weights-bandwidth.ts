/**
 * The memory-bandwidth ceiling of single-stream decode on this machine. One decode step of the
 * bench folder (bench/llm/folder.ts) multiplies one row by every projection and the LM head: a
 * GEMV per weight matrix, each weight read once from memory and used for 2 FLOP. So a step cannot
 * be faster than the weights' bytes ÷ the bandwidth ONNX Runtime's GEMV reaches here, whoever
 * runs it. This measures that bandwidth on one MatMul [1, hidden] × [hidden, N] whose weight has
 * the size of one step's weights (projections + LM head; the embedding is one row, the KV cache
 * at this length a few MB), at 1 and 2 intra-op threads, and prints the decode tokens/s it allows.
 *
 *   node --import tsx bench/llm/weights-bandwidth.ts [--runs 30]
 *
 * Compare its ceiling with run.ts's decode tokens/s: a contender near the ceiling leaves no
 * faster float32 decode on this machine (only fewer bytes: int8 or int4 weights).
 */
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { buildModel } from '../../test/helpers/onnx-fixtures';
import { BENCH_SHAPE } from './folder';

const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const runs = flag('--runs', 30);

/** Weights one decode step reads (float32 elements): every layer's projections and the LM head. */
function stepWeights(s: typeof BENCH_SHAPE): number {
  const headDim = s.hidden / s.heads;
  const attention = 2 * s.hidden * s.heads * headDim + 2 * s.hidden * s.kvHeads * headDim;
  const mlp = 3 * s.hidden * s.intermediate;
  return s.layers * (attention + mlp) + s.modelVocab * s.hidden;
}

const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

async function main() {
  const k = BENCH_SHAPE.hidden;
  const n = Math.ceil(stepWeights(BENCH_SHAPE) / k);
  const bytes = k * n * 4;
  // Not constant-filled: a page of zeros could be shared by the OS and read from cache.
  const w = Float32Array.from({ length: k * n }, (_, i) => ((i * 2654435761) % 1000) / 1e6);
  const model = buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, k] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [1, n] }],
    nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    initializers: [{ name: 'w', dtype: 'float32', dims: [k, n], raw: new Uint8Array(w.buffer) }],
  });
  console.log(
    `one decode step's weights: ${(bytes / 1e6).toFixed(1)} MB (MatMul [1, ${k}] × [${k}, ${n}]); load ${load()}`,
  );
  console.log(
    '| intra-op threads | GEMV ms, median (min) | GB/s, median (best) | decode tok/s ceiling, median (best) |',
  );
  console.log('|---:|---:|---:|---:|');
  for (const threads of [1, 2]) {
    const session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
    const x = new ort.Tensor('float32', new Float32Array(k).fill(1), [1, k]);
    for (let i = 0; i < 5; i++) await session.run({ x });
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await session.run({ x });
      ms.push(performance.now() - t);
    }
    await session.release();
    ms.sort((a, b) => a - b);
    const med = ms[Math.floor(ms.length / 2)];
    const best = ms[0];
    const gbs = (t: number) => bytes / 1e9 / (t / 1000);
    console.log(
      `| ${threads} | ${med.toFixed(1)} (${best.toFixed(1)}) | ${gbs(med).toFixed(1)} (${gbs(best).toFixed(1)}) | ${(1000 / med).toFixed(1)} (${(1000 / best).toFixed(1)}) |`,
    );
  }
  console.log(`load ${load()}`);
}

void main();
