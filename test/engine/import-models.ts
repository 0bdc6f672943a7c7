/**
 * Small models written the way PyTorch's exporter writes them (opset 13 unless said otherwise):
 * Constant nodes, `x.view(x.size(0), -1)` as Shape → Gather → Unsqueeze → Concat → Reshape,
 * LayerNorm decomposed (ReduceMean, Sub, Pow, Sqrt, Div), GELU as Erf, a dynamic batch dim.
 */
import { type Tensor, tensorFrom } from '../../src/engine/runtime/tensor';
import { prng } from './gradcheck';
import { type NodeDef, onnxModel } from './onnx-builder';

const rand = prng(7);
const weights = (dims: number[], scale = 0.5): Tensor =>
  tensorFrom(
    'float32',
    dims,
    Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => (rand() * 2 - 1) * scale),
  );
const ints = (values: number[]) => tensorFrom('int64', [values.length], values);
const scalar = (v: number) => tensorFrom('float32', [], [v]);
const constant = (out: string, t: Tensor): NodeDef => ({
  op: 'Constant',
  inputs: [],
  outputs: [out],
  attrs: { value: { t } },
});
const n = (op: string, inputs: string[], outputs: string[], attrs?: NodeDef['attrs']): NodeDef => ({
  op,
  inputs,
  outputs,
  attrs,
});

/** conv-BN-ReLU, a residual block, max-pool, global average pool, view(N, -1), Linear, softmax. */
export function resnetLike(): Uint8Array {
  return onnxModel({
    opset: 13,
    inputs: [{ name: 'image', dtype: 'float32', shape: ['batch', 1, 8, 8] }],
    outputs: [
      { name: 'logits', dtype: 'float32', shape: ['batch', 3] },
      { name: 'probs', dtype: 'float32', shape: ['batch', 3] },
    ],
    initializers: {
      'conv1.weight': weights([4, 1, 3, 3]),
      'conv1.bias': weights([4]),
      'bn1.weight': weights([4]),
      'bn1.bias': weights([4]),
      'bn1.running_mean': weights([4], 0.1),
      'bn1.running_var': tensorFrom('float32', [4], [0.5, 1, 1.5, 2]),
      'conv2.weight': weights([4, 4, 3, 3], 0.3),
      'fc.weight': weights([3, 4]),
      'fc.bias': weights([3]),
    },
    nodes: [
      n('Conv', ['image', 'conv1.weight', 'conv1.bias'], ['c1'], {
        kernel_shape: { ints: [3, 3] },
        pads: { ints: [1, 1, 1, 1] },
        strides: { ints: [1, 1] },
      }),
      n(
        'BatchNormalization',
        ['c1', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var'],
        ['b1'],
        {
          epsilon: { f: 1e-5 },
          momentum: { f: 0.9 },
        },
      ),
      n('Relu', ['b1'], ['r1']),
      n('Conv', ['r1', 'conv2.weight'], ['c2'], {
        kernel_shape: { ints: [3, 3] },
        pads: { ints: [1, 1, 1, 1] },
      }),
      n('Add', ['c2', 'r1'], ['s2']),
      n('Relu', ['s2'], ['r2']),
      n('MaxPool', ['r2'], ['p2'], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } }),
      n('GlobalAveragePool', ['p2'], ['g']),
      n('Shape', ['g'], ['shape']),
      constant('zero', tensorFrom('int64', [], [0])),
      n('Gather', ['shape', 'zero'], ['batchSize'], { axis: { i: 0 } }),
      constant('axes0', ints([0])),
      n('Unsqueeze', ['batchSize', 'axes0'], ['batch1']),
      constant('minusOne', ints([-1])),
      n('Concat', ['batch1', 'minusOne'], ['viewShape'], { axis: { i: 0 } }),
      n('Reshape', ['g', 'viewShape'], ['flat']),
      n('Gemm', ['flat', 'fc.weight', 'fc.bias'], ['logits'], {
        alpha: { f: 1 },
        beta: { f: 1 },
        transB: { i: 1 },
      }),
      n('Softmax', ['logits'], ['probs'], { axis: { i: 1 } }),
    ],
  });
}

