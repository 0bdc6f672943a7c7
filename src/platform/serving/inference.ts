/**
 * Inference as the API sees it: resolve a model version, get its runner (loading on first use),
 * apply the deadline, run. Compatibility surfaces (KServe v2 now, OpenAI later) translate their
 * wire formats at the edge and call this.
 */
import type { Tensor } from '../../engine/runtime/tensor';
import type { ModelSignature, VersionRecord } from '../../store/ports';
import type { Registry } from '../registry/registry';
import type { RunnerPool } from './pool';

export interface InferCall {
  inputs: Record<string, Tensor>;
  outputs?: readonly string[];
  /** A tighter deadline than the model's/server's (ms). */
  timeoutMs?: number;
  signal?: AbortSignal;
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
    const runner = await this.pool.acquire(version, this.registry.pathOf(version), detail.serving);
    const outputs = await runner.infer({
      inputs: call.inputs,
      outputs: call.outputs,
      deadline: started + limit,
      signal: call.signal,
    });
    return { version, outputs };
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
    const runner = await this.pool.acquire(record, derived.path, detail.serving, derived.role);
    return runner.infer({
      inputs: call.inputs,
      outputs: call.outputs,
      deadline: started + limit,
      signal: call.signal,
    });
  }
}
