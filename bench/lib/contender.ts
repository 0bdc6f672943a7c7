/** The contract between the harness and everything it measures. A contender runs as a child process
 * (so its thread pools do not fight the harness or each other) and prints ONE JSON line on stdout,
 * the last line, e.g.
 *   {"steps_per_s":612.3,"samples_per_s":39187,"loss_first":2.37,"loss_last":0.61,
 *    "flops_per_step":103219200,"threads":2,"version":"torch 1.13.0a0"}
 * or, when it cannot run that model at all, {"unsupported":"why","version":"..."}. */

/** Shape and hyperparameter arguments, passed as `--name value` (Python) or as one JSON object. */
export type ShapeArgs = Record<string, number | string>;

export interface TrainResult {
  steps_per_s: number;
  samples_per_s: number;
  loss_first: number;
  loss_last: number;
  /** Matmul/conv FLOPs of one step (forward x 3 rule for training), as the contender counts them. */
  flops_per_step: number;
  tokens_per_s?: number;
  threads?: number;
  version?: string;
  [extra: string]: unknown;
}

export interface Unsupported {
  unsupported: string;
  version?: string;
}

export type ContenderOutput = TrainResult | Unsupported;

/** What a TypeScript contender module exports (the TF.js peers, and maas's engine in bench/maas/).
 * bench/lib/child.ts imports it in a fresh process and prints what run() resolves to. */
export interface ContenderModule {
  run(args: ShapeArgs): Promise<ContenderOutput>;
}

/** How to start one contender: a command line and extra environment, built from the shape args. */
export interface ProcessSpec {
  command: string;
  argv: string[];
  env: Record<string, string>;
}

export interface Contender {
  /** Row key, unique within a benchmark, e.g. `torch`, `tfjs-cpu`, `maas`. */
  name: string;
  /** What the reader sees in the table, e.g. `PyTorch 1.13 (2 threads, OpenBLAS)`. */
  label: string;
  /** Arguments merged over the benchmark's shape for this contender only (e.g. `{cache: 0}`). */
  args?: ShapeArgs;
  spec(args: ShapeArgs): ProcessSpec;
}

export function isUnsupported(output: ContenderOutput): output is Unsupported {
  return typeof (output as Unsupported).unsupported === 'string';
}

/** Parses a contender's stdout: the last non-empty line must be a JSON object of the contract. */
export function parseOutput(stdout: string): ContenderOutput {
  const lines = stdout.split('\n').filter((line) => line.trim() !== '');
  const last = lines.at(-1);
  if (last === undefined) throw new Error('contender printed nothing');
  const value: unknown = JSON.parse(last);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`contender's last line is not a JSON object: ${last.slice(0, 200)}`);
  }
  const record = value as Record<string, unknown>;
  if (typeof record.unsupported === 'string') return record as unknown as Unsupported;
  for (const key of ['steps_per_s', 'samples_per_s', 'loss_first', 'loss_last', 'flops_per_step']) {
    if (typeof record[key] !== 'number' || !Number.isFinite(record[key])) {
      throw new Error(`contender output lacks a finite number "${key}": ${last.slice(0, 200)}`);
    }
  }
  return record as TrainResult;
}
