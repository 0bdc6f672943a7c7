/**
 * One entry per registered op: finite-difference cases, or the reason it has no gradient.
 * `ops.test.ts` fails if a registered op is missing here, so a new op cannot escape the check.
 */
import type { GradCase } from './gradcheck';

export type OpCheck = { cases: GradCase[]; random?: boolean } | { noGradient: string };

const idx = (values: number[], shape = [values.length]) => ({ shape, dtype: 'int64' as const, values });
const mask = (values: number[], shape = [values.length]) => ({ shape, dtype: 'bool' as const, values });

export const gradCases: Record<string, OpCheck> = {
  Add: {
    cases: [
      { inputs: [{ shape: [2, 3] }, { shape: [3] }] },
      { inputs: [{ shape: [2, 1] }, { shape: [1, 3] }] },
    ],
  },
  Sub: { cases: [{ inputs: [{ shape: [2, 3] }, { shape: [2, 1] }] }] },
  Mul: { cases: [{ inputs: [{ shape: [2, 3] }, { shape: [3] }] }] },
  Div: { cases: [{ inputs: [{ shape: [2, 3] }, { shape: [2, 3], range: [0.5, 2] }] }] },
  Pow: {
    cases: [
      {
        inputs: [
          { shape: [2, 3], range: [0.5, 2] },
          { shape: [3], range: [-1.5, 2] },
        ],
      },
    ],
  },
  Neg: { cases: [{ inputs: [{ shape: [4] }] }] },
  Exp: { cases: [{ inputs: [{ shape: [2, 2] }] }] },
  Log: { cases: [{ inputs: [{ shape: [2, 2], range: [0.2, 3] }] }] },
  Sqrt: { cases: [{ inputs: [{ shape: [2, 2], range: [0.2, 3] }] }] },
  Abs: { cases: [{ inputs: [{ shape: [4], values: [-2, -0.5, 0.3, 1.2] }] }] },
  // Several periods, so the check crosses sin's and cos's sign changes.
  Sin: { cases: [{ inputs: [{ shape: [2, 3], range: [-7, 7] }] }] },
  Cos: { cases: [{ inputs: [{ shape: [2, 3], range: [-7, 7] }] }] },
  Sign: { cases: [{ inputs: [{ shape: [3], values: [-2, 0.5, 1] }] }] },
  // Erf has no float64 kernel in ORT (emitted through float32): checked in float32.
  Erf: { cases: [{ inputs: [{ shape: [5], range: [-2, 2] }], dtype: 'float32' }] },
  Relu: { cases: [{ inputs: [{ shape: [5], values: [-1, -0.2, 0.3, 0.7, 2] }] }] },
  LeakyRelu: { cases: [{ inputs: [{ shape: [4], values: [-1, -0.2, 0.3, 2] }], attrs: { alpha: 0.1 } }] },
  Sigmoid: { cases: [{ inputs: [{ shape: [2, 3], range: [-3, 3] }] }] },
  Tanh: { cases: [{ inputs: [{ shape: [2, 3], range: [-2, 2] }] }] },
  Gelu: { cases: [{ inputs: [{ shape: [2, 3], range: [-3, 3] }], dtype: 'float32' }] },
  Softmax: { cases: [{ inputs: [{ shape: [2, 4] }] }, { inputs: [{ shape: [3, 2] }], attrs: { axis: 0 } }] },
  LogSoftmax: { cases: [{ inputs: [{ shape: [2, 4] }] }] },
  Clip: { cases: [{ inputs: [{ shape: [4], values: [-2, -0.3, 0.4, 3] }], attrs: { min: -1, max: 1 } }] },
  Dropout: { random: true, cases: [{ inputs: [{ shape: [3, 4] }], attrs: { ratio: 0.4, seed: 7 } }] },
  MatMul: {
    cases: [
      { inputs: [{ shape: [2, 3] }, { shape: [3, 4] }] },
      { inputs: [{ shape: [2, 2, 3] }, { shape: [3, 2] }] },
      // Attention-shaped: [B, H, T, D] × [B, 1, D, T] (broadcast over heads).
      { inputs: [{ shape: [2, 2, 2, 3] }, { shape: [2, 1, 3, 2] }] },
    ],
  },
  Gemm: {
    cases: [
      { inputs: [{ shape: [2, 3] }, { shape: [3, 4] }, { shape: [4] }] },
      {
        inputs: [{ shape: [3, 2] }, { shape: [4, 3] }, { shape: [2, 4] }],
        attrs: { transA: 1, transB: 1, alpha: 0.5, beta: 2 },
      },
    ],
  },
  ReduceSum: { cases: [{ inputs: [{ shape: [2, 3] }], attrs: { axes: [1], keepdims: false } }] },
  ReduceMean: { cases: [{ inputs: [{ shape: [2, 3, 2] }], attrs: { axes: [0, 2], keepdims: true } }] },
  ReduceMax: { cases: [{ inputs: [{ shape: [2, 3] }], attrs: { axes: [1], keepdims: false } }] },
  ArgMax: { noGradient: 'integer output' },
  Reshape: { cases: [{ inputs: [{ shape: [2, 3] }], attrs: { shape: [3, -1] } }] },
  Identity: { cases: [{ inputs: [{ shape: [2] }] }] },
  Transpose: { cases: [{ inputs: [{ shape: [2, 3, 4] }], attrs: { perm: [2, 0, 1] } }] },
  Concat: { cases: [{ inputs: [{ shape: [2, 1] }, { shape: [2, 3] }], attrs: { axis: 1 } }] },
  Split: { cases: [{ inputs: [{ shape: [5, 2] }], attrs: { axis: 0, split: [2, 3] } }] },
  Slice: {
    cases: [{ inputs: [{ shape: [4, 5] }], attrs: { starts: [1, -4], ends: [3, 100], axes: [0, 1] } }],
  },
  Pad: { cases: [{ inputs: [{ shape: [2, 3] }], attrs: { pads: [1, 0, 0, 2] } }] },
  Expand: { cases: [{ inputs: [{ shape: [3, 1] }], attrs: { shape: [2, 3, 4] } }] },
  Unsqueeze: { cases: [{ inputs: [{ shape: [2, 3] }], attrs: { axes: [0, -1] } }] },
  Squeeze: { cases: [{ inputs: [{ shape: [2, 1, 3] }], attrs: { axes: [1] } }] },
  Cast: { cases: [{ inputs: [{ shape: [3] }], attrs: { to: 'float64' } }] },
  Gather: { cases: [{ inputs: [{ shape: [5, 3] }, idx([4, 0, 4, 2], [2, 2])] }] },
  GatherND: { cases: [{ inputs: [{ shape: [3, 4] }, idx([2, 1, 0, 3, 2, 1], [3, 2])] }] },
  ScatterNDAdd: {
    cases: [{ inputs: [{ shape: [3, 2] }, idx([1, 3, 1], [3, 1])], attrs: { shape: [4, 2] } }],
  },
  GatherElements: {
    cases: [{ inputs: [{ shape: [3, 4] }, idx([3, 0, 0, 1, 1, 1], [3, 2])], attrs: { axis: 1 } }],
  },
  ScatterElementsAdd: {
    cases: [
      { inputs: [{ shape: [2, 3] }, idx([0, 2, 0, 1, 1, 3], [2, 3])], attrs: { axis: 1, shape: [2, 4] } },
    ],
  },
  Where: { cases: [{ inputs: [mask([1, 0, 1]), { shape: [2, 3] }, { shape: [3] }] }] },
  Equal: { noGradient: 'bool output' },
  Less: { noGradient: 'bool output' },
  Greater: { noGradient: 'bool output' },
  And: { noGradient: 'bool output' },
  Or: { noGradient: 'bool output' },
  Not: { noGradient: 'bool output' },
  Shape: { noGradient: 'integer output' },
  Range: { noGradient: 'integer output' },
  DynamicQuantizeLinear: { noGradient: 'integer output (int8 inference graphs)' },
  MatMulInteger: { noGradient: 'integer output (int8 inference graphs)' },
  // ORT has float32 kernels only for Conv, ConvTranspose and MaxUnpool: checked in float32.
  Conv: {
    cases: [
      {
        dtype: 'float32',
        inputs: [{ shape: [2, 2, 5, 5] }, { shape: [3, 2, 3, 3] }, { shape: [3] }],
        attrs: { pads: [1, 1, 1, 1] },
      },
      {
        dtype: 'float32',
        inputs: [{ shape: [1, 2, 6, 5] }, { shape: [2, 2, 3, 2] }],
        attrs: { strides: [2, 2], pads: [1, 0, 0, 1] },
      },
      // Stride 1 takes the conv-of-transposed-tensors dW by default: a 5×5 kernel with uneven pads.
      {
        dtype: 'float32',
        inputs: [{ shape: [3, 2, 6, 7] }, { shape: [2, 2, 5, 5] }, { shape: [2] }],
        attrs: { pads: [2, 1, 0, 2] },
      },
      // ... or im2col, where a train step measured it faster (train/conv-forms.ts).
      {
        dtype: 'float32',
        inputs: [{ shape: [3, 2, 6, 7] }, { shape: [2, 2, 5, 5] }, { shape: [2] }],
        attrs: { pads: [2, 1, 0, 2] },
        convWeightGrad: 'im2col',
      },
    ],
  },
  ConvTranspose: {
    cases: [
      {
        dtype: 'float32',
        inputs: [{ shape: [2, 3, 3, 3] }, { shape: [3, 2, 3, 3] }, { shape: [2] }],
        attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] },
      },
      {
        dtype: 'float32',
        inputs: [{ shape: [2, 3, 4, 3] }, { shape: [3, 2, 3, 3] }],
        attrs: { pads: [1, 0, 1, 1] },
      },
      {
        dtype: 'float32',
        inputs: [{ shape: [2, 3, 4, 3] }, { shape: [3, 2, 3, 3] }],
        attrs: { pads: [1, 0, 1, 1] },
        convWeightGrad: 'im2col',
      },
    ],
  },
  MaxPool: {
    cases: [
      {
        inputs: [{ shape: [1, 2, 4, 4] }],
        attrs: { kernel_shape: [2, 2], strides: [2, 2] },
        dtype: 'float32',
      },
      // Overlapping windows, float64: the ScatterND-add path.
      {
        inputs: [{ shape: [1, 1, 5, 5] }],
        attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
      },
    ],
  },
  MaxUnpool: {
    cases: [
      {
        dtype: 'float32',
        inputs: [{ shape: [1, 1, 2, 2] }, idx([5, 2, 8, 15], [1, 1, 2, 2])],
        attrs: { kernel_shape: [2, 2], strides: [2, 2], output_shape: [1, 1, 4, 4] },
      },
    ],
  },
  AveragePool: {
    cases: [
      {
        inputs: [{ shape: [2, 2, 5, 5] }],
        attrs: { kernel_shape: [2, 2], strides: [2, 2] },
        dtype: 'float32',
      },
      {
        inputs: [{ shape: [1, 1, 5, 4] }],
        attrs: { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] },
        dtype: 'float32',
      },
    ],
  },
  BatchNormalization: {
    cases: [
      {
        inputs: [
          { shape: [2, 3, 2, 2] },
          { shape: [3] },
          { shape: [3] },
          { shape: [3] },
          { shape: [3], range: [0.5, 2] },
        ],
        attrs: { epsilon: 1e-3 },
      },
    ],
  },
  LayerNormalization: {
    cases: [
      { inputs: [{ shape: [2, 3, 4] }, { shape: [4] }, { shape: [4] }] },
      { inputs: [{ shape: [2, 3, 2] }, { shape: [3, 2] }], attrs: { axis: 1, epsilon: 1e-3 } },
    ],
  },
  Flatten: {
    cases: [{ inputs: [{ shape: [2, 3, 2] }] }, { inputs: [{ shape: [2, 3, 2] }], attrs: { axis: 2 } }],
  },
  GlobalAveragePool: { cases: [{ inputs: [{ shape: [2, 3, 2, 3] }], dtype: 'float32' }] },
  // Both outputs weighted: the loss's fused rule and the log-probabilities' LogSoftmax rule.
  SoftmaxCrossEntropy: { cases: [{ inputs: [{ shape: [3, 4], range: [-2, 2] }, idx([3, 0, 1])] }] },
  OneHot: { noGradient: 'integer input' },
};
