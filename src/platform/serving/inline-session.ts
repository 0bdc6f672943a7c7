/**
 * Small models run on the server's own thread. A batch-1 request to a small model spends more of
 * its time handing the run to the model's worker thread and back (two `postMessage` calls, two
 * thread wake-ups, a clone of the inputs each way) than in ONNX Runtime: on an idle 2-core VM the
 * hop was ≈ 0.2 ms of a 0.7 ms `/v2` request (bench/serve/latency.ts, interleaved A/B).
 *
 * A run on the server's thread blocks every other request for its whole length, so a run goes
 * there only when it is known to be short:
 * - the model file is small (`maxBytes`), has no external data, and its cost follows from its
 *   input shapes (`costFollowsShapes`: no control flow, no sizes taken from values);
 * - the run's input shapes were measured first on the worker thread (`JUDGE_RUNS` runs, the
 *   fastest at most `maxRunMs`), so a request with new, larger shapes never blocks the loop;
 * - runs at those shapes keep being timed, and once the fastest of the last `WINDOW_RUNS` passes
 *   `maxRunMs` that shape goes back to the worker for good.
 * While other requests wait for the model (`hints.contended`), runs use the worker thread too: the
 * model then runs beside the API thread admitting them instead of holding it (a light tenant's p99
 * beside a flood on 2 cores was 1.86–1.97× idle with in-thread runs, 1.26–1.30× on the worker:
 * bench/serve/fairness.ts). Sequences (their state lives in the worker) and batched decode steps
 * always use the worker. The in-thread session has one intra-op thread: a second one would be
 * woken for each parallel op of a batch-1 run.
 *
 * Times are the fastest of several runs, not their mean: on a loaded machine a run's wall time also
 * counts the time its thread waited for a core, and a mean sent every run of a 0.03 ms model back
 * to the worker within seconds.
 */
import { readFile, stat } from 'node:fs/promises';
import {
  type BatchPlan,
  costFollowsShapes,
  EngineSession,
  type Feedback,
  type SessionOptions,
} from '../../engine/index';
import type { Tensor } from '../../engine/runtime/tensor';
import type { BatchRow } from './decode-batch';
import { type ModelSession, type RunHints, type SequenceStep, ThreadedSession } from './threaded-session';

export interface InlineLimits {
  /** Largest model file (bytes) that also gets an in-thread session. */
  maxBytes: number;
  /** Run time (ms, the fastest of recent runs) above which a shape's runs stay on the worker thread. */
  maxRunMs: number;
}

/** 1 MiB of weights and 1 ms: a run that short blocks other requests less than a thread hop costs them. */
export const DEFAULT_INLINE_LIMITS: InlineLimits = { maxBytes: 1024 * 1024, maxRunMs: 1 };

/** Worker-thread runs of a new input shape measured before it may run here. */
const JUDGE_RUNS = 3;
/** The fastest of this many recent in-thread runs of a shape is its cost. */
const WINDOW_RUNS = 10;
/** Input shapes tracked per model; runs at further shapes use the worker thread. */
const MAX_SHAPES = 32;

/** What is known of the runs at one set of input shapes. */
interface ShapeRecord {
  /** `judging` on the worker thread, then `inline` or (for good) `worker`. */
  place: 'judging' | 'inline' | 'worker';
  /** Wall times (ms) of the latest runs, at most WINDOW_RUNS (emptied once judged). */
  recent: number[];
}

function shapeKey(feeds: Record<string, Tensor>, outputs?: readonly string[]): string {
  let key = outputs ? outputs.join(',') : '';
  for (const name in feeds) key += `|${name}:${feeds[name].dims.join('x')}`;
  return key;
}

export class InlineFirstSession implements ModelSession {
  private readonly shapes = new Map<string, ShapeRecord>();
  /** Runs made on this (the API) thread so far. */
  inThreadRuns = 0;

