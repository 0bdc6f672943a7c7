/** Real ONNX Runtime sessions as the `run` a task runtime is given (what the platform injects). */
import { EngineSession } from '../../../src/engine/runtime/session';
import type { RunModel } from '../../../src/models/task';

export interface Loaded {
  session: EngineSession;
  run: RunModel;
}

export async function load(onnx: Uint8Array): Promise<Loaded> {
  const session = await EngineSession.create(onnx);
  return { session, run: (inputs, options) => session.run(inputs, options?.outputs) };
}
