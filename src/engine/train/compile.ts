/**
 * `compileTrainStep` turns a model spec + optimizer into a running train step: one ONNX graph run
 * by ONNX Runtime per step, its new parameters and optimizer state fed straight back as the next
 * step's inputs (the output buffers are reused as inputs, no copies).
 *
 *   const trainer = await compileTrainStep({ model, optimizer: nn.adam() });
 *   const { loss, metrics } = await trainer.step({ x, y }, 1e-3);
 *   const onnxBytes = trainer.exportInference();
 */
import { engineFail } from '../errors';
import type { ConvWeightGradForm, Parameter } from '../ir/types';
import { encodeModel } from '../onnx/encode';
import { EngineSession, type SessionOptions } from '../runtime/session';
import { type Tensor, tensorFrom, zeros } from '../runtime/tensor';
import { buildWithConvGradForms, type ConvGradFormSetting } from './conv-forms';
import {
  buildEvalGraph,
  buildInferenceGraph,
  buildTrainGraph,
  chooseParamLayout,
  type Layout,
  type ModelSpec,
  type ParamLayout,
  packLayout,
  slotNames,
  type TrainGraph,
} from './graphs';
import type { Optimizer } from './optimizer';

export interface CompileOptions {
  model: ModelSpec;
  optimizer: Optimizer;
  /** float64 for numerical checks; float32 (default) for speed. */
  dtype?: 'float32' | 'float64';
  session?: SessionOptions;
  /** Parameter layout across the graph boundary (default: chosen from sizes and optimizer). */
  paramLayout?: ParamLayout;
  /**
   * Form of stride-1 Conv weight gradients: `auto` (default for float32) times both on this
   * machine per shape and keeps the faster; float64 graphs default to `swapped`; an earlier
   * step's `convWeightGradForms` repeats its choices (the two forms round differently).
   */
  convWeightGrad?: ConvGradFormSetting;
}

export interface StepResult {
  loss: number;
  metrics: Record<string, number>;
}

export interface EvalResult extends StepResult {
  /** Predictions by name (e.g. `logits`), for the batch evaluated. */
  predictions: Record<string, Tensor>;
}

/** A checkpoint: plain typed arrays and the step count. */
export interface TrainState {
  step: number;
  params: Float32Array | Float64Array;
  optimizer: Record<string, Float32Array | Float64Array>;
  /** Packed buffers (running statistics), when the model has any. */
  buffers?: Float32Array | Float64Array;
}

type Flat = Tensor<'float32'> | Tensor<'float64'>;

export class TrainStep {
  private stepCount = 0;
  private evalSession: EngineSession | null = null;
  private evalGraph: TrainGraph | null = null;
  private buffers: Flat | null;
  /** The shape of each slot: the flat vector when packed, each parameter's when separate. */
  private readonly slotDims: readonly (readonly number[])[];

  constructor(
    private readonly options: CompileOptions,
    private readonly session: EngineSession,
    private readonly train: TrainGraph,
    readonly layout: Layout,
    /** One tensor (packed) or one per parameter (separate), fed back as the next step's inputs. */
    private params: Flat[],
    private readonly optState: Record<string, Flat[]>,
    /**
     * The form each stride-1 Conv weight gradient took (by shape): pass it back as
     * `convWeightGrad` to compile the same arithmetic in another process (a resumed job).
     */
    readonly convWeightGradForms: Readonly<Record<string, ConvWeightGradForm>> = {},
  ) {
    const buffers = options.model.buffers ?? [];
    this.buffers = buffers.length ? pack(buffers, packLayout(buffers), this.dtype) : null;
    this.slotDims =
      train.mode === 'packed' ? [[layout.total]] : options.model.params.map((p) => p.value.dims);
  }

  get dtype(): 'float32' | 'float64' {
    return this.options.dtype ?? 'float32';
  }

  /** Number of trainable scalars. */
  get paramCount(): number {
    return this.layout.total;
  }

  get steps(): number {
    return this.stepCount;
  }

  get metricNames(): readonly string[] {
    return this.train.metricNames;
  }

  private scalar(v: number): Tensor {
    return tensorFrom(this.dtype, [], [v]);
  }

