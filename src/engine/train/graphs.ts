/**
 * Builds the three graphs of a model from one spec: the train step (forward, loss, backward,
 * optimizer update), the eval graph (forward, loss, metrics; parameters as an input) and the
 * inference graph (forward only; parameters baked in as initializers; symbolic batch dim).
 */

import { ancestors, gradients } from '../autodiff';
import { engineFail } from '../errors';
import { Graph } from '../ir/graph';
import type { Parameter, Value } from '../ir/types';
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
}

export function buildTrainGraph(
  spec: ModelSpec,
  optimizer: Optimizer,
  layout: Layout,
  dtype: 'float32' | 'float64',
): TrainGraph {
  const g = new Graph({ training: true, paramDType: dtype });
  const { flat, values } = bindPacked(g, spec.params, layout, dtype);
  const emitBuffers = bindBuffers(g, spec, dtype);
  const state: Values = {};
  for (const s of optimizer.stateNames) state[s] = g.input(s, dtype, [layout.total]);
  const lr = g.input('lr', dtype, []);
  const step = g.input('step', dtype, []);
  const batch = batchInputs(g, spec, false);
  const pred = spec.forward(batch, g);
  const loss = spec.loss(pred, batch);
  if (loss.shape.length !== 0)
    engineFail('invalid_graph', `the loss must be a scalar, got shape [${loss.shape}]`);
  const grads = gradients(g, loss, values).map((d, i) => {
    const flatGrad = d ?? g.op('Expand', [g.scalar(0, dtype)], { shape: values[i].shape.map(Number) });
    return g.op('Reshape', [flatGrad], { shape: [-1] });
  });
  const grad = grads.length === 1 ? grads[0] : g.op('Concat', grads, { axis: 0 });
  const update = optimizer.update({ g, params: flat, grad, state, lr, step });
  g.output('params_out', update.params);
  for (const s of optimizer.stateNames) g.output(`${s}_out`, update.state[s]);
  g.output('loss', loss);
  emitBuffers();
  const metricNames = addScalars(g, 'metric_', { ...spec.metrics?.(pred, batch), ...update.metrics });
  return { graph: g, metricNames, stateNames: optimizer.stateNames };
}

export function buildEvalGraph(spec: ModelSpec, layout: Layout, dtype: 'float32' | 'float64'): TrainGraph {
  const g = new Graph({ training: false, paramDType: dtype });
  bindPacked(g, spec.params, layout, dtype);
  bindBuffers(g, spec, dtype);
  const batch = batchInputs(g, spec, true);
  const pred = spec.forward(batch, g);
  g.output('loss', spec.loss(pred, batch));
  const metricNames = addScalars(g, 'metric_', spec.metrics?.(pred, batch));
  for (const [k, v] of Object.entries(pred)) g.output(`pred_${k}`, v);
  return { graph: g, metricNames, stateNames: [] };
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
