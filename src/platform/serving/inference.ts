/**
 * Inference as the API sees it: resolve a model version, get its runner (loading on first use),
 * apply the deadline, run. Compatibility surfaces (KServe v2 now, OpenAI later) translate their
 * wire formats at the edge and call this.
 */
import { fail, MaasError } from '../../common/errors';
import type { BatchPlan, Feedback } from '../../engine/index';
import type { Tensor } from '../../engine/runtime/tensor';
import type { ModelSignature, ServingSettings, VersionRecord } from '../../store/ports';
import type { Registry } from '../registry/registry';
import { type Caller, callerOfSignal, type Priority } from './caller';
import type { RunnerPool } from './pool';
import type { Runner, RunnerSequence } from './runner';

export interface InferCall {
  inputs: Record<string, Tensor>;
  outputs?: readonly string[];
  /** A tighter deadline than the model's/server's (ms). */
  timeoutMs?: number;
  /** Cancels the run; whose run it is (fair scheduling) is the caller bound to it (caller.ts). */
  signal?: AbortSignal;
  /** `batch` waits behind every `interactive` request of the model; default: the caller's, else interactive. */
  priority?: Priority;
}

/** The caller a run is scheduled as: its signal's, at the call's priority if it asks one. */
function callerFor(call: Pick<InferCall, 'priority' | 'signal'>): Caller | undefined {
  const base = callerOfSignal(call.signal);
  if (!call.priority) return base;
  return { ...(base ?? { tenant: '' }), priority: call.priority };
}

/** Why a caller stopped waiting for a model load (the runner's drop reasons). */
type GiveUp = 'client_closed' | 'deadline_exceeded';
const GIVE_UP: Record<GiveUp, string> = {
  client_closed: 'the client closed the request',
  deadline_exceeded:
    'no answer within the request deadline: the model is still loading, and serves the next request once loaded',
};
/** setTimeout fires at once past this (ms): a deadline further away is no timer. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `load()` (a runner being acquired, loading it if needed), unless the caller gives up first: its
 * signal aborts (it hung up, or its prediction was canceled) or its deadline passes. A load cannot
 * be interrupted (ORT builds the session in its thread), but the caller must not wait for it: a
 * large model loads for seconds to minutes, a canceled prediction holds its slot until this
 * returns, and a request past its deadline is a 504 at the deadline, not after the load. A load
 * begun goes on and its runner serves the next request; a caller already gone or already past its
 * deadline starts none (a load may unload idle models to make room). `onGiveUp` hears the reason
 * once.
 */
function unlessGivenUp<T>(
  load: () => Promise<T>,
  signal: AbortSignal | undefined,
  deadline: number,
  onGiveUp: (reason: GiveUp) => void = () => {},
): Promise<T> {
  let given = false;
  const giveUp = (reason: GiveUp) => {
    if (!given) onGiveUp(reason);
    given = true;
    return new MaasError(reason, GIVE_UP[reason]);
  };
  if (signal?.aborted) return Promise.reject(giveUp('client_closed'));
  if (Date.now() >= deadline) return Promise.reject(giveUp('deadline_exceeded'));
  const loading = load();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(giveUp('client_closed'));
    const wait = deadline - Date.now();
    const timer =
      wait < MAX_TIMER_MS ? setTimeout(() => reject(giveUp('deadline_exceeded')), Math.max(0, wait)) : null;
    signal?.addEventListener('abort', onAbort, { once: true });
    loading.then(resolve, reject).finally(() => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    });
  });
}

/** A sequence of runs on one version (see `InferenceService.sequence`). */
export interface InferSequence {
  run(call: InferCall): Promise<Record<string, Tensor>>;
  /**
   * For batched sequences: the most tokens a prefill run takes (resolves the runner; `signal`, the
   * request's, as in `run`, says whose sequence it is).
   */
  prefillChunk(signal?: AbortSignal): Promise<number | undefined>;
  /** Free the state and let the runner be evicted again (idempotent). */
  close(): void;
}

/** An ONNX file derived from a version (e.g. its saliency graph), stored content-addressed. */
export interface DerivedModel {
  role: string;
  digest: string;
  /** Absolute path of the stored file. */
  path: string;
  sizeBytes: number;
  signature: ModelSignature;
}

export class InferenceService {
  constructor(
    private readonly registry: Registry,
    private readonly pool: RunnerPool,
    private readonly defaultTimeoutMs: number,
  ) {
    registry.onVersionRemoved((v) => void pool.unload(v));
  }

