/**
 * Where a served decode step's time goes, without HTTP: the same greedy decode on the bench
 * folder (bench/llm/folder.ts) stepped four ways in one process, interleaved per round:
 *
 *   engine        EngineSession.run in this thread, KV fed back by hand (bench's maas-engine)
 *   engine-spin   the same with ORT's intra-op threads spinning between ops (its default)
 *   engine-spin-run  spinning only while a run is in progress (`spinOnlyWhileRunning`)
 *   engine-spin-N    the same, each spin bounded to N µs (`spinMicros`), e.g. engine-spin-100
 *   thread-batch-spin-N  thread-batch on a session spinning up to N µs while it runs
 *   thread        ThreadedSession (the server's worker thread) with the KV kept in the thread
 *   thread-batch  the same through runBatch (continuous batching's one-row decode step)
 *   thread-batch-spin-run  thread-batch on a session spinning only while it runs
 *
 *   node --import tsx bench/llm/step-overhead.ts [--steps 32] [--prompt 64] [--rounds 3]
 *     [--fuse 1] [--ways engine,thread-batch,...]
 *
 * `--fuse 1` loads every session with the projections fused, as the server does.
 */
import os from 'node:os';
import { join } from 'node:path';
import { EngineSession, type SessionOptions } from '../../src/engine/index';
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
const fuse = flag('--fuse', 0) === 1;
const waysFlag = process.argv.indexOf('--ways');
const only = waysFlag >= 0 ? new Set(process.argv[waysFlag + 1].split(',')) : null;

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
  const options = { intraOpThreads: 2, interOpThreads: 1, fuseProjections: fuse };
  const spinRun = { ...options, allowSpinning: true, spinOnlyWhileRunning: true };
  const wanted = (name: string) => !only || only.has(name);
  const ways: Record<string, Way> = {};
  const threads: ThreadedSession[] = [];
  const inThread = async (o: SessionOptions) => {
    const t = await ThreadedSession.create(file, o);
    threads.push(t);
    return t;
  };
  if (wanted('engine')) ways.engine = direct(await EngineSession.create(file, options));
  if (wanted('engine-spin'))
    ways['engine-spin'] = direct(await EngineSession.create(file, { ...options, allowSpinning: true }));
  if (wanted('engine-spin-run')) ways['engine-spin-run'] = direct(await EngineSession.create(file, spinRun));
  for (const name of only ?? []) {
    const micros = /^engine-spin-(\d+)$/.exec(name)?.[1];
    if (micros)
      ways[name] = direct(await EngineSession.create(file, { ...spinRun, spinMicros: Number(micros) }));
    const threadMicros = /^thread-batch-spin-(\d+)$/.exec(name)?.[1];
    if (threadMicros)
      ways[name] = threaded(await inThread({ ...spinRun, spinMicros: Number(threadMicros) }), true);
  }
  if (wanted('thread') || wanted('thread-batch')) {
    const thread = await inThread(options);
    if (wanted('thread')) ways.thread = threaded(thread, false);
    if (wanted('thread-batch')) ways['thread-batch'] = threaded(thread, true);
  }
  if (wanted('thread-batch-spin-run'))
    ways['thread-batch-spin-run'] = threaded(await inThread(spinRun), true);
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
  for (const t of threads) await t.release();
  process.exit(0);
}

void main();
