/**
 * One loaded model version: its ONNX Runtime session, a bounded queue and the dynamic batcher.
 *
 * Batching: when a model's inputs and outputs all have a free dim 0, queued requests whose other
 * dims and dtypes agree are stacked along dim 0 (up to `maxBatchSize` rows), run once and split.
 * The first request of a batch waits at most `maxDelayMs` for company; while a run is in progress
 * new requests simply queue, and the next batch starts as soon as it ends. One run at a time per
 * runner's session: ORT already uses every core inside a run.
 *
 * Under fair scheduling, while more than one tenant is active on a model whose rows cost (more
 * rows than fit in a single-row run's time, contention.ts), a light tenant must not wait behind a
 * flooder's long run. A *light* tenant has no more requests outstanding on the model (waiting or
 * running) than fit in that time: one on a CPU, a client that waits for each answer. Its requests
 * take the express lane (express-lane.ts: a second session, at most one run in flight) as soon as
 * it is free, beside the main run; the main session runs the other tenants' requests in full
 * batches. Until the express lane is loaded, or where there is none (MAAS_EXPRESS_LANE: off by
 * default on a 2-core machine, where it measured worse; or no room in the memory budget), every
 * run is shrunk to those rows instead.
 *
 * The session normally lives in a worker thread (ThreadedSession): the event loop stays free
 * during a run, so requests arriving meanwhile queue up and form the next batch.
 *
 * Sequences (a decoder's steps, `openSequence`): each run's fed-back outputs stay in the session's
 * thread as the next run's inputs. Their runs never batch (their state is not stacked) and so
 * never wait `maxDelayMs` for company; queue limit, deadline and cancellation apply as to any run.
 * An open sequence keeps the runner loaded (busy), so its state is not evicted between steps.
 *
 * Continuous batching (sequences opened with a BatchPlan: decoders): each holds one of
 * `maxNumSeqs` slots from its first step to its close; sequences waiting for a slot are admitted
 * round-robin across tenants (FairQueue). A prefill step (or chunk, at most `maxBatchedTokens`
 * tokens) runs alone; once primed, a sequence's one-token steps run together with every other
 * primed sequence's in one run (DecodeBatch in the session's thread). Between two decode steps at
 * most one prefill chunk runs, so streams keep flowing while a long prompt arrives.
 */
import { fail, MaasError } from '../../common/errors';
import type { BatchPlan, Feedback } from '../../engine/index';
import type { Tensor } from '../../engine/runtime/tensor';
import type { ModelSignature } from '../../store/ports';
import type { PlatformMetrics } from '../metrics';
import type { Caller } from './caller';
import { Contention } from './contention';
import { ExpressLane, type ExpressLoader } from './express-lane';
import { FairQueue } from './fair-queue';
import { RunQueue, type Scheduling } from './run-queue';
import { checkInputs, hasFreeBatchDim, sliceRows, stack } from './tensors';
import type { ModelSession } from './threaded-session';

/** How ONNX Runtime reports a node that failed while running (its message's first words). */
const NODE_FAILURE = /^Non-zero status code returned while running /;

export interface RunnerSettings {
  maxBatchSize: number;
  maxDelayMs: number;
  maxQueue: number;
  /** Decoder sequences stepping together (continuous batching); more wait for a slot. */
  maxNumSeqs: number;
  /** The most prompt tokens one prefill run takes (longer prompts are chunked). */
  maxBatchedTokens: number;
  /** Who goes next among waiting requests (see run-queue.ts); default fair. */
  scheduling?: Scheduling;
}

export interface InferRequest {
  inputs: Record<string, Tensor>;
  /** Outputs to return (default: all). */
  outputs?: readonly string[];
  /** Absolute deadline (ms since epoch); past it the request fails with `deadline_exceeded`. */
  deadline: number;
  /** Aborted when the client goes away: a queued request is dropped. */
  signal?: AbortSignal;
  /** Whose request it is and its priority (fair scheduling); default: an anonymous interactive one. */
  caller?: Caller;
}

