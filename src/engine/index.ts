/**
 * The engine's boundary: what other layers may use. Outside `src/engine/`, modules import from
 * here, plus `runtime/tensor` for tensors (the one other door: it carries no native code, so the
 * data layer can use tensors without loading ONNX Runtime); the files behind it may move freely.
 * `.dependency-cruiser.cjs` enforces it (rule `engine-only-through-its-index`), and knip keeps
 * this list to what is used: export more when another layer needs it.
 *
 *   graph IR      Graph, Value, Parameter                  (build graphs; typed `g.op(...)`)
 *   autodiff      gradients                                (reverse mode over a Graph)
 *   ONNX          encodeModel, decodeModel, quantizeModel  (write, read, quantise .onnx files)
 *   train steps   compileTrainStep, ModelSpec, Optimizer   (one ONNX train-step graph, run by ORT)
 *   runtime       EngineSession, SequenceStates            (the only onnxruntime-node wrapper)
 *   errors        EngineError                              (translated to catalog errors by callers)
 */
export { gradients } from './autodiff';
export { EngineError, type EngineErrorReason, isEngineError } from './errors';
export { Graph } from './ir/graph';
export type { ConvWeightGradForm, Parameter, Value } from './ir/types';
export {
  decodeModel,
  OnnxDecodeError,
  type OnnxModelInfo,
  type OnnxValueInfo,
  onnxElementTypes,
  readInitializers,
} from './onnx/decode';
export { encodeModel, encodeModelParts } from './onnx/encode';
export { importOnnx, missingOps } from './onnx/import';
export { type ImportedLayer, type ImportedWeight, importedLayers } from './onnx/import-layers';
export { inlineExternalData, replaceInitializers } from './onnx/patch';
export { quantizeInt8 } from './onnx/quantize/pack';
export {
  type QuantizeReport,
  type QuantizeTarget,
  quantizeModel,
} from './onnx/quantize/rewrite';
export { costFollowsShapes } from './onnx/shape-bound';
export { enableStorageRelease, releaseStorage } from './runtime/release';
export { type BatchPlan, type Feedback, SequenceStates } from './runtime/sequence';
export { EngineSession, type SessionOptions, type ValueSignature } from './runtime/session';
export { spinWhileRunning } from './runtime/spinning';
export { compileTrainStep, type TrainState, type TrainStep } from './train/compile';
export type { ModelSpec, Values } from './train/graphs';
export type { Optimizer, OptimizerContext, OptimizerUpdate } from './train/optimizer';
