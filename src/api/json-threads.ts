/**
 * Large JSON bodies are parsed OFF the event loop. JSON.parse of a 32 MiB body of numbers held
 * the loop for 1.7 s (bench/serve/json-stall.ts), and every other request, /readyz included,
 * waited. Bodies of at least `offThreadBytes` go to a small pool of worker threads (json-worker.ts)
 * reused across requests; the value comes back as a tape (json-tape.ts) whose arrays are
 * transferred, and is rebuilt on the loop in slices of `sliceMs`. Smaller bodies are parsed in
 * place: for them a thread's round trip costs more than the parse.
 *
 * Bounded: at most `maxWorkers` threads, each with a heap of `memoryMb`; at most `maxWaiting`
 * bodies wait for one (more get a 503 with Retry-After). A thread that runs out of memory or dies
 * fails only its own request (413 / 503) and is replaced on the next large body.
 */
import { Worker } from 'node:worker_threads';
import { entryUrl } from '../common/entry';
import { type ErrorCode, errorCatalog, fail, MaasError } from '../common/errors';
import { workerSource } from '../platform/worker-source';
import { type JsonShape, parseJsonBody } from './json-body';
import { decodeTape, type TapeOptions } from './json-tape';
import type { ParseAnswer, ParseRequest } from './json-worker';

export interface JsonParseOptions extends TapeOptions {
  /** True when a JsonDepthScanner already saw every byte (json-stream.ts). */
  depthChecked: boolean;
  /** The sending tenant, when the route has one: its share of the threads is capped. */
  sender?: string;
}

/** The port the body parsers use (bodies.ts, v2-binary.ts); the server passes one in. */
export interface JsonParser {
  parse(bytes: Buffer, shape: JsonShape, options: JsonParseOptions): Promise<unknown>;
  close(): Promise<void>;
}

export interface JsonThreadsOptions {
  /** Bodies of at least this many bytes are parsed in a worker thread. */
  offThreadBytes: number;
  maxWorkers: number;
  /** Bodies waiting for a thread beyond these are refused (503). */
  maxWaiting: number;
  /**
   * Large bodies of one tenant parsed or waiting at once; more are refused (429), so that one
   * tenant cannot fill the queue that every tenant's large bodies share.
   */
  maxPerSender: number;
  /** Heap limit of each thread (MiB). */
  memoryMb: number;
  /** A thread with no work for this long stops (ms). */
  idleMs: number;
  /** Longest stretch the event loop spends rebuilding a value before it yields (ms). */
  sliceMs: number;
}

/**
 * Chosen with bench/serve/json-stall.ts: 256 KiB of the costliest shape takes the loop ≈ 20 ms to
 * parse in place (idle machine), about the price of a thread's round trip under load.
 */
export const defaultJsonThreads: JsonThreadsOptions = {
  offThreadBytes: 256 * 1024,
  maxWorkers: 2,
  maxWaiting: 64,
  // Half the queue: one tenant cannot fill it, and a client's parallel large requests still go.
  maxPerSender: 32,
  memoryMb: 1024,
  idleMs: 60_000,
  sliceMs: 5,
};

/** Every body on the event loop, as before this module (the benchmark's baseline). */
export const inThreadJsonParser: JsonParser = {
  parse: async (bytes, shape, options) => parseJsonBody(bytes, shape, options.depthChecked),
  close: async () => {},
};

const workerUrl = entryUrl('json-worker', new URL('./json-worker.ts', import.meta.url));

interface Slot {
  worker: Worker;
  idleTimer: NodeJS.Timeout | null;
  /** False once the thread was terminated or died: it is never parked again. */
  alive: boolean;
}