/** An open sequence of runs on this runner; `close` frees its state (idempotent). */
export interface RunnerSequence {
  run(req: InferRequest): Promise<Record<string, Tensor>>;
  close(): void;
  /** For batched sequences: the most tokens a prefill run should take. */
  readonly prefillChunk?: number;
}

interface SlotWaiter {
  admit: () => void;
  refuse: (e: Error) => void;
}

interface OpenSequence {
  id: number;
  feedback: Feedback;
  /** Inputs the state provides once a run has succeeded. */
  fedInputs: ReadonlySet<string>;
  primed: boolean;
  /** Steps with others (continuous batching); null: always alone. */
  batch: BatchPlan | null;
  caller: Caller;
  /** Holds one of maxNumSeqs slots (batched sequences). */
  admitted: boolean;
  admission: Promise<void> | null;
  waiter: SlotWaiter | null;
  /** ms since epoch: first step queued, first and last token (a decode step queued). */
  startedAt: number;
  firstTokenAt: number;
  lastTokenAt: number;
  tokens: number;
}

interface Pending {
  req: InferRequest;
  rows: number;
  /** Requests with equal keys can share a run; `null` = always alone. */
  key: string | null;
  sequence?: OpenSequence;
  caller: Caller;
  /** What serving it charges its tenant's turn (see RunQueue). */
  cost: number;
  enqueuedAt: number;
  settled: boolean;
  /** True once its batch is handed to ORT (too late to drop). */
  started: boolean;
  resolve: (out: Record<string, Tensor>) => void;
  reject: (e: Error) => void;
  cleanup: () => void;
}

/** Rows along dim 0 of a request's first input (at least 1). */
function leadingDim(req: InferRequest): number {
  const first = Object.values(req.inputs)[0];
  return Math.max(1, first?.dims[0] ?? 1);
}

/** What a runner is given besides its session (the pool's; a test's to watch or steer). */
export interface RunnerDeps {
  /** Loads the express lane's session (absent: no express lane, runs shrink instead). */
  loadExpress?: ExpressLoader;
  /** Run costs and active tenants (default: a fresh one that learns from this runner's runs). */
  contention?: Contention;
}

export class Runner {
  private readonly queue = new RunQueue<Pending>(() => this.settings.scheduling ?? 'fair');
  /** Who is active on this model and what its runs cost: a run's rows while tenants compete. */
  private readonly contention: Contention;
  /** Light tenants' runs beside the main one while tenants compete (see above). */
  private readonly express: ExpressLane;
  private running = false;
  private waitTimer: NodeJS.Timeout | null = null;
  private scheduled = false;
  private readonly sequences = new Map<number, OpenSequence>();
  private nextSequence = 1;
  private readonly waiting = new FairQueue<SlotWaiter>();
  private slotsHeld = 0;
  /** A prefill chunk ran since the last decode step (the next turn goes to the decode rows). */
  private prefilledSinceDecode = false;
  /** ms since epoch of the last request (for idle eviction). */
  lastUsed = Date.now();
  readonly batchable: boolean;

  constructor(
    readonly id: string,
    private readonly session: ModelSession,
    readonly signature: ModelSignature,
    public settings: RunnerSettings,
    /** One loaded copy of the model (the express lane holds a second once loaded). */
    private readonly modelMemory: number,
    private readonly metrics: PlatformMetrics,
    private readonly labels: { model: string; version: string },
    deps: RunnerDeps = {},
  ) {
    this.contention = deps.contention ?? new Contention();
    // A light request waiting when the lane comes up starts on it then, not at the next arrival.
    this.express = new ExpressLane(deps.loadExpress, () => this.pump());
    this.batchable =
      signature.inputs.length > 0 &&
      signature.inputs.every(hasFreeBatchDim) &&
      signature.outputs.every(hasFreeBatchDim);
  }

  get busy(): boolean {
    return this.running || this.express.running || this.queue.size > 0 || this.sequences.size > 0;
  }

  /** Estimated bytes this model holds: one copy, two once its express lane is loaded. */
  get memoryEstimate(): number {
    return this.express.loaded ? 2 * this.modelMemory : this.modelMemory;
  }

  get queueDepth(): number {
    return this.queue.size;
  }

