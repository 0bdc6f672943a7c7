/**
 * ONNX → graph IR. An imported graph is an IR graph like any other: `gradients()` differentiates
 * it (saliency, fine-tuning) and `encodeModel` writes it back out (the round trip gives the same
 * outputs as the original). Float initializers of rank ≥ 1 become Parameters under their ONNX
 * names; other initializers and Constant nodes become constants; shape arithmetic is folded at
 * import time (`import-fold.ts`). Subgraph ops (If, Loop, Scan) and ops outside the importer's
 * table are refused with the list of what is missing.
 *
 *   const m = importOnnx(bytes, { dims: { batch: 1 } });
 *   const [dx] = gradients(m.graph, loss(m.outputs[0].value), [m.inputs[0]]);
 */
import { engineFail } from '../errors';
import { Graph } from '../ir/graph';
import type { Dim, Parameter, Value } from '../ir/types';
import { isFloat } from '../ops/util';
import { isTensorDType, type TensorDType } from '../runtime/tensor';
import type { OnnxValueInfo } from './decode';
import { folders, type Known, knownOfTensor, numeric, tensorOfKnown } from './import-fold';
import type { NodeImport } from './import-node';
import { importableOps, importRow } from './import-ops';
import { type OnnxGraph, type OnnxNode, readOnnxGraph, readOpTypes } from './import-proto';

export interface ImportOptions {
  /**
   * Sizes for symbolic dims, by name (`{ batch: 1 }`). Gradients need static shapes; the round
   * trip does not. An input dim the file leaves unnamed is called `<input>_<axis>`.
   */
  dims?: Readonly<Record<string, Dim>>;
  /** float64: float32 inputs, weights and constants become float64 (finite-difference checks). */
  float64?: boolean;
  /**
   * Weights as graph inputs of the same names instead of initializers (bound with
   * `Graph.bindParam`), so one session can evaluate the graph at other weights (finite differences).
   */
  paramsAsInputs?: boolean;
  /**
   * Build into this graph instead of a new one (e.g. a saliency graph around the model); the
   * model's outputs are then returned, not declared as outputs of `graph`.
   */
  graph?: Graph;
  /** Values that stand for graph inputs by name (in `graph`), instead of new graph inputs. */
  feeds?: Readonly<Record<string, Value>>;
  /**
   * Fine-tuning: the weights to train, by initializer name, as Parameters the caller owns (the
   * same objects in the train, eval and inference graphs; a value of other dims replaces the
   * file's, e.g. a new classification head). Every other float initializer is imported as a
   * constant, i.e. frozen.
   */
  trainable?: ReadonlyMap<string, Parameter>;
  /**
   * Stands a frozen weight's value in for something computed from it (LoRA: W + s·A·B with A and
   * B trainable); called once per weight, on its first use. Return the value itself to keep it.
   */
  substitute?: (name: string, weight: Value) => Value;
}

export interface ImportedModel {
  graph: Graph;
  /** Trainable weights: float initializers of rank ≥ 1, in the file's order of first use. */
  params: Parameter[];
  inputs: { name: string; value: Value }[];
  outputs: { name: string; value: Value }[];
  /** The model's own inputs as the file declares them (weights listed as inputs left out). */
  declared: OnnxValueInfo[];
  /** Opset version per domain ('' = ONNX). */
  opsets: Record<string, number>;
}

/** Ops read only by folding (their results must be known at import time). */
const FOLD_ONLY = ['Constant', 'Shape', 'ConstantOfShape', 'Range', 'Size'];
const CONTROL_FLOW = new Set(['If', 'Loop', 'Scan', 'SequenceMap']);

/** The ONNX op types (default domain) the importer reads. */
export const importedOps = (): string[] => importableOps(FOLD_ONLY);

/**
 * Op types of a model outside the importer's table, each once, sorted: `Op` for the default
 * domain, `domain.Op` for others. Reads node headers only (cheap on big models).
 */
