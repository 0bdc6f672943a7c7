/**
 * Builds the three graphs of a model from one spec: the train step (forward, loss, backward,
 * optimizer update), the eval graph (forward, loss, metrics; parameters as an input) and the
 * inference graph (forward only; parameters baked in as initializers; symbolic batch dim).
 */

import { ancestors, gradients } from '../autodiff';
import { engineFail } from '../errors';
import { Graph } from '../ir/graph';
import type { ConvGradChooser, Parameter, Value } from '../ir/types';
import type { TensorDType } from '../runtime/tensor';
import type { Optimizer } from './optimizer';

export interface BatchField {
  dtype: TensorDType;
  /** Static shape for training; the first dim is the batch dim (symbolic in eval/inference). */
  shape: readonly number[];
}

export type Values = Record<string, Value>;

export interface ModelSpec {
  /** Trainable parameters, packed in this order. */
  params: readonly Parameter[];
  batch: Readonly<Record<string, BatchField>>;
  /** Predictions from a batch; `g.training` says whether Dropout is active. */
  forward(batch: Values, g: Graph): Values;
  /** Scalar loss. */
  loss(pred: Values, batch: Values): Value;
  /** Scalar metrics reported with the loss (e.g. accuracy). */
  metrics?(pred: Values, batch: Values): Values;
  /**
   * Non-trainable tensors updated by the forward pass through `g.assign` (running statistics);
   * packed into `buffers` [B] → `buffers_out`, baked in as initializers for inference.
   */
  buffers?: readonly Parameter[];
  /** Which predictions the inference graph outputs (default: all). */
  inferenceOutputs?: readonly string[];
}

export const BATCH = 'batch';

export interface Layout {
  offsets: number[];
  sizes: number[];
  total: number;
}

/**
 * How parameters and optimizer state cross the graph boundary. `packed`: one flat vector each
 * (fewest inputs/outputs, one update node per formula; costs a Split of the parameters and a
 * Concat of the gradients, each a copy of every parameter). `separate`: one input/output per
 * parameter and an update per parameter (no Split/Concat/Reshape copies; more nodes and I/O).
 */
export type ParamLayout = 'packed' | 'separate';

/** Graph input names of a packed vector `base` (`params`, `m`, …) under a layout. */
export function slotNames(base: string, mode: ParamLayout, count: number): string[] {
  return mode === 'packed' ? [base] : Array.from({ length: count }, (_, i) => `${base}_${i}`);
}

/**
 * `separate` pays when each parameter tensor is large (the copies it saves grow with the bytes,
 * the extra nodes and I/O it costs do not) and the optimizer treats elements independently.
 * Measured on the MLP 784-256-256-10 (6 tensors, 45 K scalars each): packing was ≈ 20 % of a step.
 */
export const SEPARATE_MIN_MEAN_SIZE = 16_384;

export function chooseParamLayout(layout: Layout, optimizer: Optimizer): ParamLayout {
  if (!optimizer.elementwise || layout.sizes.length < 2) return 'packed';
  return layout.total / layout.sizes.length >= SEPARATE_MIN_MEAN_SIZE ? 'separate' : 'packed';
}

export function packLayout(params: readonly Parameter[], allowEmpty = false): Layout {
  const sizes = params.map((p) => p.value.data.length);
  const offsets: number[] = [];
  let total = 0;
  for (const s of sizes) {
    offsets.push(total);
    total += s;
  }
  if (total === 0 && !allowEmpty) engineFail('invalid_graph', 'the model has no parameters');
  return { offsets, sizes, total };
}

/**
 * Float batch fields take the graph's float dtype: float64 in float64 train/eval graphs (the step
 * converts float32 batches), float32 in inference graphs.
 */
export function fieldDType(f: BatchField, dtype: 'float32' | 'float64'): TensorDType {
  return f.dtype === 'float32' || f.dtype === 'float64' ? dtype : f.dtype;
}

