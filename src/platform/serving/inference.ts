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
import { type Caller, currentCaller, type Priority } from './caller';
import type { RunnerPool } from './pool';
import type { Runner, RunnerSequence } from './runner';

export interface InferCall {
  inputs: Record<string, Tensor>;
  outputs?: readonly string[];
  /** A tighter deadline than the model's/server's (ms). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Whose run it is (fair scheduling); default: the request's caller (`runAs`). */
  caller?: Caller;
  /** `batch` waits behind every `interactive` request of the model; default: the caller's, else interactive. */
  priority?: Priority;
}

/** The caller a run is scheduled as: the call's own, else the request's, at the call's priority. */
function callerFor(call: Pick<InferCall, 'caller' | 'priority'>): Caller | undefined {
  const base = call.caller ?? currentCaller();
  if (!call.priority) return base;
  return { ...(base ?? { tenant: '' }), priority: call.priority };
}

/**
 * `load()` (a runner being acquired, loading it if needed), unless `signal` aborts first. A load
 * cannot be interrupted (ORT builds the session in its thread), but the caller that hung up, or
 * whose prediction was canceled, must not wait for it: a large model's load takes seconds to
 * minutes, and a canceled prediction holds its slot until this returns. A load begun goes on and
 * its runner serves the next request; a caller already gone starts none (a load may unload idle
 * models to make room).
 */
function unlessAborted<T>(load: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return load();
  const closed = () => new MaasError('client_closed', 'the client closed the request');
  if (signal.aborted) return Promise.reject(closed());
  const loading = load();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(closed());
    signal.addEventListener('abort', onAbort, { once: true });
    loading.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A sequence of runs on one version (see `InferenceService.sequence`). */
export interface InferSequence {
  run(call: InferCall): Promise<Record<string, Tensor>>;
  /** For batched sequences: the most tokens a prefill run takes (resolves the runner). */
  prefillChunk(): Promise<number | undefined>;
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
   * The version's runner. A loaded one answers a hang-up itself (and counts the drop); a load is
   * raced against the caller's signal here, and a caller gone during it is counted as dropped.
   */
  private async runnerFor(
    version: VersionRecord,
    path: string,
    detail: { serving: ServingSettings },
    signal: AbortSignal | undefined,
    role?: string,
  ): Promise<Runner> {
    const acquire = () => this.pool.acquire(version, path, detail.serving, role);
    if (!signal || this.pool.isLoaded(version, role)) return acquire();
    try {
      return await unlessAborted(acquire, signal);
    } catch (e) {
      if (signal.aborted) this.pool.noteDropped(version, role, 'client_closed');
      throw e;
    }
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
    const runner = await this.runnerFor(version, await this.registry.modelPath(version), detail, call.signal);
    const outputs = await runner.infer({
      inputs: call.inputs,
      outputs: call.outputs,
      deadline: started + limit,
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
    const open = async () => {
      const version = await this.registry.resolve(owner, model, ref);
      const detail = await this.registry.modelRecord(owner, model);
      const runner = await this.pool.acquire(version, await this.registry.modelPath(version), detail.serving);
      return {
        seq: runner.openSequence(feedback, { ...options, caller: callerFor(options) }),
        limitMs: detail.serving.timeout_ms ?? this.defaultTimeoutMs,
      };
    };
    return {
      run: async (call) => {
        const started = Date.now();
        if (closed) fail('internal', 'run on a closed sequence');
        const { seq, limitMs } = await unlessAborted(() => {
          opened ??= open();
          return opened;
        }, call.signal);
        const limit = Math.min(limitMs, call.timeoutMs ?? Number.POSITIVE_INFINITY);
        return seq.run({
          inputs: call.inputs,
          outputs: call.outputs,
          deadline: started + limit,
          signal: call.signal,
        });
      },
      prefillChunk: async () => {
        opened ??= open();
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
    const runner = await this.runnerFor(record, derived.path, detail, call.signal, derived.role);
    return runner.infer({
      inputs: call.inputs,
      outputs: call.outputs,
      deadline: started + limit,
      signal: call.signal,
      caller: callerFor(call),
    });
  }
}
