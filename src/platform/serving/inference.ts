/**
 * Inference as the API sees it: resolve a model version, get its runner (loading on first use),
 * apply the deadline, run. Compatibility surfaces (KServe v2 now, OpenAI later) translate their
 * wire formats at the edge and call this.
 */
import type { Tensor } from '../../engine/runtime/tensor';
import type { VersionRecord } from '../../store/ports';
import type { Registry } from '../registry/registry';
import type { RunnerPool } from './pool';

export interface InferCall {
  inputs: Record<string, Tensor>;
  outputs?: readonly string[];
  /** A tighter deadline than the model's/server's (ms). */
  timeoutMs?: number;
  signal?: AbortSignal;
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
}
