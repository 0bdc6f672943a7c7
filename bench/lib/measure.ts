/** The timing loop for TypeScript contenders; the same rules as bench/peers/_torch_common.py so the
 * figures compare: `warmup` untimed steps (the first one's loss is loss_first), then timed steps until
 * both `min_steps` and `min_seconds` are reached. */

import type { ShapeArgs, TrainResult } from './contender';

export interface TimingOptions {
  warmup: number;
  minSeconds: number;
  minSteps: number;
}

export interface Timing {
  steps: number;
  seconds: number;
  loss_first: number;
  loss_last: number;
  /** CPU time of the whole process (all threads) per timed step, in ms: the figure a loaded
   * machine moves least (steps/s follows the process's share of the cores). */
  cpu_ms_per_step: number;
}

export function timingOptions(args: ShapeArgs): TimingOptions {
  return {
    warmup: num(args, 'warmup', 5),
    minSeconds: num(args, 'min_seconds', 2),
    minSteps: num(args, 'min_steps', 5),
  };
}

/** Reads a numeric argument (numbers may arrive as strings from a command line). */
export function num(args: ShapeArgs, name: string, fallback: number): number {
  const value = args[name];
  if (value === undefined) return fallback;
  const parsed = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(parsed)) throw new Error(`argument ${name} is not a number: ${value}`);
  return parsed;
}

/** step() runs one whole train step and resolves to its loss, read back to JS (which also syncs). */
export async function measureSteps(
  step: () => Promise<number> | number,
  options: TimingOptions,
): Promise<Timing> {
  const lossFirst = await step();
  for (let i = 1; i < options.warmup; i++) await step();
  let steps = 0;
  let lossLast = lossFirst;
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  let seconds = 0;
  while (steps < options.minSteps || seconds < options.minSeconds) {
    lossLast = await step();
    steps++;
    seconds = Number(process.hrtime.bigint() - start) / 1e9;
  }
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000 / steps;
  return { steps, seconds, loss_first: lossFirst, loss_last: lossLast, cpu_ms_per_step: cpuMs };
}

export function trainResult(
  timing: Timing,
  batch: number,
  flopsPerStep: number,
  extra: Record<string, unknown>,
): TrainResult {
  const stepsPerS = timing.steps / timing.seconds;
  return {
    steps_per_s: stepsPerS,
    samples_per_s: stepsPerS * batch,
    loss_first: timing.loss_first,
    loss_last: timing.loss_last,
    flops_per_step: flopsPerStep,
    steps: timing.steps,
    seconds: timing.seconds,
    cpu_ms_per_step: timing.cpu_ms_per_step,
    ...extra,
  };
}
