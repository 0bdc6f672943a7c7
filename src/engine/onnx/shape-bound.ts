/**
 * Whether a model's cost is a function of its inputs' shapes alone: every node of its graph is an
 * ONNX op whose output sizes follow from its inputs' shapes (never from their values), with no
 * control flow and no external data. For such a model, a run at shapes already measured costs
 * what it cost then, so a server can decide per input shape where to run it. Ops left out on
 * purpose: sizes from values (`ConstantOfShape`, `Expand`, `Tile`, `Range`, `Resize`, `Pad`,
 * `OneHot`, `NonZero`, `Compress`, `Unique`, `TopK`), control flow (`If`, `Loop`, `Scan`) and
 * every non-default domain.
 */
import { decodeModel } from './decode';
import { readOpTypes } from './import-proto';

const SHAPE_BOUND_OPS = new Set(
  [
    // Linear algebra, convolution, pooling, normalisation.
    'MatMul Gemm Conv ConvTranspose MaxPool AveragePool GlobalAveragePool GlobalMaxPool',
    'BatchNormalization LayerNormalization InstanceNormalization',
    // Element-wise: outputs broadcast from the inputs' shapes.
    'Add Sub Mul Div Pow Sqrt Exp Log Neg Abs Reciprocal Erf Floor Ceil Round Sign Sin Cos',
    'Relu LeakyRelu PRelu Elu Selu Sigmoid HardSigmoid Tanh Softplus Gelu Clip Max Min Sum Mean',
    'Where Equal Less Greater LessOrEqual GreaterOrEqual Not And Or Cast Identity Dropout',
    // Along axes.
    'Softmax LogSoftmax ReduceMean ReduceSum ReduceMax ReduceMin ReduceProd ReduceL2 ArgMax ArgMin',
    // Layout and lookup: sizes from the inputs' shapes (Gather: the indices' shape).
    'Reshape Flatten Transpose Squeeze Unsqueeze Concat Split Slice Gather Shape Size Constant',
  ]
    .join(' ')
    .split(' '),
);

/** True when the model's cost follows from its input shapes (see the file comment). */
export function costFollowsShapes(bytes: Uint8Array): boolean {
  try {
    if (decodeModel(bytes).externalTensors.length > 0) return false;
    return readOpTypes(bytes).every(({ domain, opType }) => domain === '' && SHAPE_BOUND_OPS.has(opType));
  } catch {
    return false;
  }
}
