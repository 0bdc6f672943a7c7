/**
 * Describing an uploaded dataset (format, schema inference, class balance) runs OFF the API's
 * event loop, in worker threads with their own heap limit (`resourceLimits`) and a wall-clock
 * limit. The readers' budgets (src/data/limits.ts) stop hostile files early; this is the second
 * wall: a parser that still exhausts its heap or hangs kills only its worker, the request gets a
 * 413, and the server keeps answering. Workers are reused (starting one costs ~1 s: TypeScript
 * is compiled on load) and stop after `idleMs` without work.
 */
import { Worker } from 'node:worker_threads';
import { entryUrl } from '../../common/entry';
import { type ErrorCode, errorCatalog, fail, MaasError } from '../../common/errors';
import type { DatasetDescription, DescribeOptions } from '../../data/index';
import { workerSource } from '../worker-source';
import type { DescribeAnswer, DescribeRequest } from './describe-worker';

export interface DescribePoolOptions {
  /** Heap limit of each worker (MiB): V8's old generation; Buffers are bounded by the readers' budgets. */
  memoryMb: number;
  /** Longest one description may take (ms). */
  timeoutMs: number;
  /** Workers at once (more requests wait). */
  maxWorkers: number;
  /** A worker with no work for this long stops (ms). */
  idleMs: number;
}

const workerUrl = entryUrl('describe-worker', new URL('./describe-worker.ts', import.meta.url));

interface Slot {
  worker: Worker;
  idleTimer: NodeJS.Timeout | null;
  /** False once the worker was terminated or died: it is never parked again. */
  alive: boolean;
}

export class DescribePool {
  private readonly idle: Slot[] = [];
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private nextId = 1;
  private closed = false;
  private spawned = 0;
  private live = 0;

  constructor(private readonly options: DescribePoolOptions) {}

  async describe(path: string, options: DescribeOptions): Promise<DatasetDescription> {
    if (this.closed) fail('not_ready', 'the server is shutting down');
    while (this.running >= this.options.maxWorkers) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    const slot = this.takeIdle() ?? this.spawn();
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    slot.worker.ref();
    try {
      return await this.run(slot, { id: this.nextId++, path, options });
    } finally {
      // A refused file (every bomb's 413) leaves a healthy worker: it goes back to the pool too.
      // Parking only successes once left each refusal's worker running, heap and all, for good:
      // 24 bombs in 20 s held 1.4 GB (bench/serve/attack.ts).
      if (slot.alive) this.park(slot);
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** Workers started so far, and those still running (parked or busy): at most `maxWorkers`. */
  stats(): { spawned: number; live: number } {
    return { spawned: this.spawned, live: this.live };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.idle.splice(0).map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const { source, eval: isCode } = workerSource(workerUrl);
    const worker = new Worker(source, {
      eval: isCode,
      execArgv: [],
      env: {},
      resourceLimits: { maxOldGenerationSizeMb: this.options.memoryMb, stackSizeMb: 4 },
    });
    const slot: Slot = { worker, idleTimer: null, alive: true };
    this.spawned++;
    this.live++;
    worker.once('exit', () => {
      slot.alive = false;
      this.live--;
    });
    return slot;
  }

  /** A parked worker that is still running (one that died while parked is dropped). */
  private takeIdle(): Slot | undefined {
    for (let slot = this.idle.pop(); slot; slot = this.idle.pop()) {
      if (slot.alive) return slot;
      if (slot.idleTimer) clearTimeout(slot.idleTimer);
    }
    return undefined;
  }

  /** Ends a worker that failed on its own (out of memory, past its time): it is not reused. */
  private retire(slot: Slot): void {
    slot.alive = false;
    void slot.worker.terminate();
  }

  private park(slot: Slot): void {
    if (this.closed) {
      void slot.worker.terminate();
      return;
    }
    slot.worker.unref();
    slot.idleTimer = setTimeout(() => {
      this.idle.splice(this.idle.indexOf(slot), 1);
      void slot.worker.terminate();
    }, this.options.idleMs);
    slot.idleTimer.unref();
    this.idle.push(slot);
  }

  /** One request on one worker; the worker is retired (not reused) on any failure of its own. */
  private run(slot: Slot, req: DescribeRequest): Promise<DatasetDescription> {
    const { worker } = slot;
    return new Promise<DatasetDescription>((resolve, reject) => {
      const done = (settle: () => void) => {
        clearTimeout(timer);
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        settle();
      };
      const timer = setTimeout(() => {
        this.retire(slot);
        done(() =>
          reject(
            new MaasError(
              'payload_too_large',
              `file: describing the dataset took longer than ${this.options.timeoutMs} ms (limit datasetParseTimeoutMs, setting MAAS_DATASET_PARSE_TIMEOUT_MS)`,
              { pointer: 'file' },
            ),
          ),
        );
      }, this.options.timeoutMs);
      const onMessage = (a: DescribeAnswer) => {
        if (a.id !== req.id) return;
        done(() => (a.ok ? resolve(a.description as DatasetDescription) : reject(answerError(a))));
      };
      const onError = (e: Error) => {
        this.retire(slot);
        done(() => reject(crashError(e, this.options.memoryMb)));
      };
      const onExit = () => {
        slot.alive = false;
        done(() => reject(crashError(null, this.options.memoryMb)));
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      worker.postMessage(req);
    });
  }
}

function answerError(a: Extract<DescribeAnswer, { ok: false }>): MaasError {
  const code = (a.code in errorCatalog ? a.code : 'invalid_dataset') as ErrorCode;
  return new MaasError(code, a.message, a.pointer ? { pointer: a.pointer } : {});
}

function crashError(e: Error | null, memoryMb: number): MaasError {
  const oom = (e as { code?: string } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
  return oom
    ? new MaasError(
        'payload_too_large',
        `file: reading the dataset needed more than ${memoryMb} MiB of memory (limit datasetParseMemoryMb, setting MAAS_DATASET_PARSE_MEMORY_MB)`,
        { pointer: 'file' },
      )
    : new MaasError('invalid_dataset', 'file: the dataset reader stopped unexpectedly', { pointer: 'file' });
}