export class JsonThreads implements JsonParser {
  /** Bodies parsed on the event loop and in a thread, and threads that died (tests read them). */
  readonly counts = { inThread: 0, offThread: 0, crashed: 0 };
  private readonly idle: Slot[] = [];
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Large bodies per sending tenant, parsed or waiting. */
  private readonly perSender = new Map<string, number>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: JsonThreadsOptions = defaultJsonThreads) {}

  async parse(bytes: Buffer, shape: JsonShape, options: JsonParseOptions): Promise<unknown> {
    if (bytes.length < this.options.offThreadBytes) {
      this.counts.inThread++;
      return parseJsonBody(bytes, shape, options.depthChecked);
    }
    if (this.closed) fail('not_ready', 'the server is shutting down');
    const { sender } = options;
    if (sender === undefined) return this.parseLarge(bytes, shape, options);
    const held = this.perSender.get(sender) ?? 0;
    if (held >= this.options.maxPerSender)
      fail(
        'rate_limited',
        `your tenant already has ${held} large JSON bodies being parsed: send the next when one is answered`,
        {
          retryAfterSeconds: 1,
        },
      );
    this.perSender.set(sender, held + 1);
    try {
      return await this.parseLarge(bytes, shape, options);
    } finally {
      const left = (this.perSender.get(sender) ?? 1) - 1;
      if (left > 0) this.perSender.set(sender, left);
      else this.perSender.delete(sender);
    }
  }

  /** A body of at least `offThreadBytes`, in a thread (waiting for one when all are busy). */
  private async parseLarge(bytes: Buffer, shape: JsonShape, options: JsonParseOptions): Promise<unknown> {
    if (this.running >= this.options.maxWorkers && this.waiting.length >= this.options.maxWaiting)
      fail('not_ready', 'too many large JSON bodies are being parsed: retry shortly', {
        retryAfterSeconds: 1,
      });
    while (this.running >= this.options.maxWorkers) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    this.counts.offThread++;
    let slot: Slot | undefined;
    // Inside the try: a thread that cannot start (`new Worker` throws under memory or thread
    // pressure) must still give its place back and wake the next body.
    try {
      slot = this.takeIdle() ?? this.spawn();
      if (slot.idleTimer) clearTimeout(slot.idleTimer);
      slot.worker.ref();
      const answer = await this.run(slot, bytes, shape, options.depthChecked);
      if (!answer.ok) throw answerError(answer);
      return await decodeTape(answer.tape, this.options.sliceMs, options);
    } finally {
      if (slot?.alive) this.park(slot);
      this.running--;
      this.waiting.shift()?.();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.idle.splice(0).map((s) => s.worker.terminate()));
  }

  protected spawn(): Slot {
    const { source, eval: isCode } = workerSource(workerUrl);
    const worker = new Worker(source, {
      eval: isCode,
      execArgv: [],
      env: {},
      resourceLimits: { maxOldGenerationSizeMb: this.options.memoryMb, stackSizeMb: 4 },
    });
    const slot: Slot = { worker, idleTimer: null, alive: true };
    worker.once('exit', () => {
      slot.alive = false;
    });
    // A parked thread has no request listening: its error must not become the process's.
    worker.on('error', () => {
      slot.alive = false;
    });
    return slot;
  }

  /** A parked thread that is still running (one that died while parked is dropped). */
  private takeIdle(): Slot | undefined {
    for (let slot = this.idle.pop(); slot; slot = this.idle.pop()) {
      if (slot.idleTimer) clearTimeout(slot.idleTimer);
      if (slot.alive) return slot;
    }
    return undefined;
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

  /** One body on one thread; the thread is retired on any failure of its own. */
  private run(slot: Slot, bytes: Buffer, shape: JsonShape, depthChecked: boolean): Promise<ParseAnswer> {
    const { worker } = slot;
    const req: ParseRequest = { id: this.nextId++, bytes: ownedBytes(bytes), shape, depthChecked };
    return new Promise<ParseAnswer>((resolve, reject) => {
      const done = (settle: () => void) => {
        worker
          .off('message', onMessage)
          .off('error', onError)
          .off('exit', onExit)
          .off('messageerror', onError);
        settle();
      };
      const onMessage = (a: ParseAnswer) => {
        if (a.id === req.id) done(() => resolve(a));
      };
      const crashed = (e: Error | null) => {
        slot.alive = false;
        this.counts.crashed++;
        void worker.terminate();
        done(() => reject(crashError(e, this.options.memoryMb)));
      };
      const onError = (e: Error) => crashed(e);
      const onExit = () => crashed(null);
      // A reply that cannot be deserialised would otherwise never settle, holding its place.
      worker.on('message', onMessage).on('error', onError).on('exit', onExit).on('messageerror', onError);
      worker.postMessage(req, [req.bytes.buffer as ArrayBuffer]);
    });
  }
}

/** The body in a buffer of its own, so it can be transferred (no copy when it already is). */
function ownedBytes(bytes: Buffer): Uint8Array {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return whole ? new Uint8Array(bytes.buffer, 0, bytes.byteLength) : new Uint8Array(bytes);
}

function answerError(a: Extract<ParseAnswer, { ok: false }>): MaasError {
  const code = (a.code in errorCatalog ? a.code : 'invalid_request') as ErrorCode;
  return new MaasError(code, a.message, a.pointer ? { pointer: a.pointer } : {});
}

function crashError(e: Error | null, memoryMb: number): MaasError {
  const oom = (e as { code?: string } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
  return oom
    ? new MaasError(
        'payload_too_large',
        `the JSON body needs more than ${memoryMb} MiB of memory to parse: send large tensors in the binary tensor format`,
        { pointer: 'body' },
      )
    : new MaasError('not_ready', 'the JSON parser thread stopped unexpectedly: retry the request', {
        retryAfterSeconds: 1,
      });
}
