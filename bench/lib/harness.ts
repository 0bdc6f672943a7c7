/** Runs a benchmark: every contender in its own child process, interleaved round by round
 * (A B C, then B C A, ...: the start rotates so no contender always follows the same neighbour),
 * warm-up rounds discarded, then >= 5 measured rounds summarised as median / min / max. */

import os from 'node:os';
import {
  type Contender,
  type ContenderOutput,
  isUnsupported,
  type ProcessSpec,
  type ShapeArgs,
  type TrainResult,
} from './contender';
import { type FmaCeiling, fmaCeiling } from './fma-ceiling';
import { pairedRatios, ratio, type Summary, summarize } from './stats';

export type Metric = 'steps_per_s' | 'tokens_per_s' | 'samples_per_s';

/** What one step and one sample are, for the column headers: a train step over a batch of
 * samples by default; an HTTP request producing texts or images for the serving benchmarks. */
export interface Units {
  step: string;
  sample: string;
}

export interface Benchmark {
  name: string;
  title: string;
  /** Lines printed under the table: what is measured, data, init, anything a reader must know. */
  notes: string[];
  /** The figure the contenders are ranked by. */
  metric: Metric;
  /** Default: `{ step: 'step', sample: 'sample' }`. */
  units?: Units;
  /** Shape and hyperparameters every contender receives (a contender's own args override). */
  shape: ShapeArgs;
  /** Our own FLOP count of one step for the merged args (bench/lib/flops.ts). */
  flops(args: ShapeArgs): number;
  /** Name of the contender the ratios are taken against. */
  baseline: string;
  /** A second reference: each other row's ratio to it goes into the notes (median, per-round range). */
  alsoAgainst?: string;
  contenders: Contender[];
  /** Cross-checks over the last output of each contender (e.g. identical generated tokens). */
  check?(outputs: ReadonlyMap<string, TrainResult>): string[];
}

export interface RunOptions {
  reps: number;
  warmupRounds: number;
  /** Seconds each contender times per repetition (after its own warm-up steps). */
  minSeconds: number;
  timeoutMs: number;
  /** Runs one contender process; injected so the harness itself can be tested without peers. */
  runProcess(spec: ProcessSpec, timeoutMs: number): Promise<ContenderOutput>;
  log(line: string): void;
  /** The FMA peak for the GFLOP/s shares; default: measured on this machine (fma-ceiling.ts). */
  ceiling?: FmaCeiling;
}

export interface ContenderReport {
  name: string;
  label: string;
  args: ShapeArgs;
  status: 'ok' | 'unsupported' | 'failed';
  reason?: string;
  /** The metric of each measured repetition, in run order. */
  values: number[];
  /** Steps/s of each measured repetition (for GFLOP/s and samples/s when the metric is tokens/s). */
  stepsPerS: number[];
  /** 1-minute load average after each measured repetition: the machine is shared, so a low
   * figure next to a high load is noise, not the contender. */
  loadAverage: number[];
  metric?: Summary;
  samplesPerS?: Summary;
  /** Median of this contender over the baseline's median; > 1 = faster. */
  ratio?: number;
  /** Spread of the per-round ratios (round i against round i of the baseline). */
  pairedRatio?: Summary;
  flopsPerStep: number;
  flopsReported?: number;
  gflops?: number;
  ceilingShare?: number;
  last?: TrainResult;
}

export interface BenchReport {
  name: string;
  title: string;
  metric: Metric;
  units: Units;
  shape: ShapeArgs;
  baseline: string;
  reps: number;
  warmupRounds: number;
  minSeconds: number;
  contenders: ContenderReport[];
  notes: string[];
  /** The fp32 FMA peak the GFLOP/s shares are of. */
  ceiling: FmaCeiling;
}

export async function runBenchmark(bench: Benchmark, options: RunOptions): Promise<BenchReport> {
  // Measured before any contender runs, so that nothing shares the cores with it.
  const ceiling = options.ceiling ?? fmaCeiling();
  const rows = bench.contenders.map((c) => newRow(bench, c));
  const rounds = options.warmupRounds + options.reps;
  for (let round = 0; round < rounds; round++) {
    const measured = round >= options.warmupRounds;
    for (let k = 0; k < bench.contenders.length; k++) {
      const index = (round + k) % bench.contenders.length;
      const row = rows[index];
      if (row.status !== 'ok') continue;
      const label = measured ? `rep ${round - options.warmupRounds + 1}` : `warm-up ${round + 1}`;
      await runOnce(bench.contenders[index], row, { measured, label, metric: bench.metric }, options);
    }
  }
  return finish(bench, rows, options, ceiling);
}

