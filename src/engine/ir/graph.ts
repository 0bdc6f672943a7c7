/**
 * The graph IR: values with dtypes and shapes, nodes of registered ops, inputs, parameters,
 * constants and named outputs. Shapes are inferred as nodes are added, so a wrong shape fails
 * where the model code is written, not inside ONNX Runtime.
 *
 *   const g = new Graph();
 *   const x = g.input('x', 'float32', [64, 784]);
 *   const h = g.op('Relu', [g.op('MatMul', [x, g.param(w)])]);
 *   g.output('h', h);
 */
import { engineFail } from '../errors';
import { attributeProblem, type OpAttributes } from '../ops/attributes';
import { defaultRegistry, type OpRegistry } from '../ops/index';
import { isTensorDType, type Tensor, type TensorDType, tensorFrom } from '../runtime/tensor';
import type { Attrs, ConvGradChooser, Dim, GraphBuilder, Leaf, Node, Parameter, Value } from './types';

export interface GraphOptions {
  /** Op table (default: every registered op). */
  registry?: OpRegistry;
  /** Training graphs enable Dropout. */
  training?: boolean;
  /** dtype that parameters take in this graph (float64 for gradient checks). */
  paramDType?: 'float32' | 'float64';
  /** Form of each stride-1 Conv weight gradient (default: `swapped` for all). */
  convWeightGradForm?: ConvGradChooser;
}

let sharedRegistry: OpRegistry | null = null;

export class Graph implements GraphBuilder {
  readonly registry: OpRegistry;
  readonly training: boolean;
  readonly paramDType: 'float32' | 'float64';
  readonly convWeightGradForm: ConvGradChooser;
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: { name: string; value: Value }[] = [];
  private readonly params = new Map<Parameter, Value>();
  private readonly paramNames = new Map<string, Parameter>();
  private readonly scalars = new Map<string, Value>();
  private nextId = 0;

  constructor(options: GraphOptions = {}) {
    sharedRegistry ??= defaultRegistry();
    this.registry = options.registry ?? sharedRegistry;
    this.training = options.training ?? false;
    this.paramDType = options.paramDType ?? 'float32';
    this.convWeightGradForm = options.convWeightGradForm ?? (() => 'swapped');
  }

  private value(
    dtype: TensorDType,
    shape: readonly Dim[],
    producer: Node | null,
    index: number,
    leaf: Leaf | null,
  ): Value {
    return { id: this.nextId++, graph: this, dtype, shape: [...shape], producer, outputIndex: index, leaf };
  }

  input(name: string, dtype: TensorDType, shape: readonly Dim[]): Value {
    if (this.inputs.some((v) => v.leaf?.kind === 'input' && v.leaf.name === name)) {
      engineFail('duplicate', `graph input '${name}' declared twice`);
    }
    const v = this.value(dtype, shape, null, 0, { kind: 'input', name });
    this.inputs.push(v);
    return v;
  }

  /** The value of a parameter in this graph (one value per parameter, however often it is used). */
  param(p: Parameter): Value {
    const known = this.params.get(p);
    if (known) return known;
    const other = this.paramNames.get(p.name);
    if (other && other !== p) engineFail('duplicate', `two parameters are named '${p.name}'`);
    const v = this.value(this.paramDType, p.value.dims, null, 0, { kind: 'param', param: p });
    this.params.set(p, v);
    this.paramNames.set(p.name, p);
    return v;
  }

  /** Make `p` resolve to `v` (e.g. a slice of the packed parameter vector of a train step). */
  bindParam(p: Parameter, v: Value): void {
    if (this.params.has(p)) engineFail('duplicate', `parameter '${p.name}' is already bound`);
    this.params.set(p, v);
    this.paramNames.set(p.name, p);
  }

  /** Parameters used so far, in first-use order, with their values. */
  boundParams(): [Parameter, Value][] {
    return [...this.params.entries()];
  }

  /** Buffer updates made by `assign` in a training graph. */
  readonly assignments = new Map<Parameter, Value>();

  assign(p: Parameter, v: Value): void {
    if (!this.training) return;
    const same = v.shape.length === p.value.dims.length && v.shape.every((d, i) => d === p.value.dims[i]);
    if (!same) engineFail('invalid_graph', `buffer '${p.name}' is [${p.value.dims}], assigned [${v.shape}]`);
    if (this.assignments.has(p)) engineFail('duplicate', `buffer '${p.name}' assigned twice in one step`);
    this.assignments.set(p, v);
  }

  constant(t: Tensor): Value {
    return this.value(t.dtype, t.dims, null, 0, { kind: 'const', tensor: t });
  }

  scalar(v: number, dtype: TensorDType): Value {
    const key = `${dtype}:${v}`;
    let s = this.scalars.get(key);
    if (!s) {
      s = this.constant(tensorFrom(dtype, [], [v]));
      this.scalars.set(key, s);
    }
    return s;
  }

  op<N extends string>(name: N, inputs: readonly Value[], attrs?: OpAttributes<N>): Value {
    return this.ops(name, inputs, attrs)[0];
  }

  ops<N extends string>(name: N, inputs: readonly Value[], typedAttrs?: OpAttributes<N>): Value[] {
    const spec = this.registry.get(name);
    const attrs = (typedAttrs ?? {}) as Attrs;
    // An attribute the op does not declare would be ignored and its default used: refuse it here.
    const problem = attributeProblem(name, spec.attributes ?? {}, attrs, isTensorDType);
    if (problem) engineFail('invalid_attribute', problem);
    for (const v of inputs)
      if (v.graph !== this) engineFail('invalid_graph', `${name}: input from another graph`);
    const infos = spec.infer(inputs, attrs);
    const node: { id: number; op: string; inputs: Value[]; outputs: Value[]; attrs: Attrs } = {
      id: this.nodes.length,
      op: name,
      inputs: [...inputs],
      outputs: [],
      attrs,
    };
    node.outputs = infos.map((info, i) => this.value(info.dtype, info.shape, node, i, null));
    this.nodes.push(node);
    return node.outputs;
  }

  output(name: string, value: Value): void {
    if (this.outputs.some((o) => o.name === name))
      engineFail('duplicate', `graph output '${name}' declared twice`);
    this.outputs.push({ name, value });
  }
}
