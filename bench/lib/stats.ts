/** Summary statistics of repeated measurements. Benchmarks report the median (robust to one noisy
 * repetition on a shared machine) with the min and max so the spread is visible. */

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error('summary of no values');
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

/** Ratio of medians, e.g. ours / PyTorch in steps/s: > 1 means faster than the baseline. */
export function ratio(value: Summary, baseline: Summary): number {
  return value.median / baseline.median;
}

/** Per-repetition ratios of interleaved pairs (rep i of A against rep i of B): their median is
 * less sensitive to slow drifts in machine load than the ratio of the two medians. */
export function pairedRatios(values: readonly number[], baseline: readonly number[]): number[] {
  const n = Math.min(values.length, baseline.length);
  return Array.from({ length: n }, (_, i) => values[i] / baseline[i]);
}
