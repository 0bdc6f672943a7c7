/**
 * The attributes each op takes: name → kind, for every registered op. `Graph.op` checks a call's
 * attributes against this table when the node is built, so a typo (`keepDims`) or a value of the
 * wrong kind fails where the model code is written instead of silently falling back to the
 * default; and `g.op('ReduceMean', [x], { axes, keepdims })` is typed from it, so an unknown
 * attribute of a literal op name does not compile.
 *
 * Every attribute an op's `infer`, `emit` or `grad` reads must be declared here (a row per op, in
 * the order of `ops/index.ts`); `test/engine/attributes.test.ts` fails for an op without a row.
 * Attributes that ONNX takes as inputs (axes, shape, pads, min/max, …) are attributes in the IR.
 */
import type { Tensor, TensorDType } from '../runtime/tensor';

/** How an attribute is written in the IR. */
export type AttributeKind =
  | 'int'
  /** A number (ONNX float). */
  | 'float'
  /** true/false, or 0/1 as ONNX writes flags. */
  | 'bool'
  | 'ints'
  | 'string'
  /** A tensor dtype name (`Cast`'s `to`). */
  | 'dtype'
  | 'tensor';

export type AttributeDeclaration = Readonly<Record<string, AttributeKind>>;

interface KindValue {
  int: number;
  float: number;
  bool: boolean | number;
  ints: readonly number[];
  string: string;
  dtype: TensorDType;
  tensor: Tensor;
}

/** 2-D windows (`conv.ts` `windowOf`): kernel, strides, pads [top, left, bottom, right]. */
const window = {
  kernel_shape: 'ints',
  strides: 'ints',
  pads: 'ints',
  group: 'int',
  dilations: 'ints',
} as const;
const reduction = { axes: 'ints', keepdims: 'bool' } as const;
const none = {} as const;

export const opAttributes = {
  // elementwise
  Add: none,
  Sub: none,
  Mul: none,
  Div: none,
  Pow: none,
  Neg: none,
  Exp: none,
  Log: none,
  Sqrt: none,
  Abs: none,
  Sin: none,
  Cos: none,
  Sign: none,
  Erf: none,
  // activation
  Relu: none,
  LeakyRelu: { alpha: 'float' },
  Sigmoid: none,
  Tanh: none,
  Gelu: none,
  Softmax: { axis: 'int' },
  LogSoftmax: { axis: 'int' },
  Clip: { min: 'float', max: 'float' },
  Dropout: { ratio: 'float', seed: 'int' },
  // matmul
  MatMul: none,
  Gemm: { transA: 'bool', transB: 'bool', alpha: 'float', beta: 'float' },
  // reduce
  ReduceSum: reduction,
  ReduceMean: reduction,
  ReduceMax: reduction,
  ArgMax: { axis: 'int', keepdims: 'bool' },
  // shape
  Reshape: { shape: 'ints' },
  Identity: none,
  Transpose: { perm: 'ints' },
  Concat: { axis: 'int' },
  Split: { axis: 'int', split: 'ints' },
  Slice: { starts: 'ints', ends: 'ints', axes: 'ints', steps: 'ints' },
  Pad: { pads: 'ints', value: 'float' },
  Expand: { shape: 'ints' },
  Unsqueeze: { axes: 'ints' },
  Squeeze: { axes: 'ints' },
  Cast: { to: 'dtype' },
  // gather
  Gather: { axis: 'int' },
  GatherND: none,
  ScatterNDAdd: { shape: 'ints' },
  GatherElements: { axis: 'int' },
  ScatterElementsAdd: { axis: 'int', shape: 'ints' },
  Where: none,
  Equal: none,
  Less: none,
  Greater: none,
  And: none,
  Or: none,
  Not: none,
  // conv (kernel_shape of Conv/ConvTranspose must agree with the weight, which decides it)
  Conv: window,
  ConvTranspose: { ...window, output_padding: 'ints' },
  MaxPool: window,
  MaxUnpool: { ...window, output_shape: 'ints' },
  AveragePool: window,
  // dynamic
  Shape: { start: 'int', end: 'int' },
  Range: { dim: 'string', delta: 'float' },
  DynamicQuantizeLinear: none,
  MatMulInteger: none,
  // norm (the single-node forms exported models use)
  BatchNormalization: { epsilon: 'float', momentum: 'float', training_mode: 'int' },
  LayerNormalization: { axis: 'int', epsilon: 'float' },
  Flatten: { axis: 'int' },
  GlobalAveragePool: none,
  // loss
  SoftmaxCrossEntropy: none,
  OneHot: { depth: 'int', dtype: 'dtype' },
} as const satisfies Record<string, AttributeDeclaration>;

export type OpName = keyof typeof opAttributes;

/** The attribute object of a declaration: every attribute optional, each of its kind's type. */
type AttributeValues<D> = [keyof D] extends [never]
  ? Readonly<Record<string, never>>
  : { readonly [K in keyof D]?: D[K] extends AttributeKind ? KindValue[D[K]] : never };

/** The attributes `g.op(name, …)` takes: typed for a registered op name, free-form otherwise. */
export type OpAttributes<N extends string> = N extends OpName
  ? AttributeValues<(typeof opAttributes)[N]>
  : Readonly<Record<string, number | string | boolean | readonly number[] | Tensor>>;

function kindMatches(kind: AttributeKind, value: unknown, isDType: (v: unknown) => boolean): boolean {
  switch (kind) {
    case 'int':
      return Number.isInteger(value);
    case 'float':
      return typeof value === 'number' && !Number.isNaN(value);
    case 'bool':
      return typeof value === 'boolean' || value === 0 || value === 1;
    case 'ints':
      return Array.isArray(value) && value.every((v) => Number.isInteger(v));
    case 'string':
      return typeof value === 'string';
    case 'dtype':
      return isDType(value);
    case 'tensor':
      return typeof value === 'object' && value !== null && 'dtype' in value && 'dims' in value;
  }
}

/**
 * The first problem of `attrs` against `declared`, as a sentence, or null: an attribute the op
 * does not declare, or a value not of its kind. `undefined` values count as absent.
 */
export function attributeProblem(
  op: string,
  declared: AttributeDeclaration,
  attrs: Readonly<Record<string, unknown>>,
  isDType: (v: unknown) => boolean,
): string | null {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    const kind = declared[name];
    if (!kind) {
      const known = Object.keys(declared);
      return `${op}: unknown attribute '${name}' (${known.length ? `${op} takes ${known.join(', ')}` : `${op} takes none`})`;
    }
    if (!kindMatches(kind, value, isDType)) {
      return `${op}: attribute '${name}' must be ${kind === 'ints' ? 'a list of integers' : `of kind ${kind}`}, got ${JSON.stringify(value)?.slice(0, 60)}`;
    }
  }
  return null;
}