  /** Batched sequences holding a slot, and waiting for one. */
  get slots(): { held: number; waiting: number } {
    return { held: this.slotsHeld, waiting: this.waiting.size };
  }

  /**
   * Open a sequence whose `feedback` outputs (output name → input name) are kept for its next run:
   * that run may then leave those inputs out.
   */
  openSequence(
    feedback: Feedback,
    options: { batch?: BatchPlan; tenant?: string; caller?: Caller } = {},
  ): RunnerSequence {
    const outputs = new Set(this.signature.outputs.map((o) => o.name));
    const inputs = new Set(this.signature.inputs.map((i) => i.name));
    for (const [out, input] of Object.entries(feedback)) {
      if (!outputs.has(out) || !inputs.has(input))
        fail(
          'inference_failed',
          `the model has no output '${out.slice(0, 100)}' to feed its input '${input.slice(0, 100)}'`,
        );
    }
    const seq: OpenSequence = {
      id: this.nextSequence++,
      feedback: { ...feedback },
      fedInputs: new Set(Object.values(feedback)),
      primed: false,
      batch: options.batch && this.session.runBatch ? options.batch : null,
      caller: { ...options.caller, tenant: options.tenant ?? options.caller?.tenant ?? '' },
      admitted: false,
      admission: null,
      waiter: null,
      startedAt: 0,
      firstTokenAt: 0,
      lastTokenAt: 0,
      tokens: 0,
    };
    this.sequences.set(seq.id, seq);
    const settings = () => this.settings;
    return {
      run: (req) => {
        if (this.sequences.get(seq.id) !== seq) fail('engine_unavailable', 'the model was unloaded');
        return this.submit(req, seq);
      },
      close: () => {
        if (this.sequences.get(seq.id) !== seq) return;
        this.sequences.delete(seq.id);
        this.session.closeSequence(seq.id);
        this.lastUsed = Date.now();
        this.releaseSlot(seq);
      },
      get prefillChunk() {
        return seq.batch ? settings().maxBatchedTokens : undefined;
      },
    };
  }

  /** A decode step: one new token of a primed batched sequence. */
  private isDecode(p: Pending): boolean {
    const s = p.sequence;
    return !!s?.batch && s.primed && p.req.inputs[s.batch.tokens]?.dims[1] === 1;
  }

  /** Time to first token, inter-token latency (a decode step queued = a token sampled). */
  private noteStep(seq: OpenSequence, req: InferRequest): void {
    const now = Date.now();
    if (seq.startedAt === 0) seq.startedAt = now;
    if (!seq.batch || !seq.primed || req.inputs[seq.batch.tokens]?.dims[1] !== 1) return;
    if (seq.firstTokenAt === 0) {
      seq.firstTokenAt = now;
      this.metrics.timeToFirstToken.observe(this.labels, (now - seq.startedAt) / 1000);
    } else this.metrics.interTokenLatency.observe(this.labels, (now - seq.lastTokenAt) / 1000);
    seq.lastTokenAt = now;
    seq.tokens++;
  }

  /** Wait for one of maxNumSeqs slots (round-robin across tenants); resolves when admitted. */
  private admit(seq: OpenSequence, req: InferRequest): Promise<void> {
    seq.admission ??= new Promise<void>((resolve, reject) => {
      const since = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () =>
        this.giveUpSlot(seq, new MaasError('client_closed', 'the client closed the request'));
      const cleanup = () => {
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        seq.waiter = null;
      };
      const waiter: SlotWaiter = {
        admit: () => {
          cleanup();
          seq.admitted = true;
          this.slotsHeld++;
          this.publishSlots();
          this.metrics.sequenceQueueWait.observe(this.labels, (Date.now() - since) / 1000);
          resolve();
        },
        refuse: (e) => {
          cleanup();
          reject(e);
        },
      };
      if (this.slotsHeld < this.settings.maxNumSeqs && this.waiting.size === 0) {
        waiter.admit();
        return;
      }
      seq.waiter = waiter;
      this.waiting.push(seq.caller.tenant, waiter, seq.caller);
      this.publishSlots();
      timer = setTimeout(
        () =>
          this.giveUpSlot(seq, new MaasError('deadline_exceeded', 'no answer within the request deadline')),
        Math.max(0, req.deadline - Date.now()),
      );
      req.signal?.addEventListener('abort', onAbort, { once: true });
    });
    return seq.admission;
  }

