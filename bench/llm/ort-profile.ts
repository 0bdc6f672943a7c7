/**
 * Where one decode step's time goes inside ONNX Runtime, by operator type: the bench folder
 * (bench/llm/folder.ts) prefilled with a prompt, then greedy decode steps with ORT's profiler on
 * (2 intra-op threads, spinning off, as maas serves). Prints the share of node time per op type,
 * summed over the decode steps only, and per step.
 *
 *   node --import tsx bench/llm/ort-profile.ts [--prompt 64] [--steps 32] [--rows 1] [--model FILE]
 *
 * `--rows 8` steps 8 identical rows together, as continuous batching does; `--model FILE` profiles
 * another graph of the same signature (e.g. one written by src/engine/onnx/fuse.ts).
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { promptIds } from './contenders';
import { BENCH_SHAPE, benchFolder, MODEL_NAME, MODEL_ROOT } from './folder';

const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const promptLength = flag('--prompt', 64);
const steps = flag('--steps', 32);
const rows = flag('--rows', 1);
const modelFlag = process.argv.indexOf('--model');
const s = BENCH_SHAPE;
const headDim = s.hidden / s.heads;

const i64 = (values: number[], dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(values, BigInt), dims);
const repeat = (values: number[]) => Array.from({ length: rows }, () => values).flat();

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

async function main() {
  await benchFolder((m) => console.error(m));
  const stem = `maas-ort-profile-${process.pid}`;
  const prefix = join(os.tmpdir(), stem);
  const modelFile =
    modelFlag >= 0 ? process.argv[modelFlag + 1] : join(MODEL_ROOT, MODEL_NAME, 'onnx', 'model.onnx');
  const session = await ort.InferenceSession.create(modelFile, {
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    enableProfiling: true,
    profileFilePrefix: prefix,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  let past: Record<string, ort.Tensor> = {};
  for (let l = 0; l < s.layers; l++)
    for (const kv of ['key', 'value'])
      past[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [
        rows,
        s.kvHeads,
        0,
        headDim,
      ]);
  let feed = promptIds(promptLength);
  let total = 0;
  let cpuFrom = process.cpuUsage();
  for (let step = 0; step <= steps; step++) {
    if (step === 1) cpuFrom = process.cpuUsage(); // decode steps only
    const out = await session.run({
      input_ids: i64(repeat(feed), [rows, feed.length]),
      attention_mask: i64(new Array(rows * (total + feed.length)).fill(1), [rows, total + feed.length]),
      position_ids: i64(repeat(feed.map((_, k) => total + k)), [rows, feed.length]),
      ...past,
    });
    total += feed.length;
    past = {};
    for (let l = 0; l < s.layers; l++)
      for (const kv of ['key', 'value'])
        past[`past_key_values.${l}.${kv}`] = out[`present.${l}.${kv}`] as ort.Tensor;
    const logits = (out.logits as ort.Tensor).data as Float32Array;
    const v = s.modelVocab;
    let best = 0;
    for (let i = 1; i < v; i++)
      if (logits[logits.length - v + i] > logits[logits.length - v + best]) best = i;
    feed = [best];
  }
  const cpu = process.cpuUsage(cpuFrom);
  session.endProfiling(); // writes <prefix>_<date>.json
  const name = (await readdir(os.tmpdir())).find((f) => f.startsWith(stem) && f.endsWith('.json'));
  if (!name) throw new Error('ORT wrote no profile');
  const file = join(os.tmpdir(), name);
  const events = JSON.parse(await readFile(file, 'utf8')) as ProfileEvent[];
  await rm(file, { force: true });
  // A run's node events come before its model_run event: the first model_run closes the prefill.
  const byOp = new Map<string, number>();
  let seen = 0;
  let runTotal = 0;
  for (const e of events) {
    if (e.cat === 'Session' && e.name === 'model_run') {
      if (seen > 0) runTotal += e.dur;
      seen++;
      continue;
    }
    if (seen === 0) continue; // the prefill's nodes (before the first model_run event ends)
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? '?';
    byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
  }
  const nodeTotal = [...byOp.values()].reduce((a, b) => a + b, 0);
  console.log(
    `rows ${rows}, prompt ${promptLength}, ${steps} decode steps, load ${os.loadavg()[0].toFixed(2)}`,
  );
  console.log(
    `decode: ${(runTotal / steps / 1000).toFixed(2)} ms per run (ORT's model_run), nodes ${(nodeTotal / steps / 1000).toFixed(2)} ms; CPU of all threads ${((cpu.user + cpu.system) / 1000 / steps).toFixed(2)} ms per step`,
  );
  for (const [op, us] of [...byOp.entries()].sort((a, b) => b[1] - a[1]).slice(0, 14))
    console.log(
      `  ${op.padEnd(22)} ${((100 * us) / nodeTotal).toFixed(1).padStart(5)} %  ${(us / steps / 1000).toFixed(2)} ms/step`,
    );
  await session.release();
}

void main();