  private constructor(
    private readonly threaded: ThreadedSession,
    private local: EngineSession | null,
    private readonly maxRunMs: number,
  ) {}

  /** The worker-thread session, plus an in-thread one when the model qualifies (file comment). */
  static async create(
    path: string,
    options: SessionOptions,
    limits: InlineLimits = DEFAULT_INLINE_LIMITS,
  ): Promise<ModelSession> {
    const threaded = await ThreadedSession.create(path, options);
    if ((await stat(path)).size > limits.maxBytes) return threaded;
    try {
      if (!costFollowsShapes(await readFile(path))) return threaded;
      const local = await EngineSession.create(path, { ...options, intraOpThreads: 1 });
      return new InlineFirstSession(threaded, local, limits.maxRunMs);
    } catch {
      return threaded;
    }
  }

  get inputs() {
    return this.threaded.inputs;
  }

  get outputs() {
    return this.threaded.outputs;
  }

  /** The worker thread's liveness: sequences and unjudged shapes need it even while others run here. */
  get alive(): boolean {
    return this.threaded.alive;
  }

  /** Whether any input shape's runs go to the in-thread session now. */
  get inline(): boolean {
    return this.local !== null && [...this.shapes.values()].some((r) => r.place === 'inline');
  }

  async run(
    feeds: Record<string, Tensor>,
    outputs?: readonly string[],
    sequence?: SequenceStep,
    hints?: RunHints,
  ): Promise<Record<string, Tensor>> {
    const local = this.local;
    const record = sequence || !local ? undefined : this.recordFor(feeds, outputs);
    // While requests wait, the worker thread runs the model beside the API thread parsing them.
    if (!record || record.place === 'worker' || (record.place === 'inline' && hints?.contended))
      return this.threaded.run(feeds, outputs, sequence);
    const started = performance.now();
    try {
      if (record.place !== 'inline') return await this.threaded.run(feeds, outputs);
      this.inThreadRuns++;
      return await local!.run(feeds, outputs);
    } finally {
      this.observe(record, performance.now() - started);
    }
  }

  /** Where runs at these input shapes go now; undefined for shapes not seen yet. */
  placeOf(feeds: Record<string, Tensor>, outputs?: readonly string[]): ShapeRecord['place'] | undefined {
    return this.shapes.get(shapeKey(feeds, outputs))?.place;
  }

  /** The record of these input shapes (and outputs), new ones while fewer than MAX_SHAPES are kept. */
  private recordFor(feeds: Record<string, Tensor>, outputs?: readonly string[]): ShapeRecord | undefined {
    const key = shapeKey(feeds, outputs);
    let record = this.shapes.get(key);
    if (!record && this.shapes.size < MAX_SHAPES) {
      record = { place: 'judging', recent: [] };
      this.shapes.set(key, record);
    }
    return record;
  }

  /** Keep the latest run times; judge a shape after its worker runs, then after each window. */
  private observe(record: ShapeRecord, ms: number): void {
    record.recent.push(ms);
    if (record.recent.length > WINDOW_RUNS) record.recent.shift();
    const fastest = Math.min(...record.recent);
    if (record.place === 'judging' && record.recent.length >= JUDGE_RUNS) {
      record.place = fastest <= this.maxRunMs ? 'inline' : 'worker';
      record.recent = [];
    } else if (record.place === 'inline' && record.recent.length === WINDOW_RUNS && fastest > this.maxRunMs) {
      record.place = 'worker';
    }
  }

  runBatch(
    rows: BatchRow[],
    feedback: Feedback,
    plan: BatchPlan,
    outputs?: readonly string[],
  ): Promise<Record<string, Tensor>[]> {
    return this.threaded.runBatch(rows, feedback, plan, outputs);
  }

  closeSequence(id: number): void {
    this.threaded.closeSequence(id);
  }

  async release(): Promise<void> {
    const local = this.local;
    this.local = null;
    await Promise.all([this.threaded.release(), local?.release()]);
  }
}