  private giveUpSlot(seq: OpenSequence, e: Error): void {
    const w = seq.waiter;
    if (w && this.waiting.remove(w)) w.refuse(e);
    this.publishSlots();
  }

  /** A closed sequence frees its slot (or stops waiting for one); the next waiter is admitted. */
  private releaseSlot(seq: OpenSequence): void {
    if (seq.waiter) this.giveUpSlot(seq, new MaasError('client_closed', 'the sequence was closed'));
    if (!seq.admitted) return;
    seq.admitted = false;
    this.slotsHeld--;
    if (seq.tokens >= 2 && seq.lastTokenAt > seq.firstTokenAt) {
      const perSecond = ((seq.tokens - 1) * 1000) / (seq.lastTokenAt - seq.firstTokenAt);
      this.metrics.tokensPerSecond.observe(this.labels, perSecond);
    }
    this.admitWaiting();
  }

  private admitWaiting(): void {
    while (this.slotsHeld < this.settings.maxNumSeqs && this.waiting.size > 0) this.waiting.shift()!.admit();
    this.publishSlots();
  }

  private publishSlots(): void {
    this.metrics.sequences.set({ ...this.labels, state: 'running' }, this.slotsHeld);
    this.metrics.sequences.set({ ...this.labels, state: 'waiting' }, this.waiting.size);
  }

  infer(req: InferRequest): Promise<Record<string, Tensor>> {
    return this.submit(req);
  }

  private submit(req: InferRequest, seq?: OpenSequence): Promise<Record<string, Tensor>> {
    // Inputs the sequence's state provides may be left out once it has some.
    const expected = seq?.primed
      ? this.signature.inputs.filter((s) => s.name in req.inputs || !seq.fedInputs.has(s.name))
      : this.signature.inputs;
    checkInputs(req.inputs, expected);
    const outputNames = new Set(this.signature.outputs.map((o) => o.name));
    for (const o of req.outputs ?? []) {
      if (!outputNames.has(o)) fail('invalid_tensor', `the model has no output '${o.slice(0, 100)}'`);
    }
    const caller = seq?.caller ?? req.caller ?? { tenant: '' };
    const ahead = this.queue.waitingAhead(caller);
    if (ahead >= this.settings.maxQueue) {
      this.metrics.dropped.inc({ ...this.labels, reason: 'queue_full' });
      const whose = (this.settings.scheduling ?? 'fair') === 'fair' ? ' from your tenant' : '';
      fail('queue_full', `model '${this.labels.model}' has ${ahead} requests waiting${whose}`, {
        retryAfterSeconds: 1,
      });
    }
    this.lastUsed = Date.now();
    const enqueue = () =>
      new Promise<Record<string, Tensor>>((resolve, reject) =>
        this.enqueue(req, caller, seq, resolve, reject),
      );
    if (!seq?.batch) return enqueue();
    this.noteStep(seq, req);
    return seq.admitted ? enqueue() : this.admit(seq, req).then(enqueue);
  }

  private enqueue(
    req: InferRequest,
    caller: Caller,
    sequence: OpenSequence | undefined,
    resolve: Pending['resolve'],
    reject: Pending['reject'],
  ): void {
    const rows = sequence ? null : this.batchRows(req);
    const p: Pending = {
      req,
      rows: rows ?? 1,
      cost: rows ?? (sequence ? 1 : leadingDim(req)),
      key: rows === null ? null : this.batchKey(req),
      sequence,
      caller,
      enqueuedAt: Date.now(),
      settled: false,
      started: false,
      resolve,
      reject,
      cleanup: () => {},
    };
    const timer = setTimeout(
      () => this.abandon(p, 'deadline_exceeded'),
      Math.max(0, req.deadline - Date.now()),
    );
    const onAbort = () => this.abandon(p, 'client_closed');
    req.signal?.addEventListener('abort', onAbort, { once: true });
    p.cleanup = () => {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
    };
    if (req.signal?.aborted) {
      this.abandon(p, 'client_closed');
      return;
    }
    this.queue.push(p);
    this.contention.seen(caller.tenant, p.enqueuedAt);
    this.publishDepth();
    this.pump();
  }