  /** float64 graphs take float32 batches too (converted here, a copy). */
  private convert(batch: Record<string, Tensor>): Record<string, Tensor> {
    if (this.dtype === 'float32') return batch;
    const out: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(batch)) {
      out[k] =
        t.dtype === 'float32'
          ? { dtype: 'float64', dims: t.dims, data: Float64Array.from(t.data as Float32Array) }
          : t;
    }
    return out;
  }

  /** One optimizer step on `batch` with learning rate `lr`. */
  async step(batch: Record<string, Tensor>, lr: number): Promise<StepResult> {
    const feeds: Record<string, Tensor> = {
      ...this.convert(batch),
      lr: this.scalar(lr),
      step: this.scalar(this.stepCount + 1),
    };
    this.feedSlots(feeds, 'params', this.params);
    for (const s of this.train.stateNames) this.feedSlots(feeds, s, this.optState[s]);
    if (this.buffers) feeds.buffers = this.buffers;
    const out = await this.session.run(feeds);
    if (this.buffers) this.buffers = out.buffers_out as Flat;
    this.params = this.slotOutputs(out, 'params');
    for (const s of this.train.stateNames) this.optState[s] = this.slotOutputs(out, s);
    this.stepCount++;
    return readScalars(out, this.train.metricNames);
  }

  /** Loss, metrics and predictions without training (Dropout off); any batch size. */
  async evaluate(batch: Record<string, Tensor>): Promise<EvalResult> {
    if (!this.evalSession) {
      this.evalGraph = buildEvalGraph(this.options.model, this.layout, this.dtype, this.train.mode);
      this.evalSession = await EngineSession.create(encodeModel(this.evalGraph.graph), this.sessionOptions());
    }
    const feeds: Record<string, Tensor> = this.convert(batch);
    this.feedSlots(feeds, 'params', this.params);
    if (this.buffers) feeds.buffers = this.buffers;
    const out = await this.evalSession.run(feeds);
    const predictions: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(out)) if (k.startsWith('pred_')) predictions[k.slice(5)] = v;
    return { ...readScalars(out, this.evalGraph!.metricNames), predictions };
  }

  /** Copy the current packed values back into the model's Parameter objects. */
  syncParameters(): void {
    unpack(this.options.model.params, this.layout, this.joined(this.params));
    const buffers = this.options.model.buffers ?? [];
    if (this.buffers) unpack(buffers, packLayout(buffers), this.buffers);
  }

  /** Inference ONNX: parameters as float32 initializers, batch dim symbolic (`batch`). */
  exportInference(): Uint8Array {
    this.syncParameters();
    return encodeModel(buildInferenceGraph(this.options.model), { name: 'maas-inference' });
  }

  state(): TrainState {
    const optimizer: TrainState['optimizer'] = {};
    for (const s of this.train.stateNames) optimizer[s] = this.joined(this.optState[s]).data.slice();
    const state: TrainState = {
      step: this.stepCount,
      params: this.joined(this.params).data.slice(),
      optimizer,
    };
    if (this.buffers) state.buffers = this.buffers.data.slice();
    return state;
  }

  load(state: TrainState): void {
    const check = (a: Float32Array | Float64Array | undefined, what: string, n = this.layout.total) => {
      if (!a || a.length !== n)
        engineFail('invalid_state', `checkpoint ${what} has ${a?.length ?? 0} values, expected ${n}`);
      return this.dtype === 'float64' ? Float64Array.from(a) : Float32Array.from(a);
    };
    // Validate everything before replacing anything: a bad checkpoint leaves the trainer as it was.
    const n = this.layout.total;
    const flat = (data: Float32Array | Float64Array) =>
      ({ dtype: this.dtype, dims: [data.length], data }) as Flat;
    const params = this.slots(flat(check(state.params, 'params')));
    const opt = this.train.stateNames.map(
      (s) => [s, this.slots(flat(check(state.optimizer[s], s, n)))] as const,
    );
    const buffers = this.buffers ? flat(check(state.buffers, 'buffers', this.buffers.data.length)) : null;
    this.params = params;
    for (const [s, t] of opt) this.optState[s] = t;
    this.buffers = buffers;
    this.stepCount = state.step;
  }

  /** Which layout the train graph uses (`separate`: one input per parameter tensor). */
  get paramLayout(): ParamLayout {
    return this.train.mode;
  }

  private feedSlots(feeds: Record<string, Tensor>, base: string, slots: Flat[]): void {
    slotNames(base, this.train.mode, slots.length).forEach((name, i) => {
      feeds[name] = slots[i];
    });
  }

  /** Each slot's new value in the slot's own shape (an update may come back as, e.g., a bias's
   * [1, out] GEMM result: same values, so only the dims are relabelled, no copy). */
  private slotOutputs(out: Record<string, Tensor>, base: string): Flat[] {
    return slotNames(base, this.train.mode, this.layout.sizes.length).map((name, i) => {
      const t = out[`${name}_out`] as Flat;
      return { ...t, dims: this.slotDims[i] } as Flat;
    });
  }

  /** The flat vector of some slots (the slot itself when packed; a concatenation when separate). */
  private joined(slots: Flat[]): Flat {
    if (this.train.mode === 'packed') return slots[0];
    const flat = zeros(this.dtype, [this.layout.total]) as Flat;
    slots.forEach((t, i) => {
      flat.data.set(t.data, this.layout.offsets[i]);
    });
    return flat;
  }

  /** A flat vector as the graph's slots (copies when separate, so slots never share a buffer). */
  private slots(flat: Flat): Flat[] {
    return splitSlots(flat, this.train.mode, this.layout, this.options.model.params);
  }

  private sessionOptions(): SessionOptions {
    return { graphOptimization: 'extended', ...this.options.session };
  }

  async release(): Promise<void> {
    await this.session.release();
    await this.evalSession?.release();
  }
}