function batchInputs(g: Graph, spec: ModelSpec, symbolic: boolean): Values {
  const out: Values = {};
  for (const [name, f] of Object.entries(spec.batch)) {
    const shape = symbolic ? [BATCH, ...f.shape.slice(1)] : f.shape;
    out[name] = g.input(name, fieldDType(f, g.paramDType), shape);
  }
  return out;
}

/** Bind every parameter to its own input `name_i` with the parameter's shape (no copies). */
function bindSeparate(g: Graph, params: readonly Parameter[], dtype: TensorDType, name = 'params'): Value[] {
  return params.map((p, i) => {
    const v = g.input(`${name}_${i}`, dtype, p.value.dims);
    g.bindParam(p, v);
    return v;
  });
}

/** Bind every parameter to a slice of a flat input vector `name` [P]. */
function bindPacked(
  g: Graph,
  params: readonly Parameter[],
  layout: Layout,
  dtype: TensorDType,
  name = 'params',
): { flat: Value; values: Value[] } {
  const flat = g.input(name, dtype, [layout.total]);
  const parts = params.length === 1 ? [flat] : g.ops('Split', [flat], { axis: 0, split: layout.sizes });
  const values = params.map((p, i) => {
    const v = g.op('Reshape', [parts[i]], { shape: p.value.dims });
    g.bindParam(p, v);
    return v;
  });
  return { flat, values };
}

/** Bind buffers (if any) to the `buffers` input; returns a function emitting `buffers_out`. */
function bindBuffers(g: Graph, spec: ModelSpec, dtype: TensorDType): () => void {
  const buffers = spec.buffers ?? [];
  const checkAssigned = () => {
    for (const p of g.assignments.keys()) {
      if (!buffers.includes(p))
        engineFail('invalid_graph', `'${p.name}' is assigned but not listed in the model's buffers`);
    }
  };
  if (buffers.length === 0) return checkAssigned;
  const { values } = bindPacked(g, buffers, packLayout(buffers), dtype, 'buffers');
  return () => {
    checkAssigned();
    const next = buffers.map((b, i) => g.op('Reshape', [g.assignments.get(b) ?? values[i]], { shape: [-1] }));
    g.output('buffers_out', next.length === 1 ? next[0] : g.op('Concat', next, { axis: 0 }));
  };
}

function addScalars(g: Graph, prefix: string, values: Values | undefined): string[] {
  const names: string[] = [];
  for (const [k, v] of Object.entries(values ?? {})) {
    if (v.shape.length !== 0)
      engineFail('invalid_graph', `metric '${k}' must be a scalar, got shape [${v.shape}]`);
    g.output(`${prefix}${k}`, v);
    names.push(k);
  }
  return names;
}

export interface TrainGraph {
  graph: Graph;
  metricNames: string[];
  stateNames: readonly string[];
  mode: ParamLayout;
}

