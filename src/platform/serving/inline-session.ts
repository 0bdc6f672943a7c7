/**
 * Small models run on the server's own thread. A batch-1 request to a small model spent more of
 * its time handing the run to the model's worker thread and back (two postMessage calls, a
 * worker wake-up, a clone of the inputs) than in ONNX Runtime: measured with
 * bench/serve/profile.ts, `postMessage` was the largest single item of the main thread's time per
 * request. So a model file of at most `maxBytes` also gets an in-thread session, and its plain
 * runs go there while they stay short; once the mean of its runs passes `maxRunMs` (a run blocks
 * the event loop for its whole length) the in-thread session is released and every run goes
 * through the worker thread again, for good. Sequences (their state lives in the worker) and
 * batched decode steps always use the worker.
 */
import { stat } from 'node:fs/promises';
import { type BatchPlan, EngineSession, type Feedback, type SessionOptions } from '../../engine/index';
import type { Tensor } from '../../engine/runtime/tensor';
import type { BatchRow } from './decode-batch';
import { type ModelSession, type SequenceStep, ThreadedSession } from './threaded-session';

export interface InlineLimits {
  /** Largest model file (bytes) that also gets an in-thread session. */
  maxBytes: number;
  /** Mean run time (ms, moving average) above which runs go back to the worker thread. */
  maxRunMs: number;
}

/** 1 MiB of weights and 1 ms: a run that short blocks other requests less than a thread hop costs them. */
export const DEFAULT_INLINE_LIMITS: InlineLimits = { maxBytes: 1024 * 1024, maxRunMs: 1 };

/** Runs not counted in the mean: ORT's first runs of a session allocate its buffers. */
const WARM_UP_RUNS = 2;

export class InlineFirstSession implements ModelSession {
  private meanMs = 0;
  private runs = 0;

  private constructor(
    private readonly threaded: ModelSession,
    private local: EngineSession | null,
    private readonly maxRunMs: number,
  ) {}

  /** The worker-thread session, plus an in-thread one when the file is small enough. */
  static async create(
    path: string,
    options: SessionOptions,
    limits: InlineLimits = DEFAULT_INLINE_LIMITS,
  ): Promise<ModelSession> {
    const threaded = await ThreadedSession.create(path, options);
    if ((await stat(path)).size > limits.maxBytes) return threaded;
    try {
      return new InlineFirstSession(threaded, await EngineSession.create(path, options), limits.maxRunMs);
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

  /** Whether plain runs still go to the in-thread session. */
  get inline(): boolean {
    return this.local !== null;
  }

  async run(
    feeds: Record<string, Tensor>,
    outputs?: readonly string[],
    sequence?: SequenceStep,
  ): Promise<Record<string, Tensor>> {
    const local = this.local;
    if (sequence || !local) return this.threaded.run(feeds, outputs, sequence);
    const started = performance.now();
    try {
      return await local.run(feeds, outputs);
    } finally {
      this.observe(performance.now() - started);
    }
  }

  /** Moving mean of run times after the warm-up runs (a session's first runs allocate). */
  private observe(ms: number): void {
    this.runs++;
    if (this.runs <= WARM_UP_RUNS) return;
    this.meanMs += (ms - this.meanMs) / Math.min(this.runs - WARM_UP_RUNS, 20);
    if (this.meanMs > this.maxRunMs && this.local) {
      const local = this.local;
      this.local = null;
      void local.release();
    }
  }

  runBatch(
    rows: BatchRow[],
    feedback: Feedback,
    plan: BatchPlan,
    outputs?: readonly string[],
  ): Promise<Record<string, Tensor>[]> {
    if (!this.threaded.runBatch) return Promise.reject(new Error('the session cannot batch sequences'));
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