export function missingOps(bytes: Uint8Array): string[] {
  const known = new Set(importedOps());
  const missing = new Set<string>();
  for (const { domain, opType } of readOpTypes(bytes)) {
    if (domain !== '') missing.add(`${domain}.${opType}`);
    else if (!known.has(opType)) missing.add(opType);
  }
  return [...missing].sort();
}

function constantValue(node: OnnxNode): Known | null {
  const [name, a] = Object.entries(node.attrs)[0] ?? [];
  if (!a) return null;
  if (a.kind === 'tensor') return knownOfTensor(a.value);
  if (name === 'value_float' && a.kind === 'float') return { dtype: 'float32', dims: [], values: [a.value] };
  if (name === 'value_floats' && a.kind === 'floats')
    return { dtype: 'float32', dims: [a.value.length], values: a.value };
  if (name === 'value_int' && a.kind === 'int') return { dtype: 'int64', dims: [], values: [a.value] };
  if (name === 'value_ints' && a.kind === 'ints')
    return { dtype: 'int64', dims: [a.value.length], values: a.value };
  return null;
}

class Importer {
  readonly g: Graph;
  readonly values = new Map<string, Value>();
  readonly known = new Map<string, Known>();
  readonly params: Parameter[] = [];
  private readonly consumers = new Set<string>();
  private readonly floatType: TensorDType;

  constructor(
    private readonly onnx: OnnxGraph,
    private readonly options: ImportOptions,
  ) {
    this.floatType = options.float64 ? 'float64' : 'float32';
    this.g = options.graph ?? new Graph({ paramDType: this.floatType });
    for (const n of onnx.nodes) for (const i of n.inputs) this.consumers.add(i);
    for (const o of onnx.outputs) this.consumers.add(o.name);
  }

  private dtype(d: TensorDType): TensorDType {
    return d === 'float32' ? this.floatType : d;
  }

  declareInputs(): void {
    const initialized = new Set(this.onnx.initializers.keys());
    for (const info of this.onnx.inputs) {
      if (initialized.has(info.name)) continue; // old exporters list weights as inputs too
      if (!isTensorDType(info.elemType))
        engineFail(
          'invalid_model',
          `input '${info.name}' is of type ${info.elemType}, which maas cannot import`,
        );
      if (!info.shape) engineFail('invalid_model', `input '${info.name}' has no declared shape`);
      const shape: Dim[] = info.shape.map((d, axis) => {
        const named = typeof d === 'string' ? d : d < 0 ? `${info.name}_${axis}` : d;
        return typeof named === 'string' ? (this.options.dims?.[named] ?? named) : named;
      });
      const fed = this.options.feeds?.[info.name];
      if (fed) {
        const fits = fed.shape.length === shape.length && fed.shape.every((d, i) => d === shape[i]);
        if (!fits) engineFail('invalid_graph', `input '${info.name}' is [${shape}], fed [${fed.shape}]`);
        this.values.set(info.name, fed);
      } else this.values.set(info.name, this.g.input(info.name, this.dtype(info.elemType), shape));
    }
  }

  /** A named value as a graph value: initializers become parameters or constants on first use. */
  value(name: string, dtype?: TensorDType): Value {
    const v = this.values.get(name);
    if (v) return v;
    const t = this.onnx.initializers.get(name);
    const frozen = this.options.trainable && !this.options.trainable.has(name);
    if (t && isFloat(t.dtype) && t.dims.length > 0 && !frozen) {
      const p: Parameter = this.options.trainable?.get(name) ?? { name, value: t };
      this.params.push(p);
      let value: Value;
      if (this.options.paramsAsInputs) {
        value = this.g.input(name, this.floatType, t.dims);
        this.g.bindParam(p, value);
      } else value = this.g.param(p);
      this.values.set(name, value);
      return value;
    }
    if (frozen && t && isFloat(t.dtype) && t.dims.length > 0 && !dtype && !this.options.float64) {
      const c = this.g.constant(t);
      const v = this.options.substitute?.(name, c) ?? c;
      this.values.set(name, v);
      return v;
    }
    const k = this.known.get(name) ?? (t ? knownOfTensor(t) : null);
    if (!k) {
      const problem = this.onnx.unreadable.get(name);
      engineFail(
        'invalid_model',
        problem ? `initializer '${name}': ${problem}` : `value '${name}' is used before it is computed`,
      );
    }
    if (!numeric(k))
      engineFail(
        'invalid_graph',
        `'${name}' depends on the symbolic dims [${k.values.filter((d) => typeof d === 'string')}]: give them sizes`,
      );
    const c = this.g.constant(tensorOfKnown({ ...k, dtype: dtype ?? this.dtype(k.dtype) }));
    if (!dtype) this.values.set(name, c);
    return c;
  }

