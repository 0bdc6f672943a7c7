/**
 * The engine's own errors. The engine knows graphs, ops and tensors, not HTTP: it says *what*
 * went wrong (`reason`), and the layer that called it decides what that means for its caller —
 * a bad hyperparameter that made an impossible graph fails a training job as a bad request
 * (`src/models/common/engine-errors.ts`), while a duplicate op is a programming error (500).
 */
export type EngineErrorReason =
  /** Shapes, dtypes or wiring that do not fit (an op's shape rule, a non-scalar loss, …). */
  | 'invalid_graph'
  /** An op attribute that the op does not declare, or of the wrong kind. */
  | 'invalid_attribute'
  /** A gradient asked of an op (or a form of it) that has none. */
  | 'no_gradient'
  /** A name registered or declared twice (op, graph input or output, parameter, buffer). */
  | 'duplicate'
  | 'unknown_op'
  /** Saved state (a checkpoint) that does not fit the compiled step. */
  | 'invalid_state'
  /** Bytes that are not a (decodable) ONNX model or tensor. */
  | 'invalid_model'
  /** A broken invariant of the engine itself. */
  | 'internal';

export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    readonly reason: EngineErrorReason,
    message: string,
  ) {
    super(message);
  }
}

export function isEngineError(e: unknown): e is EngineError {
  return e instanceof EngineError;
}

/** Throw an EngineError (typed `never`, so it narrows like `fail`). */
export function engineFail(reason: EngineErrorReason, message: string): never {
  throw new EngineError(reason, message);
}
