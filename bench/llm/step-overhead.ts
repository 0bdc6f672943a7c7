/**
 * Where a served decode step's time goes, without HTTP: the same greedy decode on the bench
 * folder (bench/llm/folder.ts) stepped four ways in one process, interleaved per round:
 *
 *   engine        EngineSession.run in this thread, KV fed back by hand (bench's maas-engine)
 *   engine-spin   the same with ORT's intra-op threads spinning between ops (its default)
 *   thread        ThreadedSession (the server's worker thread) with the KV kept in the thread
 *   thread-batch  the same through runBatch (continuous batching's one-row decode step)
 *
 *   node --import tsx bench/llm/step-overhead.ts [--steps 32] [--prompt 64] [--rounds 3]
 */
import os from 'node:os';
import { join } from 'node:path';
import { EngineSession } from '../../src/engine/index';
import { type Tensor, tensorFrom, zeros } from '../../src/engine/runtime/tensor';
import { ThreadedSession } from '../../src/platform/serving/threaded-session';
import { promptIds } from './contenders';
import { BENCH_SHAPE, benchFolder, MODEL_NAME, MODEL_ROOT } from './folder';

const s = BENCH_SHAPE;
const headDim = s.hidden / s.heads;
const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const steps = flag('--steps', 32);
const promptLength = flag('--prompt', 64);
const rounds = flag('--rounds', 3);

const feedback: Record<string, string> = {};
for (let i = 0; i < s.layers; i++) {
  feedback[`present.${i}.key`] = `past_key_values.${i}.key`;
  feedback[`present.${i}.value`] = `past_key_values.${i}.value`;
}
const emptyPast = () =>
  Object.fromEntries(Object.values(feedback).map((n) => [n, zeros('float32', [1, s.kvHeads, 0, headDim])]));
const argmaxLast = (logits: Tensor) => {
  const v = logits.dims[2];
  const d = (logits.data as Float32Array).subarray(logits.data.length - v);
  let best = 0;
  for (let i = 1; i < v; i++) if (d[i] > d[best]) best = i;
  return best;
};
const feedsFor = (ids: number[], past: number) => ({
  input_ids: tensorFrom('int64', [1, ids.length], ids),
  attention_mask: tensorFrom('int64', [1, past + ids.length], new Array(past + ids.length).fill(1)),
  position_ids: tensorFrom(
    'int64',
    [1, ids.length],
    ids.map((_, k) => past + k),
  ),
});

/** ms per decode step (after the prefill) for one way of stepping. */
type Way = (prompt: number[]) => Promise<number>;

function direct(session: EngineSession): Way {
  return async (prompt) => {
    let past: Record<string, Tensor> = emptyPast();
    let feed = prompt;
    let total = 0;
    let t0 = 0;
    for (let step = 0; step <= steps; step++) {
      if (step === 1) t0 = performance.now();
      const out = await session.run({ ...feedsFor(feed, total), ...past });
      total += feed.length;
      past = {};
      for (const [o, i] of Object.entries(feedback)) past[i] = out[o];
      feed = [argmaxLast(out.logits)];
    }
    return (performance.now() - t0) / steps;
  };
}

let sequenceId = 1;
function threaded(session: ThreadedSession, batched: boolean): Way {
  return async (prompt) => {
    const id = sequenceId++;
    const plan = { tokens: 'input_ids', attentionMask: 'attention_mask', shared: [], axis: 2 };
    let feed = prompt;
    let total = 0;
    let t0 = 0;
    for (let step = 0; step <= steps; step++) {
      if (step === 1) t0 = performance.now();
      const feeds: Record<string, Tensor> = { ...feedsFor(feed, total), ...(step === 0 ? emptyPast() : {}) };
      let logits: Tensor;
      if (batched && step > 0) {
        const { attention_mask: _m, ...rest } = feeds;
        [{ logits }] = await session.runBatch([{ id, feeds: rest }], feedback, plan, ['logits']);
      } else ({ logits } = await session.run(feeds, ['logits'], { id, feedback }));
      total += feed.length;
      feed = [argmaxLast(logits)];
    }
    session.closeSequence(id);
    return (performance.now() - t0) / steps;
  };
}

async function main() {
  await benchFolder((m) => console.error(m));
  const file = join(MODEL_ROOT, MODEL_NAME, 'onnx', 'model.onnx');
  const options = { intraOpThreads: 2, interOpThreads: 1 };
  const ways: Record<string, Way> = {
    engine: direct(await EngineSession.create(file, options)),
    'engine-spin': direct(await EngineSession.create(file, { ...options, allowSpinning: true })),
  };
  const thread = await ThreadedSession.create(file, options);
  ways.thread = threaded(thread, false);
  ways['thread-batch'] = threaded(thread, true);
  const prompt = promptIds(promptLength);
  const names = Object.keys(ways);
  const ms: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const cpu: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const w of names) await ways[w](prompt.slice(0, 8)); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const w of names.map((_, i) => names[(i + r) % names.length])) {
      // CPU time of every thread of this process (ORT's included), per step of the whole run.
      const c0 = process.cpuUsage();
      ms[w].push(await ways[w](prompt));
      const c = process.cpuUsage(c0);
      cpu[w].push((c.user + c.system) / 1000 / (steps + 1));
    }
    console.error(`round ${r + 1}: load ${os.loadavg()[0].toFixed(2)}`);
  }
  for (const w of names) {
    const sorted = [...ms[w]].sort((a, b) => a - b);
    const c = [...cpu[w]].sort((a, b) => a - b);
    console.log(
      `${w.padEnd(13)} wall ms/step median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} (${ms[w].map((x) => x.toFixed(1)).join(' ')}); cpu ms/run median ${c[Math.floor(c.length / 2)].toFixed(2)} (${cpu[w].map((x) => x.toFixed(1)).join(' ')})`,
    );
  }
  console.log(
    `load ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  await thread.release();
  process.exit(0);
}

void main();