function ratiosAgainst(rows: ContenderReport[], reference: string | undefined, baseline: string): string[] {
  const ref = rows.find((r) => r.name === reference);
  if (!ref?.metric) return [];
  return rows
    .filter((row) => row.metric && row !== ref && row.name !== baseline)
    .map((row) => {
      const perRound = summarize(pairedRatios(row.values, ref.values));
      const median = ratio(row.metric!, ref.metric!).toFixed(2);
      return `${row.name} × ${ref.name}: ${median}× (per round ${perRound.min.toFixed(2)}–${perRound.max.toFixed(2)}).`;
    });
}

function newRow(bench: Benchmark, contender: Contender): ContenderReport {
  const args = { ...bench.shape, ...contender.args };
  return {
    name: contender.name,
    label: contender.label,
    args,
    status: 'ok',
    values: [],
    stepsPerS: [],
    loadAverage: [],
    flopsPerStep: bench.flops(args),
  };
}

async function runOnce(
  contender: Contender,
  row: ContenderReport,
  at: { measured: boolean; label: string; metric: Metric },
  options: RunOptions,
): Promise<void> {
  const { measured } = at;
  const args = { min_seconds: options.minSeconds, ...row.args };
  const tag = `${at.label} ${contender.name}`;
  try {
    const output = await options.runProcess(contender.spec(args), options.timeoutMs);
    if (isUnsupported(output)) {
      row.status = 'unsupported';
      row.reason = output.unsupported;
      options.log(`  ${tag}: unsupported (${output.unsupported})`);
      return;
    }
    row.last = output;
    const value = metricOf(output, at.metric);
    if (measured) {
      row.values.push(value);
      row.stepsPerS.push(output.steps_per_s);
      row.loadAverage.push(Number(os.loadavg()[0].toFixed(2)));
    }
    options.log(
      `  ${tag}: ${value.toFixed(2)} loss ${output.loss_first.toFixed(3)} -> ${output.loss_last.toFixed(3)}`,
    );
  } catch (error) {
    row.status = 'failed';
    row.reason = error instanceof Error ? error.message : String(error);
    options.log(`  ${tag}: FAILED ${row.reason}`);
  }
}

function metricOf(output: TrainResult, metric: Metric): number {
  const value = output[metric];
  if (typeof value !== 'number') throw new Error(`contender output lacks ${metric}`);
  return value;
}

function finish(
  bench: Benchmark,
  rows: ContenderReport[],
  options: RunOptions,
  ceiling: FmaCeiling,
): BenchReport {
  for (const row of rows) {
    if (row.values.length === 0) continue;
    row.metric = summarize(row.values);
    const last = row.last!;
    const samplesPerStep = last.samples_per_s / last.steps_per_s;
    row.samplesPerS = summarize(row.stepsPerS.map((v) => v * samplesPerStep));
    row.flopsReported = last.flops_per_step;
    row.gflops = (summarize(row.stepsPerS).median * row.flopsPerStep) / 1e9;
    row.ceilingShare = row.gflops / ceiling.gflops;
  }
  const base = rows.find((r) => r.name === bench.baseline);
  const notes = [...bench.notes];
  for (const row of rows) {
    if (base?.metric && row.metric) {
      row.ratio = ratio(row.metric, base.metric);
      row.pairedRatio = summarize(pairedRatios(row.values, base.values));
    }
    const reported = row.flopsReported;
    if (reported !== undefined && Math.abs(reported - row.flopsPerStep) > 0.01 * row.flopsPerStep) {
      notes.push(`${row.name} counts ${reported} FLOPs per step, the harness ${row.flopsPerStep}.`);
    }
  }
  notes.push(...ratiosAgainst(rows, bench.alsoAgainst, bench.baseline));
  if (bench.check) {
    const outputs = new Map(rows.filter((r) => r.last).map((r) => [r.name, r.last!]));
    notes.push(...bench.check(outputs));
  }
  return {
    name: bench.name,
    title: bench.title,
    metric: bench.metric,
    units: bench.units ?? { step: 'step', sample: 'sample' },
    shape: bench.shape,
    baseline: bench.baseline,
    reps: options.reps,
    warmupRounds: options.warmupRounds,
    minSeconds: options.minSeconds,
    contenders: rows,
    notes,
    ceiling,
  };
}
