/**
 * A/B of the serving-time projection fusion (src/engine/onnx/fuse.ts) on the bench folder
 * (bench/llm/folder.ts): the stored graph and the fused one loaded side by side in one process,
 * the same greedy decode stepped on each in turn, one step each alternately, so that a load
 * change on a shared machine hits both alike. Per step: wall ms and CPU ms of all threads
 * (process.cpuUsage: ORT's intra-op threads included; they sleep between runs, spinning off).
 * Checks that both produce the same greedy tokens.
 *
 *   node --import tsx bench/llm/fuse-ab.ts [--rows 1] [--steps 48] [--prompt 64] [--threads 2]
 *
 * `--rows 8` steps 8 identical rows together (continuous batching's decode step).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { EngineSession } from '../../src/engine/index';
import { fuseProjections } from '../../src/engine/onnx/fuse';
import { type Tensor, tensorFrom, zeros } from '../../src/engine/runtime/tensor';
import { promptIds } from './contenders';
import { BENCH_SHAPE, benchFolder, MODEL_NAME } from './folder';

const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const rows = flag('--rows', 1);
const steps = flag('--steps', 48);
const promptLength = flag('--prompt', 64);
const threads = flag('--threads', 2);
const s = BENCH_SHAPE;
const headDim = s.hidden / s.heads;

const repeat = (values: number[]) => Array.from({ length: rows }, () => values).flat();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Stepper {
  name: string;
  wall: number[];
  cpu: number[];
  tokens: number[];
  step(): Promise<void>;
}

function stepper(name: string, session: EngineSession): Stepper {
  let past: Record<string, Tensor> = {};
  for (let l = 0; l < s.layers; l++)
    for (const kv of ['key', 'value'])
      past[`past_key_values.${l}.${kv}`] = zeros('float32', [rows, s.kvHeads, 0, headDim]);
  let feed = promptIds(promptLength);
  let total = 0;
  const me: Stepper = {
    name,
    wall: [],
    cpu: [],
    tokens: [],
    async step() {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const out = await session.run({
        input_ids: tensorFrom('int64', [rows, feed.length], repeat(feed)),
        attention_mask: tensorFrom(
          'int64',
          [rows, total + feed.length],
          new Array(rows * (total + feed.length)).fill(1),
        ),
        position_ids: tensorFrom('int64', [rows, feed.length], repeat(feed.map((_, k) => total + k))),
        ...past,
      });
      const wall = performance.now() - t0;
      const c = process.cpuUsage(cpu0);
      if (total > 0) {
        me.wall.push(wall);
        me.cpu.push((c.user + c.system) / 1000);
      }
      total += feed.length;
      past = {};
      for (let l = 0; l < s.layers; l++)
        for (const kv of ['key', 'value']) past[`past_key_values.${l}.${kv}`] = out[`present.${l}.${kv}`];
      const logits = out.logits.data as Float32Array;
      const v = s.modelVocab;
      let best = 0;
      for (let i = 1; i < v; i++)
        if (logits[logits.length - v + i] > logits[logits.length - v + best]) best = i;
      me.tokens.push(best);
      feed = [best];
    },
  };
  return me;
}

async function main() {
  const dir = await benchFolder((m) => console.error(m));
  const stored: Uint8Array = readFileSync(join(dir, 'onnx', 'model.onnx'));
  const t0 = performance.now();
  const fused = fuseProjections(stored);
  if (!fused) throw new Error('nothing fused');
  console.error(
    `fused ${fused.report.nodes} MatMuls into ${fused.report.groups} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const options = { intraOpThreads: threads, interOpThreads: 1 };
  const a = stepper('stored', await EngineSession.create(stored, options));
  const b = stepper('fused', await EngineSession.create(fused.model, options));
  const load0 = os.loadavg()[0];
  for (let i = 0; i <= steps; i++) {
    // Alternate which goes first so that neither always follows the other's cache effects.
    const [x, y] = i % 2 === 0 ? [a, b] : [b, a];
    await x.step();
    await y.step();
  }
  const same = a.tokens.every((t, i) => t === b.tokens[i]);
  console.log(
    `${MODEL_NAME}, rows ${rows}, prompt ${promptLength}, ${steps} decode steps each, ${threads} intra-op threads, load ${load0.toFixed(2)} → ${os.loadavg()[0].toFixed(2)}; same greedy tokens: ${same}`,
  );
  console.log('| graph | wall ms/step (median) | CPU ms/step (median) | CPU ms/step (mean) |');
  console.log('|---|---:|---:|---:|');
  for (const r of [a, b]) {
    const mean = r.cpu.reduce((x, y) => x + y, 0) / r.cpu.length;
    console.log(
      `| ${r.name} | ${median(r.wall).toFixed(2)} | ${median(r.cpu).toFixed(2)} | ${mean.toFixed(2)} |`,
    );
  }
}

void main();