  /** A value known at import time: a constant, an int initializer, a folded result, or a static shape. */
  knownValue(name: string): Known | null {
    const k = this.known.get(name);
    if (k) return k;
    const t = this.onnx.initializers.get(name);
    return t ? knownOfTensor(t) : null;
  }

  /** Fold the node if all its inputs are known (and it is not a weight); true when folded. */
  private fold(node: OnnxNode): boolean {
    if (node.opType === 'Constant') {
      const k = constantValue(node);
      if (!k) engineFail('invalid_model', `Constant '${node.outputs[0]}' has no value this importer reads`);
      this.known.set(node.outputs[0], k);
      return true;
    }
    if (node.opType === 'Shape') {
      const x = this.values.get(node.inputs[0]);
      const shape = x?.shape ?? this.knownValue(node.inputs[0])?.dims;
      if (!shape) return false;
      const rank = shape.length;
      const at = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
      const start = at(node.attrs.start?.kind === 'int' ? node.attrs.start.value : 0);
      const end = at(node.attrs.end?.kind === 'int' ? node.attrs.end.value : rank);
      const values = shape.slice(start, end);
      this.known.set(node.outputs[0], { dtype: 'int64', dims: [values.length], values });
      return true;
    }
    const folder = folders[node.opType];
    if (!folder) return false;
    const present = node.inputs.filter((n) => n !== '');
    // Float initializers are weights: computing with them at import time would freeze them.
    const isWeight = (n: string) => {
      const t = this.onnx.initializers.get(n);
      return !!t && isFloat(t.dtype) && t.dims.length > 0 && !this.known.has(n);
    };
    if (present.some(isWeight)) return false;
    const ins = node.inputs.map((n) => (n === '' ? null : this.knownValue(n)));
    if (present.length === 0 || ins.some((k, i) => k === null && node.inputs[i] !== '')) return false;
    const out = folder(ins as Known[], node.attrs);
    if (!out) return false;
    this.known.set(node.outputs[0], out);
    return true;
  }

  importNode(node: OnnxNode, opset: number): void {
    if (this.fold(node)) return;
    const row = importRow(node.opType);
    if (!row)
      engineFail(
        'invalid_graph',
        `${node.opType} '${node.outputs[0]}' depends on run-time values: it is imported only when its inputs are known at import time`,
      );
    const where = `${node.opType} '${node.outputs[0]}'`;
    const ctx = this.context(node, opset, where);
    let outs: Value[];
    try {
      outs = row(ctx);
    } catch (e) {
      if (e instanceof Error && 'reason' in e && !e.message.startsWith(where))
        e.message = `${where}: ${e.message}`;
      throw e;
    }
    // forEach skips holes: a row leaves an output nobody reads unbuilt (LSTM's Y when only Y_h is read).
    outs.forEach((v, i) => {
      const name = node.outputs[i];
      if (name) this.values.set(name, v);
    });
  }

