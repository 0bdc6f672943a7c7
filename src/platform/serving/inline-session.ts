/**
 * Small models run on the server's own thread. A batch-1 request to a small model spent more of
 * its time handing the run to the model's worker thread and back (two postMessage calls, a
 * worker wake-up, a clone of the inputs) than in ONNX Runtime: measured with
 * bench/serve/profile.ts, `postMessage` was the largest single item of the main thread's time per
 * request. So a model file of at most `maxBytes` also gets an in-thread session, and its plain
 * runs go there while they stay short; once its runs take longer than `maxRunMs` (a run blocks
 * the event loop for its whole length) the in-thread session is released and every run goes
 * through the worker thread again, for good. Sequences (their state lives in the worker) and
 * batched decode steps always use the worker.
 *
 * A model's run time is the fastest of its last 10 runs, not their mean: on a loaded 2-core
 * machine a run's wall time also counts the time the thread waited for a core, which pushed the
 * small MLP's mean past 1 ms and sent every run back to the worker within seconds (so the first
 * A/B of this class compared the worker with itself; the process's CPU time over a run is no
 * better early on, when it also holds V8 compiling the server). The in-thread session has one
 * intra-op thread: a second one would be woken for each parallel op of a batch-1 run.
 */
import { stat } from 'node:fs/promises';
import { type BatchPlan, EngineSession, type Feedback, type SessionOptions } from '../../engine/index';
import type { Tensor } from '../../engine/runtime/tensor';
import type { BatchRow } from './decode-batch';
import { type ModelSession, type SequenceStep, ThreadedSession } from './threaded-session';

export interface InlineLimits {
  /** Largest model file (bytes) that also gets an in-thread session. */
  maxBytes: number;
  /** Run time (ms, the fastest of the last 10) above which runs go back to the worker thread. */
  maxRunMs: number;
}

/** 1 MiB of weights and 1 ms: a run that short blocks other requests less than a thread hop costs them. */
export const DEFAULT_INLINE_LIMITS: InlineLimits = { maxBytes: 1024 * 1024, maxRunMs: 1 };

/** Runs not judged: ORT's first runs of a session allocate its buffers. */
const WARM_UP_RUNS = 5;
/** The fastest of this many recent runs is the model's cost (see the class comment). */
const WINDOW_RUNS = 10;

export class InlineFirstSession implements ModelSession {
  private runs = 0;
  /** Wall times (ms) of the last WINDOW_RUNS runs after the warm-up. */
  private readonly recent: number[] = [];

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

  /** Keep the last run times after the warm-up; judge once the window is full. */
  private observe(ms: number): void {
    this.runs++;
    if (this.runs <= WARM_UP_RUNS) return;
    this.recent[(this.runs - WARM_UP_RUNS) % WINDOW_RUNS] = ms;
    if (this.recent.length < WINDOW_RUNS || !this.local) return;
    if (Math.min(...this.recent) > this.maxRunMs) {
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
