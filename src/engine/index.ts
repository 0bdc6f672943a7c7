/**
 * The engine's boundary: everything other layers may use. Outside `src/engine/`, modules import
 * from here (or from `runtime/tensor`, which carries no native code, for tensors alone); the
 * files behind it may move freely. `.dependency-cruiser.cjs` enforces it (rule
 * `engine-only-through-its-index`).
 *
 *   graph IR      Graph, Value, Parameter, op attributes   (build forward graphs; `g.op(...)`)
 *   autodiff      gradients                                (reverse mode over a Graph)
 *   ONNX          encodeModel, OPSET, decodeModel, ...     (write and read .onnx files)
 *   train steps   compileTrainStep, buildInferenceGraph    (one ONNX train-step graph, run by ORT)
 *   runtime       EngineSession, SequenceStates, tensors   (the only onnxruntime-node wrapper)
 *   errors        EngineError                              (translated to catalog errors by callers)
 */
export { gradients } from './autodiff';
export { EngineError, type EngineErrorReason, isEngineError } from './errors';
export { Graph, type GraphOptions } from './ir/graph';
export type { Attrs, AttrValue, Dim, Parameter, Shape, Value, ValueInfo } from './ir/types';
export {
  type DecodedTensor,
  decodeModel,
  decodeTensorProto,
  OnnxDecodeError,
  type OnnxModelInfo,
  type OnnxValueInfo,
  onnxElementTypes,
  readInitializers,
} from './onnx/decode';
export { encodeModel, OPSET } from './onnx/encode';
export { type Feedback, SequenceStates } from './runtime/sequence';
export {
  EngineSession,
  type GraphOptimization,
  type SessionOptions,
  type ValueSignature,
} from './runtime/session';
export {
  elementCount,
  type Tensor,
  type TensorArray,
  type TensorDType,
  tensorFrom,
  toNumbers,
  zeros,
} from './runtime/tensor';
export { compileTrainStep, type TrainState, type TrainStep } from './train/compile';
export { buildInferenceGraph, type ModelSpec, type Values } from './train/graphs';
export type { Optimizer, OptimizerContext, OptimizerUpdate } from './train/optimizer';