  private context(node: OnnxNode, opset: number, where: string): NodeImport {
    const attr = (name: string) => node.attrs[name];
    const has = (i: number) => i < node.inputs.length && node.inputs[i] !== '';
    const knownNumbers = (i: number): number[] | undefined => {
      if (!has(i)) return undefined;
      const k = this.knownValue(node.inputs[i]);
      if (!k)
        engineFail('invalid_graph', `${where}: input ${i} ('${node.inputs[i]}') is computed at run time`);
      if (numeric(k)) return k.values;
      // A symbolic dim is copied from the input where it sits at the same place (Reshape's 0)
      // or kept by broadcasting (Expand's 1); otherwise it needs a size.
      const x = this.values.get(node.inputs[0]);
      return k.values.map((d, j) => {
        if (typeof d === 'number') return d;
        if (node.opType === 'Reshape' && x?.shape[j] === d) return 0;
        if (node.opType === 'Expand' && x?.shape[x.shape.length - k.values.length + j] === d) return 1;
        if (node.opType === 'Reshape' && k.values.filter((v) => typeof v === 'string').length === 1)
          return -1;
        return engineFail('invalid_graph', `${where}: the symbolic dim '${d}' needs a size`);
      });
    };
    return {
      g: this.g,
      node,
      opset,
      floatType: this.floatType,
      has,
      x: (i, dtype) => {
        if (!has(i)) engineFail('invalid_model', `${where}: input ${i} is missing`);
        return this.value(node.inputs[i], dtype);
      },
      ints(i, attrName) {
        if (has(i)) return knownNumbers(i)?.map((v) => Math.trunc(v));
        const a = attrName ? attr(attrName) : undefined;
        return a?.kind === 'ints' ? a.value : undefined;
      },
      num(i, attrName, fallback) {
        if (has(i)) return knownNumbers(i)?.[0];
        const a = attr(attrName);
        return a?.kind === 'float' || a?.kind === 'int' ? a.value : fallback;
      },
      int: (name, fallback) => {
        const a = attr(name);
        return a?.kind === 'int' ? a.value : fallback;
      },
      float: (name, fallback) => {
        const a = attr(name);
        return a?.kind === 'float' || a?.kind === 'int' ? a.value : fallback;
      },
      str: (name, fallback) => {
        const a = attr(name);
        return a?.kind === 'string' ? a.value : fallback;
      },
      attrInts: (name) => {
        const a = attr(name);
        return a?.kind === 'ints' ? a.value : undefined;
      },
      used: (i) => i < node.outputs.length && node.outputs[i] !== '' && this.consumers.has(node.outputs[i]),
      refuse: (reason) => engineFail('invalid_graph', `${where}: ${reason}`),
    };
  }

  declareOutputs(): { name: string; value: Value }[] {
    return this.onnx.outputs.map((o) => {
      const value = this.values.get(o.name) ?? this.value(o.name);
      if (!this.options.graph) this.g.output(o.name, value);
      return { name: o.name, value };
    });
  }
}

/**
 * Read an ONNX model into the graph IR. Throws EngineError: `unknown_op` listing every op outside
 * the table (and subgraph ops), `invalid_graph` naming the node and what about it is not supported,
 * `invalid_model` for bytes that are not ONNX.
 */
export function importOnnx(bytes: Uint8Array, options: ImportOptions = {}): ImportedModel {
  const missing = missingOps(bytes);
  if (missing.length) {
    const flow = missing.filter((m) => CONTROL_FLOW.has(m));
    const why = flow.length ? ` (${flow.join(', ')}: subgraphs are not imported)` : '';
    engineFail('unknown_op', `the engine cannot import ops ${missing.join(', ')}${why}`);
  }
  const onnx = readOnnxGraph(bytes);
  const imp = new Importer(onnx, options);
  imp.declareInputs();
  const opset = onnx.opsets.get('') ?? 1;
  for (const node of onnx.nodes) imp.importNode(node, opset);
  const outputs = imp.declareOutputs();
  return {
    graph: imp.g,
    params: imp.params,
    inputs: imp.g.inputs.map((value) => ({ name: (value.leaf as { name: string }).name, value })),
    declared: onnx.inputs.filter((i) => !onnx.initializers.has(i.name)),
    outputs,
    opsets: Object.fromEntries(onnx.opsets),
  };
}