  /**
   * The version's runner. A loaded one answers a hang-up or a passed deadline itself (and counts
   * the drop); a load is raced here against the caller's signal and deadline, and a caller that
   * gives up during it (or before it) is counted as dropped too.
   */
  private runnerFor(
    version: VersionRecord,
    path: string,
    serving: ServingSettings,
    call: { signal?: AbortSignal; deadline: number },
    role?: string,
  ): Promise<Runner> {
    const acquire = () => this.pool.acquire(version, path, serving, role);
    if (this.pool.isLoaded(version, role)) return acquire();
    return unlessGivenUp(acquire, call.signal, call.deadline, (reason) =>
      this.pool.noteDropped(version, role, reason),
    );
  }

  async infer(
    owner: string,
    model: string,
    ref: string | undefined,
    call: InferCall,
  ): Promise<{ version: VersionRecord; outputs: Record<string, Tensor> }> {
    const started = Date.now();
    const version = await this.registry.resolve(owner, model, ref);
    const detail = await this.registry.modelRecord(owner, model);
    const limit = Math.min(
      detail.serving.timeout_ms ?? this.defaultTimeoutMs,
      call.timeoutMs ?? Number.POSITIVE_INFINITY,
    );
    const deadline = started + limit;
    const path = await this.registry.modelPath(version);
    const runner = await this.runnerFor(version, path, detail.serving, { signal: call.signal, deadline });
    const outputs = await runner.infer({
      inputs: call.inputs,
      outputs: call.outputs,
      deadline,
      signal: call.signal,
      caller: callerFor(call),
    });
    return { version, outputs };
  }

  /**
   * A sequence of runs on one version whose `feedback` outputs stay by the model (a decoder's KV
   * cache: see Runner.openSequence). The version, its serving settings and its runner are resolved
   * once, at the first run, not per step (a generation is one request); each run still gets the
   * model's deadline, the queue limit and cancellation by its signal.
   */
  sequence(
    owner: string,
    model: string,
    ref: string | undefined,
    feedback: Feedback,
    options: { batch?: BatchPlan; tenant?: string; priority?: Priority } = {},
  ): InferSequence {
    let opened: Promise<{ seq: RunnerSequence; limitMs: number }> | null = null;
    let closed = false;
    /** Known once resolved: a hang-up during the load is then counted against it. */
    let resolved: VersionRecord | null = null;
    // Scheduled as the caller bound to the first run's signal (the request's), unless given.
    const open = async (signal: AbortSignal | undefined) => {
      const version = await this.registry.resolve(owner, model, ref);
      resolved = version;
      const detail = await this.registry.modelRecord(owner, model);
      const runner = await this.pool.acquire(version, await this.registry.modelPath(version), detail.serving);
      return {
        seq: runner.openSequence(feedback, { ...options, caller: callerFor({ ...options, signal }) }),
        limitMs: detail.serving.timeout_ms ?? this.defaultTimeoutMs,
      };
    };
    return {
      run: async (call) => {
        if (closed) fail('internal', 'run on a closed sequence');
        // The sequence's runner loads once for all its runs: only a hang-up stops the wait here,
        // and the run's deadline starts after it (a large decoder loads for longer than a step
        // may take; its first request waits for the load, as the next ones do not).
        const { seq, limitMs } = await unlessGivenUp(
          () => {
            opened ??= open(call.signal);
            return opened;
          },
          call.signal,
          Number.POSITIVE_INFINITY,
          (reason) => {
            if (resolved) this.pool.noteDropped(resolved, undefined, reason);
          },
        );
        const started = Date.now();
        const limit = Math.min(limitMs, call.timeoutMs ?? Number.POSITIVE_INFINITY);
        return seq.run({
          inputs: call.inputs,
          outputs: call.outputs,
          deadline: started + limit,
          signal: call.signal,
        });
      },
      prefillChunk: async (signal) => {
        opened ??= open(signal);
        return (await opened).seq.prefillChunk;
      },
      close: () => {
        closed = true;
        opened?.then(
          (o) => o.seq.close(),
          () => undefined,
        );
      },
    };
  }

  /**
   * Run a file derived from `version` under the model's serving settings (queue, deadline,
   * metrics); its runner is loaded, evicted and unloaded like the version's own.
   */
  async inferDerived(
    version: VersionRecord,
    derived: DerivedModel,
    call: InferCall,
  ): Promise<Record<string, Tensor>> {
    const started = Date.now();
    const detail = await this.registry.modelRecord(version.owner, version.model);
    const limit = Math.min(
      detail.serving.timeout_ms ?? this.defaultTimeoutMs,
      call.timeoutMs ?? Number.POSITIVE_INFINITY,
    );
    const record = {
      ...version,
      digest: derived.digest,
      sizeBytes: derived.sizeBytes,
      signature: derived.signature,
    };
    const deadline = started + limit;
    const runner = await this.runnerFor(
      record,
      derived.path,
      detail.serving,
      { signal: call.signal, deadline },
      derived.role,
    );
    return runner.infer({
      inputs: call.inputs,
      outputs: call.outputs,
      deadline,
      signal: call.signal,
      caller: callerFor(call),
    });
  }
}
