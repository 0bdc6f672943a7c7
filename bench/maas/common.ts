/** What every maas recipe shares: the benchmarks' init scheme, the fixed synthetic batch, the ORT
 * session options read from the shape args, and the timing loop around a compiled train step. */

import type { Parameter } from '../../src/engine/ir/types';
import type { GraphOptimization, SessionOptions } from '../../src/engine/runtime/session';
import { spinWhileRunning } from '../../src/engine/runtime/spinning';
import { type Tensor, tensorFrom } from '../../src/engine/runtime/tensor';
import type { TrainStep } from '../../src/engine/train/compile';
import * as nn from '../../src/nn/index';
import type { ContenderOutput, ShapeArgs } from '../lib/contender';
import { measureSteps, num, timingOptions, trainResult } from '../lib/measure';

export const VERSION = 'maas engine, onnxruntime-node 1.30.0';

/** The train benchmarks' init (bench/peers/_torch_common.py init_glorot_): Glorot-uniform for every
 * tensor of rank ≥ 2 with PyTorch's fans (conv [out, in, k, k]: fan_in = in·k², fan_out = out·k²;
 * our dense W is [in, out], so fan_in = dims[0]), zeros for rank-1 tensors (biases). */
export function glorotZeroBias(params: readonly Parameter[], rng: nn.Rng): void {
  for (const p of params) {
    const dims = p.value.dims;
    if (dims.length < 2) {
      p.value = { dtype: 'float32', dims, data: new Float32Array(dims[0] ?? 1) };
      continue;
    }
    const receptive = dims.slice(2).reduce((a, b) => a * b, 1);
    const conv = dims.length > 2;
    const fanIn = (conv ? dims[1] : dims[0]) * receptive;
    const fanOut = (conv ? dims[0] : dims[1]) * receptive;
    p.value = { dtype: 'float32', dims, data: nn.xavierUniform(rng, dims, fanIn, fanOut) };
  }
}

/** One fixed seeded batch as the peers: pixels uniform in [0, 1), labels uniform over the classes. */
export function syntheticBatch(rng: nn.Rng, xDims: number[], classes: number): Record<string, Tensor> {
  const n = xDims.reduce((a, b) => a * b, 1);
  return {
    x: tensorFrom(
      'float32',
      xDims,
      Array.from({ length: n }, () => rng.next()),
    ),
    y: tensorFrom(
      'int64',
      [xDims[0]],
      Array.from({ length: xDims[0] }, () => rng.int(classes)),
    ),
  };
}

const LEVELS: readonly GraphOptimization[] = ['disabled', 'basic', 'extended', 'all'];

/** Session options from the args (`intra_threads`, `inter_threads`, `graph_opt`, `spin` 0|1,
 * `spin_us`: at most that many µs per wait; alone, spin only while a run is in progress; with
 * `spin` 1, also in the gaps between runs), so
 * they can be compared from the command line without editing a recipe. Default: the engine's (2
 * intra-op threads, 1 inter-op, `extended`) with spinning off. */
export function sessionOptions(args: ShapeArgs): SessionOptions {
  const options: SessionOptions = { intraOpThreads: num(args, 'intra_threads', 2) };
  if (args.inter_threads !== undefined) options.interOpThreads = num(args, 'inter_threads', 1);
  if (args.graph_opt !== undefined) {
    const level = String(args.graph_opt) as GraphOptimization;
    if (!LEVELS.includes(level)) throw new Error(`graph_opt must be one of ${LEVELS.join(', ')}`);
    options.graphOptimization = level;
  }
  // Spinning off by default: on the loaded shared machine ORT's spin-waiting intra-op threads took
  // the MLP from 300-580 to 88-165 steps/s and the CNN from 50-107 to 21-28, measured back to back
  // (the same collapse as torch's OMP spinning, which its peers avoid with OMP_WAIT_POLICY=PASSIVE).
  options.allowSpinning = num(args, 'spin', 0) === 1;
  // Bounded spinning, as the server's --intra-op-spin-us: the second intra-op thread busy-waits
  // between the ops of one step (no futex wake per GEMM) and sleeps as soon as the step returns.
  const spinMicros = num(args, 'spin_us', 0);
  if (spinMicros > 0 && options.allowSpinning) options.spinMicros = spinMicros;
  else if (spinMicros > 0) Object.assign(options, spinWhileRunning(spinMicros));
  return options;
}

/** Times `trainer.step(batch, lr)` (the loss is read back every step) and shapes the JSON line. */
export async function timeTrainer(
  trainer: TrainStep,
  batch: Record<string, Tensor>,
  args: ShapeArgs,
  info: {
    batchSize: number;
    lr: number;
    flops: number;
    /** Language models: tokens per sample, for tokens_per_s. */
    tokensPerSample?: number;
    extra: Record<string, unknown>;
  },
): Promise<ContenderOutput> {
  const session = sessionOptions(args);
  const timing = await measureSteps(
    async () => (await trainer.step(batch, info.lr)).loss,
    timingOptions(args),
  );
  await trainer.release();
  const result = trainResult(timing, info.batchSize, info.flops, {
    threads: session.intraOpThreads,
    version: VERSION,
    params: trainer.paramCount,
    ...info.extra,
  });
  if (info.tokensPerSample) result.tokens_per_s = result.samples_per_s * info.tokensPerSample;
  return result;
}
