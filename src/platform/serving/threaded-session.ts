/**
 * An ONNX Runtime session living in its own worker thread. onnxruntime-node runs a model
 * synchronously on the calling thread; here that thread is not the server's, so HTTP parsing,
 * health checks, deadlines and hang-ups keep being served while a model runs, and the next batch
 * fills while the current one computes.
 */
import { Worker } from 'node:worker_threads';
import { entryUrl } from '../../common/entry';
import {
  type BatchPlan,
  enableStorageRelease,
  type Feedback,
  type SessionOptions,
  type ValueSignature,
} from '../../engine/index';
import type { Tensor } from '../../engine/runtime/tensor';
import type { BatchRow } from './decode-batch';

/** A run that belongs to a sequence: its fed-back outputs stay in the session's thread. */
export interface SequenceStep {
  id: number;
  feedback: Feedback;
}

/** What the caller knows of the run's surroundings, for sessions that choose where to run it. */
export interface RunHints {
  /** Other requests are waiting for this model: the API thread has work besides this run. */
  contended?: boolean;
}

/** What a Runner needs from a loaded model. */
export interface ModelSession {
  readonly inputs: ValueSignature[];
  readonly outputs: ValueSignature[];
  run(
    feeds: Record<string, Tensor>,
    outputs?: readonly string[],
    sequence?: SequenceStep,
    hints?: RunHints,
  ): Promise<Record<string, Tensor>>;
  /**
   * One decode step of several open sequences in one run (continuous batching: DecodeBatch);
   * absent where the session cannot batch sequences.
   */
  runBatch?(
    rows: BatchRow[],
    feedback: Feedback,
    plan: BatchPlan,
    outputs?: readonly string[],
  ): Promise<Record<string, Tensor>[]>;
  /** Drop a sequence's state (idempotent). */
  closeSequence(id: number): void;
  release(): Promise<void>;
  /** False once the session's thread is gone (a run would fail); absent: always alive. */
  readonly alive?: boolean;
}

type Outbound =
  | { type: 'loaded'; inputs: ValueSignature[]; outputs: ValueSignature[] }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; outputs: unknown }
  | { type: 'error'; id: number; message: string }
  | { type: 'released' };

// From source the thread starts in a plain-JS shim that registers tsx; compiled, in dist/.
const entry = entryUrl('session-thread', new URL('./session-thread.mjs', import.meta.url));

export class ThreadedSession implements ModelSession {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (o: never) => void; reject: (e: Error) => void }>();
  private released: Promise<void> | null = null;
  /** Why the thread is gone (it exited or failed): a run posted to it would never settle. */
  private dead: Error | null = null;

  private constructor(
    private readonly worker: Worker,
    readonly inputs: ValueSignature[],
    readonly outputs: ValueSignature[],
  ) {
    worker.on('message', (msg: Outbound) => {
      if (msg.type !== 'result' && msg.type !== 'error') return;
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.type === 'result') p?.resolve(msg.outputs as never);
      else p?.reject(new Error(msg.message));
    });
    const failAll = (e: Error) => {
      this.dead ??= e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', () => failAll(new Error('the model thread exited')));
  }

  get alive(): boolean {
    return this.dead === null;
  }

  static create(model: string | Uint8Array, options: SessionOptions): Promise<ThreadedSession> {
    // The thread frees each replaced KV cache at once (engine/runtime/release.ts).
    enableStorageRelease();
    const worker = new Worker(entry, { execArgv: [] });
    return new Promise((resolve, reject) => {
      const onMessage = (msg: Outbound) => {
        worker.off('error', onError);
        worker.off('message', onMessage);
        if (msg.type === 'loaded') resolve(new ThreadedSession(worker, msg.inputs, msg.outputs));
        else {
          void worker.terminate();
          reject(new Error(msg.type === 'failed' ? msg.message : 'unexpected message from the model thread'));
        }
      };
      const onError = (e: Error) => {
        worker.off('message', onMessage);
        reject(e);
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.postMessage({ type: 'load', model, options });
    });
  }

  run(
    feeds: Record<string, Tensor>,
    outputs?: readonly string[],
    sequence?: SequenceStep,
  ): Promise<Record<string, Tensor>> {
    if (this.released) return Promise.reject(new Error('the session was released'));
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Copy-free hand-over is not possible for caller-owned arrays; structured clone copies them.
      // A sequence's state is not among them: it stays in the thread (SequenceStates).
      this.worker.postMessage({
        type: 'run',
        id,
        feeds,
        outputs: outputs ? [...outputs] : undefined,
        sequence: sequence ? { id: sequence.id, feedback: { ...sequence.feedback } } : undefined,
      });
    });
  }

  runBatch(
    rows: BatchRow[],
    feedback: Feedback,
    plan: BatchPlan,
    outputs?: readonly string[],
  ): Promise<Record<string, Tensor>[]> {
    if (this.released) return Promise.reject(new Error('the session was released'));
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({
        type: 'batch-step',
        id,
        rows,
        feedback: { ...feedback },
        plan,
        outputs: outputs ? [...outputs] : undefined,
      });
    });
  }

  closeSequence(id: number): void {
    if (!this.released) this.worker.postMessage({ type: 'close-sequence', id });
  }

  release(): Promise<void> {
    this.released ??= new Promise<void>((resolve) => {
      // A thread that is already gone fires no second 'exit'.
      if (this.dead) return resolve();
      this.worker.once('exit', () => resolve());
      this.worker.postMessage({ type: 'release' });
      // A thread stuck in a run still goes: terminate after a short grace (ms).
      setTimeout(() => void this.worker.terminate(), 2000).unref();
    });
    return this.released;
  }
}
