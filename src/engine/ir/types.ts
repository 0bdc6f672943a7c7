/**
 * The graph IR's vocabulary. Kept free of implementation so that op families (which need these
 * types for their shape and gradient rules) and the graph (which needs the op registry) do not
 * import each other.
 */
import type { AttributeDeclaration, OpAttributes } from '../ops/attributes';
import type { Tensor, TensorDType } from '../runtime/tensor';

/** A dimension: a number when static, a name (`'batch'`) when symbolic (inference graphs only). */
export type Dim = number | string;
export type Shape = readonly Dim[];

/** IR attributes are plain data; each op's emission turns them into ONNX attributes or inputs. */
export type AttrValue = number | string | boolean | readonly number[] | Tensor;
export type Attrs = Readonly<Record<string, AttrValue>>;

export interface ValueInfo {
  readonly dtype: TensorDType;
  readonly shape: Shape;
}

/** A trainable tensor owned by a layer; the graph maps it to a value on first use. */
export interface Parameter {
  /** Unique within a model, e.g. `0.weight`; containers prefix it. */
  name: string;
  /** Current values (float32 or float64), row-major. */
  value: Tensor;
}

/** Where a leaf value comes from. */
export type Leaf =
  | { kind: 'input'; name: string }
  | { kind: 'param'; param: Parameter }
  | { kind: 'const'; tensor: Tensor };

export interface Value extends ValueInfo {
  readonly id: number;
  readonly graph: GraphBuilder;
  /** The node that computes it, or null for a leaf. */
  readonly producer: Node | null;
  /** Which output of its producer. */
  readonly outputIndex: number;
  readonly leaf: Leaf | null;
}

export interface Node {
  readonly id: number;
  readonly op: string;
  readonly inputs: readonly Value[];
  readonly outputs: readonly Value[];
  readonly attrs: Attrs;
}

/**
 * Two exact ways to compute a stride-1 Conv's weight gradient (`ops/conv.ts`): `swapped`, one Conv
 * of the batch/channel-swapped tensors, and `im2col`, patches by a one-hot Conv + a batched MatMul.
 * Which is faster depends on the shape and the CPU (the swapped Conv for a 5×5 layer on an EPYC,
 * im2col for 3×3 layers there and on a Xeon), so a train step times both per shape and chooses
 * (`train/conv-forms.ts`).
 */
export type ConvWeightGradForm = 'swapped' | 'im2col';

/** One weight gradient to compute: what the choice of form is made for. */
export interface ConvGradCase {
  readonly x: readonly number[];
  readonly dy: readonly number[];
  readonly kernel: readonly [number, number];
  /** [top, left, bottom, right] as ONNX. */
  readonly pads: readonly [number, number, number, number];
  readonly weight: readonly number[];
}

export type ConvGradChooser = (c: ConvGradCase) => ConvWeightGradForm;

/** What op rules may call to add nodes (gradient rules build with other registered ops). */
export interface GraphBuilder {
  /** True while building a training graph (Dropout drops only then). */
  readonly training: boolean;
  /** Which form a stride-1 Conv's weight gradient takes in this graph. */
  readonly convWeightGradForm: ConvGradChooser;
  /** Add a single-output op; `attrs` are typed and checked against the op's declared attributes. */
  op<N extends string>(name: N, inputs: readonly Value[], attrs?: OpAttributes<N>): Value;
  ops<N extends string>(name: N, inputs: readonly Value[], attrs?: OpAttributes<N>): Value[];
  constant(t: Tensor): Value;
  /** The value of a parameter in this graph (a leaf, or a slice of the packed train-step vector). */
  param(p: Parameter): Value;
  /**
   * Give a buffer (a non-trainable Parameter listed in the model's `buffers`, e.g. BatchNorm's
   * running mean) its value for the next step. Only training graphs keep it; others ignore it.
   */
  assign(p: Parameter, v: Value): void;
  /** A rank-0 constant of the given dtype (cached: one initializer per (dtype, value)). */
  scalar(v: number, dtype: TensorDType): Value;
}

/** ONNX attribute values with their wire type made explicit (JS numbers do not say int vs float). */
export type OnnxAttr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: Tensor };
export type OnnxAttrs = Record<string, OnnxAttr>;

/** Emission context: names are ONNX value names. */
export interface EmitContext {
  node(opType: string, inputs: readonly string[], outputs: readonly string[], attrs?: OnnxAttrs): void;
  /** An initializer holding `t`; returns its name. */
  constant(t: Tensor): string;
  /** A fresh intermediate value name. */
  fresh(hint: string): string;
}

export interface GradContext {
  readonly g: GraphBuilder;
  readonly node: Node;
  readonly inputs: readonly Value[];
  readonly outputs: readonly Value[];
  readonly attrs: Attrs;
  /** Gradient of the loss w.r.t. each output, or null where no gradient flows. */
  readonly dOutputs: readonly (Value | null)[];
  /** Which inputs need a gradient: rules skip the others' work. */
  readonly needs: readonly boolean[];
}

export interface OpSpec {
  readonly name: string;
  /**
   * The attributes it takes (name → kind). Ops of the default registry are declared in
   * `ops/attributes.ts` (which also types `g.op`); an op registered elsewhere declares them here.
   */
  readonly attributes?: AttributeDeclaration;
  /** Output dtypes and shapes from input infos; throws an EngineError ('invalid_graph') on a mismatch. */
  infer(inputs: readonly ValueInfo[], attrs: Attrs): ValueInfo[];
  /** ONNX nodes for one IR node. */
  emit(
    ctx: EmitContext,
    inputs: readonly string[],
    outputs: readonly string[],
    attrs: Attrs,
    node: Node,
  ): void;
  /** Vector-Jacobian product; absent for ops that are not differentiable (comparisons, ArgMax). */
  grad?(ctx: GradContext): (Value | null)[];
  /** Draws random numbers (seeded): each run advances the generator. */
  readonly random?: boolean;
}