/** Concatenate parameter values into one flat tensor (converting to `dtype`). */
function pack(params: readonly Parameter[], layout: Layout, dtype: 'float32' | 'float64'): Flat {
  const flat = zeros(dtype, [layout.total]) as Flat;
  params.forEach((p, i) => {
    flat.data.set(p.value.data as Float32Array, layout.offsets[i]);
  });
  return flat;
}

function splitSlots(flat: Flat, mode: ParamLayout, layout: Layout, params: readonly Parameter[]): Flat[] {
  if (mode === 'packed') return [flat];
  return params.map((p, i) => {
    const data = flat.data.slice(layout.offsets[i], layout.offsets[i] + layout.sizes[i]);
    return { dtype: flat.dtype, dims: p.value.dims, data } as Flat;
  });
}

/** Write slices of a flat tensor back into parameter objects (keeping each one's dtype). */
function unpack(params: readonly Parameter[], layout: Layout, flat: Flat): void {
  params.forEach((p, i) => {
    const slice = flat.data.subarray(layout.offsets[i], layout.offsets[i] + layout.sizes[i]);
    const data = p.value.dtype === 'float64' ? Float64Array.from(slice) : Float32Array.from(slice);
    p.value = { dtype: p.value.dtype, dims: p.value.dims, data } as Tensor;
  });
}

function readScalars(out: Record<string, Tensor>, metricNames: readonly string[]): StepResult {
  const metrics: Record<string, number> = {};
  for (const m of metricNames) metrics[m] = Number(out[`metric_${m}`].data[0]);
  return { loss: Number(out.loss.data[0]), metrics };
}

export async function compileTrainStep(options: CompileOptions): Promise<TrainStep> {
  const dtype = options.dtype ?? 'float32';
  const layout = packLayout(options.model.params);
  const mode = options.paramLayout ?? chooseParamLayout(layout, options.optimizer);
  const sessionOptions: SessionOptions = { graphOptimization: 'extended', ...options.session };
  const { built: train, forms } = await buildWithConvGradForms(
    (choose) => buildTrainGraph(options.model, options.optimizer, layout, dtype, mode, choose),
    options.convWeightGrad ?? (dtype === 'float32' ? 'auto' : 'swapped'),
    sessionOptions,
  );
  const session = await EngineSession.create(
    encodeModel(train.graph, { name: 'maas-train-step' }),
    sessionOptions,
  );
  const params = splitSlots(pack(options.model.params, layout, dtype), mode, layout, options.model.params);
  const state: Record<string, Flat[]> = {};
  for (const s of train.stateNames)
    state[s] = splitSlots(zeros(dtype, [layout.total]) as Flat, mode, layout, options.model.params);
  return new TrainStep(options, session, train, layout, params, state, forms);
}