  /** Rows along dim 0 when this request may share a run, else null. */
  private batchRows(req: InferRequest): number | null {
    if (!this.batchable || this.settings.maxBatchSize <= 1) return null;
    const rows = new Set(Object.values(req.inputs).map((t) => t.dims[0]));
    const [n] = [...rows];
    return rows.size === 1 && n >= 1 && n <= this.settings.maxBatchSize ? n : null;
  }

  private batchKey(req: InferRequest): string {
    const dims = this.signature.inputs.map((s) => `${s.name}:${req.inputs[s.name].dims.slice(1).join('x')}`);
    return `${dims.join('|')}>${[...(req.outputs ?? [])].sort().join(',')}`;
  }

  private abandon(p: Pending, reason: 'deadline_exceeded' | 'client_closed'): void {
    if (p.settled) return;
    this.queue.remove(p);
    this.publishDepth();
    if (!p.started) this.metrics.dropped.inc({ ...this.labels, reason });
    this.settle(p, () =>
      p.reject(
        reason === 'deadline_exceeded'
          ? new MaasError('deadline_exceeded', `no answer within the request deadline`)
          : new MaasError('client_closed', 'the client closed the request'),
      ),
    );
  }

  private settle(p: Pending, action: () => void): void {
    if (p.settled) return;
    p.settled = true;
    p.cleanup();
    action();
  }

  private publishDepth(): void {
    this.metrics.queueDepth.set(this.labels, this.queue.size);
  }

  /**
   * Take the main session's next batch: the head request (the next in serving order, see
   * RunQueue) plus compatible ones in that order, up to `limit` rows. While the express lane is in
   * use, heavy tenants' requests first and in full batches (light ones wait for the lane), unless
   * the lane is busy and a light request is next in serving order.
   */
  private takeBatch(): { batch: Pending[]; limit: number } {
    const head = this.queue.head()!;
    if (head.sequence?.batch) {
      // Decode rows in sequence order (the batched state keeps its layout while rows stay).
      const decode = this.queue
        .items()
        .filter((p) => this.isDecode(p))
        .sort((a, b) => a.sequence!.id - b.sequence!.id);
      if (this.isDecode(head) || (this.prefilledSinceDecode && decode.length > 0))
        return { batch: decode, limit: 0 };
      return { batch: [head], limit: 0 };
    }
    if (head.key === null) return { batch: [head], limit: 0 };
    const lanes = this.lanes();
    // A light head whose lane is busy is served here in turn (many light tenants must not all
    // wait for the one lane while a flooder keeps this session).
    const laneTakes = lanes && !(this.express.running && lanes.light(head));
    const heavy = laneTakes && this.queue.head((p) => p.key !== null && !lanes.light(p));
    if (heavy) {
      const max = this.settings.maxBatchSize;
      return {
        batch: this.queue.fill(heavy, (p) => p.key === heavy.key && !lanes.light(p), max),
        limit: max,
      };
    }
    const limit = this.batchLimit();
    return { batch: this.queue.fill(head, (p) => p.key === head.key, limit), limit };
  }

  /**
   * The express lane's split of the queue while it is in use (fair scheduling, tenants compete,
   * a run's rows cost, its session loaded): its session, its rows per run and who is light.
   * Asking while it is not loaded starts loading it.
   */
  private lanes(): { session: ModelSession; rows: number; light: (p: Pending) => boolean } | null {
    if ((this.settings.scheduling ?? 'fair') === 'fifo' || !this.batchable || !this.express.possible)
      return null;
    const max = this.settings.maxBatchSize;
    const rows = this.contention.maxRows(max, Date.now());
    if (rows >= max) return null;
    const session = this.express.want();
    if (!session) return null;
    const light = (p: Pending) =>
      p.key !== null && !p.sequence && p.rows <= rows && this.queue.outstanding(p.caller.tenant) <= rows;
    return { session, rows, light };
  }

