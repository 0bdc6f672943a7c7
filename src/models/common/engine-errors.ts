/**
 * Engine errors → catalog errors, where a caller's input reaches the engine (a training job's
 * hyperparameters, a stored model rebuilt for explanations). What the caller could have caused —
 * an impossible graph, an unknown attribute, a checkpoint that does not fit — becomes `callerCode`;
 * bytes that are not ONNX become `invalid_model`; what only a bug can cause (a duplicate or unknown
 * op, a broken invariant) stays an internal error (500), whatever the caller sent.
 */
import { type ErrorCode, MaasError } from '../../common/errors';
import { type EngineErrorReason, isEngineError } from '../../engine/index';

const callerCaused: Record<EngineErrorReason, boolean> = {
  invalid_graph: true,
  invalid_attribute: true,
  no_gradient: true,
  invalid_state: true,
  invalid_model: true,
  duplicate: false,
  unknown_op: false,
  internal: false,
};

/** `e` as a catalog error when it is an engine error; anything else unchanged. */
export function toCatalogError(e: unknown, callerCode: ErrorCode = 'invalid_request'): unknown {
  if (!isEngineError(e)) return e;
  if (e.reason === 'invalid_model') return new MaasError('invalid_model', e.message);
  return new MaasError(callerCaused[e.reason] ? callerCode : 'internal', e.message);
}
