import type { EngineSession } from '../../../src/engine/runtime/session';
import type { Tensor } from '../../../src/engine/runtime/tensor';
import type { RunModel } from '../../../src/models/task';

export type { Tensor } from '../../../src/engine/runtime/tensor';
export type { EmbeddingRuntime, RuntimeContext, TextGenerationRuntime } from '../../../src/models/task';

/** The platform's `run`, bound straight to a real ORT session; records each call's feeds in `log`. */
export function countingRun(session: EngineSession, log?: Record<string, Tensor>[]): RunModel {
  return (inputs, options) => {
    log?.push(inputs);
    return session.run(inputs, options?.outputs);
  };
}