  /** Run light tenants' requests on the express lane, when it is in use, free and they wait. */
  private startExpress(): void {
    if (this.express.running || this.queue.size === 0) return;
    const lanes = this.lanes();
    const head = lanes && this.queue.head(lanes.light);
    if (!head) return;
    const batch = this.queue.fill(head, (p) => p.key === head.key && lanes.light(p), lanes.rows);
    this.queue.take(batch);
    this.publishDepth();
    this.express.running = true;
    void this.run(batch, lanes.session).finally(() => {
      this.queue.done(batch);
      this.express.running = false;
      this.lastUsed = Date.now();
      this.pump();
    });
  }

  /**
   * The most rows of the next run: `maxBatchSize`, or under fair scheduling while tenants compete
   * for this model, what fits in a single-row run's time (contention.ts).
   */
  private batchLimit(): number {
    const max = this.settings.maxBatchSize;
    if ((this.settings.scheduling ?? 'fair') === 'fifo') return max;
    return this.contention.maxRows(max, Date.now());
  }

  /**
   * Form the next batch on the next check phase, not now: requests (and hang-ups) whose bytes are
   * already on the sockets are parsed in the poll phase before it, so they join the batch (or
   * leave the queue) first. This also matters when a session runs on the event loop itself.
   * A sequence step at the head batches with nothing, so it starts now: the model computes while
   * this thread streams the previous token (an SSE write is ≈ 0.1 ms of syscall per token).
   */
  private pump(): void {
    // A light tenant's request starts on the express lane now: it waits for no company, and a
    // turn of an event loop busy with a flood's requests is the wait the lane is there to avoid.
    this.startExpress();
    if (this.queue.size === 0 || this.scheduled || this.running || this.waitTimer) return;
    const head = this.queue.head()!;
    if (head.sequence && !(this.isDecode(head) && this.stragglers())) {
      this.startBatch();
      return;
    }
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.startBatch();
    });
  }

  /**
   * Primed batched sequences whose next step is not queued yet: their token is being sampled in
   * a microtask of this turn, so the decode step waits one turn (setImmediate) for them.
   */
  private stragglers(): boolean {
    let primed = 0;
    for (const s of this.sequences.values()) if (s.batch && s.primed) primed++;
    return this.queue.items().filter((p) => this.isDecode(p)).length < primed;
  }

  private startBatch(): void {
    this.startExpress();
    if (this.running || this.queue.size === 0 || this.waitTimer) return;
    const { batch, limit } = this.takeBatch();
    const rows = batch.reduce((n, p) => n + p.rows, 0);
    const waited = Date.now() - batch[0].enqueuedAt;
    if (batch[0].key !== null && rows < limit && waited < this.settings.maxDelayMs) {
      this.waitTimer = setTimeout(() => {
        this.waitTimer = null;
        this.startBatch();
      }, this.settings.maxDelayMs - waited);
      return;
    }
    this.queue.take(batch);
    this.publishDepth();
    this.running = true;
    void this.run(batch).finally(() => {
      this.queue.done(batch);
      this.running = false;
      this.lastUsed = Date.now();
      this.pump();
    });
  }

  private async run(formed: Pending[], session: ModelSession = this.session): Promise<void> {
    // One more trip through the poll phase before committing: a client's hang-up (FIN) is often
    // read one phase after its request body, and a dropped request should not cost a run. Not for
    // a sequence step: a hang-up costs at most that one step, and the wait would cost every step.
    // Nor on the express lane: a hang-up costs one row there, and the wait a turn (see pump).
    if (!formed[0].sequence && session === this.session) await new Promise((r) => setImmediate(r));
    const batch = formed.filter((p) => !p.settled);
    if (batch.length === 0) return;
    for (const p of batch) p.started = true;
    if (this.isDecode(batch[0])) return this.runDecode(batch);
    if (batch[0].sequence?.batch) this.prefilledSinceDecode = true;
    this.metrics.batchSize.observe(this.labels, batch.length);
    this.metrics.batchRows.observe(
      this.labels,
      batch.reduce((n, p) => n + p.rows, 0),
    );
    const head = batch[0].req;
    const seq = batch[0].sequence;
    const feeds: Record<string, Tensor> = {};
    for (const s of this.signature.inputs) {
      // A sequence's state fills the inputs its request leaves out (in the session's thread).
      if (s.name in head.inputs || !seq) feeds[s.name] = stack(batch.map((p) => p.req.inputs[s.name]));
    }
    try {
      const started = performance.now();
      const out = await session.run(
        feeds,
        head.outputs?.length ? head.outputs : undefined,
        seq ? { id: seq.id, feedback: seq.feedback } : undefined,
        { contended: this.queue.size > 0 },
      );
      if (seq) seq.primed = true;
      const rows = batch.reduce((n, p) => n + p.rows, 0);
      const now = Date.now();
      if (batch[0].key !== null) this.contention.observe(rows, performance.now() - started, now);
      for (const p of batch) this.contention.seen(p.caller.tenant, now);
      if (batch.length > 1 && Object.values(out).some((t) => t.dims[0] !== rows)) {
        // The graph's dim 0 was symbolic but is not a batch dim after all: stop batching it.
        this.settings = { ...this.settings, maxBatchSize: 1 };
        throw new Error('the model output does not follow its batch dimension; batching is now off for it');
      }
      let offset = 0;
      for (const p of batch) {
        const mine: Record<string, Tensor> = {};
        for (const [name, t] of Object.entries(out)) {
          mine[name] = batch.length === 1 ? t : sliceRows(t, offset, p.rows);
        }
        offset += p.rows;
        this.settle(p, () => p.resolve(mine));
      }
    } catch (e) {
      const msg = String(e instanceof Error ? e.message : e)
        .split('\n')[0]
        .replace(/(\/[\w.-]+){2,}/g, '<path>');
      // A node that fails while running (a shape its weights cannot take, an index out of range)
      // is the model's or the input's doing, not the server's: 422. Anything else stays a 500.
      const code = NODE_FAILURE.test(msg) ? 'model_failed' : 'inference_failed';
      for (const p of batch) this.settle(p, () => p.reject(new MaasError(code, msg.slice(0, 300))));
    }
  }

  /** One decode step of batched sequences, in one run (DecodeBatch in the session's thread). */
  private async runDecode(batch: Pending[]): Promise<void> {
    this.prefilledSinceDecode = false;
    this.metrics.batchOccupancy.observe(this.labels, batch.length);
    const first = batch[0];
    const plan = first.sequence!.batch!;
    // The batch builds its own attention mask: the rows' own masks need not cross the thread.
    const rows = batch.map((p) => {
      const { [plan.attentionMask]: _mask, ...feeds } = p.req.inputs;
      return { id: p.sequence!.id, feeds };
    });
    try {
      const outs = await this.session.runBatch!(
        rows,
        first.sequence!.feedback,
        plan,
        first.req.outputs?.length ? first.req.outputs : undefined,
      );
      for (const [i, p] of batch.entries()) this.settle(p, () => p.resolve(outs[i]));
    } catch (e) {
      const msg = String(e instanceof Error ? e.message : e)
        .split('\n')[0]
        .replace(/(\/[\w.-]+){2,}/g, '<path>');
      for (const p of batch)
        this.settle(p, () => p.reject(new MaasError('inference_failed', msg.slice(0, 300))));
    }
  }

  /** Reject everything queued (shutdown, unload) and release the session. */
  async close(): Promise<void> {
    const gone = () => new MaasError('engine_unavailable', 'the model was unloaded');
    for (const seq of this.sequences.values()) this.giveUpSlot(seq, gone());
    for (const seq of this.sequences.values()) this.releaseSlot(seq);
    this.sequences.clear();
    if (this.waitTimer) clearTimeout(this.waitTimer);
    this.waitTimer = null;
    const queued = this.queue.items();
    for (const p of queued) this.queue.remove(p);
    for (const p of queued) {
      this.settle(p, () => p.reject(new MaasError('engine_unavailable', 'the model was unloaded')));
    }
    this.publishDepth();
    await Promise.all([this.session.release(), this.express.close()]);
  }
}