export function buildTrainGraph(
  spec: ModelSpec,
  optimizer: Optimizer,
  layout: Layout,
  dtype: 'float32' | 'float64',
  mode: ParamLayout = 'packed',
  convWeightGradForm?: ConvGradChooser,
): TrainGraph {
  const g = new Graph({ training: true, paramDType: dtype, convWeightGradForm });
  const packed = mode === 'packed' ? bindPacked(g, spec.params, layout, dtype) : null;
  const values = packed ? packed.values : bindSeparate(g, spec.params, dtype);
  const emitBuffers = bindBuffers(g, spec, dtype);
  const stateInputs: Record<string, Value[]> = {};
  for (const s of optimizer.stateNames) {
    stateInputs[s] =
      mode === 'packed'
        ? [g.input(s, dtype, [layout.total])]
        : spec.params.map((p, i) => g.input(`${s}_${i}`, dtype, p.value.dims));
  }
  const lr = g.input('lr', dtype, []);
  const step = g.input('step', dtype, []);
  const batch = batchInputs(g, spec, false);
  const pred = spec.forward(batch, g);
  const loss = spec.loss(pred, batch);
  if (loss.shape.length !== 0)
    engineFail('invalid_graph', `the loss must be a scalar, got shape [${loss.shape}]`);
  const seed = optimizer.gradientScale?.(g, lr);
  const grads = gradients(g, loss, values, seed).map(
    (d, i) => d ?? g.op('Expand', [g.scalar(0, dtype)], { shape: values[i].shape.map(Number) }),
  );
  // Packed: one update over the flat vectors. Separate: one update per parameter, its own slots.
  const groups = packed
    ? [{ params: packed.flat, grad: concatFlat(g, grads) }]
    : values.map((v, i) => ({ params: v, grad: grads[i] }));
  const paramNames = slotNames('params', mode, spec.params.length);
  let metrics: Values = {};
  groups.forEach((group, i) => {
    const state: Values = {};
    for (const s of optimizer.stateNames) state[s] = stateInputs[s][i];
    const update = optimizer.update({ g, ...group, state, lr, step });
    if (size(update.params) !== size(group.params))
      engineFail('internal', `update of [${group.params.shape}] came back as [${update.params.shape}]`);
    g.output(`${paramNames[i]}_out`, update.params);
    for (const s of optimizer.stateNames)
      g.output(`${slotNames(s, mode, groups.length)[i]}_out`, update.state[s]);
    metrics = { ...metrics, ...update.metrics };
  });
  g.output('loss', loss);
  emitBuffers();
  const metricNames = addScalars(g, 'metric_', { ...spec.metrics?.(pred, batch), ...metrics });
  return { graph: g, metricNames, stateNames: optimizer.stateNames, mode };
}

/** Number of elements of a fixed-shape value (NaN when a dimension is symbolic). */
function size(v: Value): number {
  return v.shape.reduce<number>((n, d) => n * Number(d), 1);
}

function concatFlat(g: Graph, grads: Value[]): Value {
  const flat = grads.map((d) => g.op('Reshape', [d], { shape: [-1] }));
  return flat.length === 1 ? flat[0] : g.op('Concat', flat, { axis: 0 });
}

export function buildEvalGraph(
  spec: ModelSpec,
  layout: Layout,
  dtype: 'float32' | 'float64',
  mode: ParamLayout = 'packed',
): TrainGraph {
  const g = new Graph({ training: false, paramDType: dtype });
  if (mode === 'packed') bindPacked(g, spec.params, layout, dtype);
  else bindSeparate(g, spec.params, dtype);
  bindBuffers(g, spec, dtype);
  const batch = batchInputs(g, spec, true);
  const pred = spec.forward(batch, g);
  g.output('loss', spec.loss(pred, batch));
  const metricNames = addScalars(g, 'metric_', spec.metrics?.(pred, batch));
  for (const [k, v] of Object.entries(pred)) g.output(`pred_${k}`, v);
  return { graph: g, metricNames, stateNames: [], mode };
}

/** Forward only, parameters as initializers, unused batch fields (labels) dropped. */
export function buildInferenceGraph(spec: ModelSpec): Graph {
  const g = new Graph({ training: false, paramDType: 'float32' });
  const batch = batchInputs(g, spec, true);
  const pred = spec.forward(batch, g);
  const names = spec.inferenceOutputs ?? Object.keys(pred);
  for (const n of names) {
    if (!pred[n]) engineFail('invalid_graph', `no prediction named '${n}'`);
    g.output(n, pred[n]);
  }
  const used = new Set(ancestors(names.map((n) => pred[n])).flatMap((node) => node.inputs.map((v) => v.id)));
  for (const n of names) used.add(pred[n].id);
  for (let i = g.inputs.length - 1; i >= 0; i--) if (!used.has(g.inputs[i].id)) g.inputs.splice(i, 1);
  return g;
}