/** Embedding + positions, LayerNorm (decomposed), one attention head pair, GELU MLP, mean pool. */
export function encoderLike(): Uint8Array {
  const d = 8;
  return onnxModel({
    opset: 13,
    inputs: [{ name: 'input_ids', dtype: 'int64', shape: ['batch', 4] }],
    outputs: [{ name: 'pooled', dtype: 'float32', shape: ['batch', d] }],
    initializers: {
      'embed.weight': weights([10, d]),
      'pos.weight': weights([4, d], 0.2),
      'ln.weight': weights([d]),
      'ln.bias': weights([d], 0.1),
      'qkv.weight': weights([d, 3 * d], 0.4),
      'qkv.bias': weights([3 * d], 0.1),
      'out.weight': weights([d, d], 0.4),
      'fc.weight': weights([d, d], 0.4),
    },
    nodes: [
      n('Gather', ['embed.weight', 'input_ids'], ['e'], { axis: { i: 0 } }),
      n('Add', ['e', 'pos.weight'], ['x']),
      // LayerNorm as torch < 1.12 / opset < 17 exports it.
      n('ReduceMean', ['x'], ['mu'], { axes: { ints: [-1] } }),
      n('Sub', ['x', 'mu'], ['xc']),
      constant('two', scalar(2)),
      n('Pow', ['xc', 'two'], ['sq']),
      n('ReduceMean', ['sq'], ['var'], { axes: { ints: [-1] } }),
      constant('eps', scalar(1e-5)),
      n('Add', ['var', 'eps'], ['ve']),
      n('Sqrt', ['ve'], ['sd']),
      n('Div', ['xc', 'sd'], ['xhat']),
      n('Mul', ['xhat', 'ln.weight'], ['xs']),
      n('Add', ['xs', 'ln.bias'], ['h']),
      n('MatMul', ['h', 'qkv.weight'], ['qkv0']),
      n('Add', ['qkv0', 'qkv.bias'], ['qkv']),
      constant('splits', ints([d, d, d])),
      n('Split', ['qkv', 'splits'], ['q', 'k', 'v'], { axis: { i: -1 } }),
      constant('heads', ints([0, 0, 2, d / 2])),
      n('Reshape', ['q', 'heads'], ['q4']),
      n('Reshape', ['k', 'heads'], ['k4']),
      n('Reshape', ['v', 'heads'], ['v4']),
      n('Transpose', ['q4'], ['qt'], { perm: { ints: [0, 2, 1, 3] } }),
      n('Transpose', ['k4'], ['kt'], { perm: { ints: [0, 2, 3, 1] } }),
      n('Transpose', ['v4'], ['vt'], { perm: { ints: [0, 2, 1, 3] } }),
      n('MatMul', ['qt', 'kt'], ['scores0']),
      constant('scale', scalar(2)),
      n('Div', ['scores0', 'scale'], ['scores']),
      n('Softmax', ['scores'], ['attn'], { axis: { i: -1 } }),
      n('MatMul', ['attn', 'vt'], ['ctx4']),
      n('Transpose', ['ctx4'], ['ctxT'], { perm: { ints: [0, 2, 1, 3] } }),
      constant('merge', ints([0, 0, d])),
      n('Reshape', ['ctxT', 'merge'], ['ctx']),
      n('MatMul', ['ctx', 'out.weight'], ['o']),
      n('Add', ['o', 'x'], ['res']),
      n('MatMul', ['res', 'fc.weight'], ['f']),
      // GELU as torch exports it: x · ½ · (1 + erf(x / √2))
      constant('sqrt2', scalar(Math.SQRT2)),
      n('Div', ['f', 'sqrt2'], ['fs']),
      n('Erf', ['fs'], ['erf']),
      constant('one', scalar(1)),
      n('Add', ['erf', 'one'], ['erf1']),
      n('Mul', ['f', 'erf1'], ['fe']),
      constant('half', scalar(0.5)),
      n('Mul', ['fe', 'half'], ['gelu']),
      constant('starts', ints([1])),
      constant('ends', ints([Number.MAX_SAFE_INTEGER])),
      constant('axis1', ints([1])),
      n('Slice', ['gelu', 'starts', 'ends', 'axis1'], ['tail']),
      n('ReduceMean', ['tail'], ['pooled'], { axes: { ints: [1] }, keepdims: { i: 0 } }),
    ],
  });
}

/** A tabular MLP at opset 17: Gemm, LayerNormalization, Tanh, LeakyRelu, Clip, Flatten, LogSoftmax. */
export function tabularMlp(): Uint8Array {
  return onnxModel({
    opset: 17,
    inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', 6] }],
    outputs: [{ name: 'log_probs', dtype: 'float32', shape: ['batch', 3] }],
    initializers: {
      'l1.weight': weights([5, 6]),
      'l1.bias': weights([5]),
      'ln.weight': weights([5]),
      'ln.bias': weights([5]),
      'l2.weight': weights([5, 3]),
      'l2.bias': weights([3]),
    },
    nodes: [
      n('Gemm', ['features', 'l1.weight', 'l1.bias'], ['h1'], { transB: { i: 1 } }),
      n('LayerNormalization', ['h1', 'ln.weight', 'ln.bias'], ['h2'], {
        axis: { i: -1 },
        epsilon: { f: 1e-5 },
      }),
      n('Tanh', ['h2'], ['h3']),
      n('LeakyRelu', ['h3'], ['h4'], { alpha: { f: 0.1 } }),
      constant('lo', scalar(-0.8)),
      constant('hi', scalar(0.8)),
      n('Clip', ['h4', 'lo', 'hi'], ['h5']),
      n('Flatten', ['h5'], ['h6'], { axis: { i: 1 } }),
      n('Gemm', ['h6', 'l2.weight', 'l2.bias'], ['z']),
      n('LogSoftmax', ['z'], ['log_probs'], { axis: { i: 1 } }),
    ],
  });
}
