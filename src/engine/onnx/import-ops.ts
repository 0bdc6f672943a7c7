/**
 * ONNX node → IR ops, one row per ONNX op type. Every IR op a row builds is a registry row with a
 * shape rule and a gradient, so an imported graph can be differentiated. ONNX inputs that the IR
 * takes as attributes (Reshape's shape, Slice's starts, Unsqueeze's axes from opset 13, Clip's
 * min/max from opset 11, …) must be known at import time (`NodeImport.ints`); both the older
 * attribute form and the newer input form are read, so one row covers the opset versions.
 */
import { isTensorDType, type TensorDType } from '../runtime/tensor';
import { onnxElementTypes } from './decode';
import { tensorOfKnown, triluMask } from './import-fold';
import type { ImportRow, NodeImport } from './import-node';
import { recurrentRow } from './import-rnn';

type Row = ImportRow;

const same =
  (op: string): Row =>
  (c) => [
    c.g.op(
      op,
      c.node.inputs.map((_, i) => c.x(i)),
    ),
  ];

/** Binary ops: a known operand takes the other's dtype (exporters write `x / 8` with an f32 const). */
const binary =
  (op: string): Row =>
  (c) => {
    const a = c.x(0);
    return [c.g.op(op, [a, c.x(1, a.dtype)])];
  };

function dtypeOf(c: NodeImport, code: number): TensorDType {
  const name = onnxElementTypes[code]?.name;
  if (!name || !isTensorDType(name)) c.refuse(`Cast to ${name ?? code} is not supported`);
  return name === 'float32' ? c.floatType : name;
}

function softmaxRow(op: 'Softmax' | 'LogSoftmax'): Row {
  return (c) => {
    const x = c.x(0);
    const rank = x.shape.length;
    const axis = c.int('axis', c.opset < 13 ? 1 : -1);
    // Before opset 13 the op flattened to 2-D at `axis`: the same only when axis is the last one.
    if (c.opset < 13 && (axis < 0 ? axis + rank : axis) !== rank - 1)
      c.refuse(`${op} before opset 13 over axis ${axis} of a rank-${rank} input is not supported`);
    return [c.g.op(op, [x], { axis })];
  };
}

function reduceRow(op: 'ReduceSum' | 'ReduceMean' | 'ReduceMax'): Row {
  return (c) => {
    const axes = c.ints(1, 'axes') ?? [];
    if (axes.length === 0 && c.int('noop_with_empty_axes', 0)) return [c.x(0)];
    return [c.g.op(op, [c.x(0)], { axes, keepdims: Boolean(c.int('keepdims', 1)) })];
  };
}

/** Conv/pool windows: 2-D only (the IR checks), explicit or VALID padding. */
function windowAttrs(c: NodeImport, kernel?: number[]) {
  const autoPad = c.str('auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID')
    c.refuse(`auto_pad ${autoPad} is not supported (export with explicit pads)`);
  if (c.int('ceil_mode', 0)) c.refuse('ceil_mode 1 is not supported');
  // Said here, before the shape rule: it would report a grouped Conv as a channel mismatch.
  const group = c.int('group', 1);
  if (group !== 1) c.refuse(`group ${group} (a grouped or depthwise convolution) is not supported`);
  const dilations = c.attrInts('dilations');
  if (dilations?.some((d) => d !== 1)) c.refuse(`dilations [${dilations}] are not supported`);
  return {
    kernel_shape: c.attrInts('kernel_shape') ?? kernel,
    strides: c.attrInts('strides'),
    pads: autoPad === 'VALID' ? undefined : c.attrInts('pads'),
  };
}

/**
 * Trilu as Where(constant mask, x, 0): no op of its own, so its gradient is Where's. Where rather
 * than x ⊙ mask keeps a masked-out ±inf a 0, as ONNX's Trilu does (x ⊙ 0 would give NaN).
 */
const trilu: Row = (c) => {
  const x = c.x(0);
  const [rows, cols] = x.shape.slice(-2);
  if (x.shape.length < 2) c.refuse(`the input is of rank ${x.shape.length}; Trilu needs rank 2 or more`);
  if (typeof rows !== 'number' || typeof cols !== 'number')
    return c.refuse(`the last two dims [${rows}, ${cols}] must have sizes (give them with dims)`);
  const k = (c.ints(1) ?? [0])[0];
  const values = triluMask(rows, cols, k, c.int('upper', 1) !== 0);
  const mask = c.g.constant(tensorOfKnown({ dtype: 'bool', dims: [rows, cols], values }));
  return [c.g.op('Where', [mask, x, c.g.scalar(0, x.dtype)])];
};

function onlyFirstOutput(c: NodeImport): void {
  for (let i = 1; i < c.node.outputs.length; i++)
    if (c.used(i)) c.refuse(`output ${i} (${c.node.outputs[i]}) is not supported`);
}

const rows: Record<string, Row> = {
  Add: binary('Add'),
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  Div: binary('Div'),
  // An integer exponent (x ** 2 with an int64 tensor) is cast to the base's dtype.
  Pow: (c) => {
    const x = c.x(0);
    const p = c.x(1, x.dtype);
    return [c.g.op('Pow', [x, p.dtype === x.dtype ? p : c.g.op('Cast', [p], { to: x.dtype })])];
  },
  Neg: same('Neg'),
  Exp: same('Exp'),
  Log: same('Log'),
  Sqrt: same('Sqrt'),
  Abs: same('Abs'),
  Sin: same('Sin'),
  Cos: same('Cos'),
  Sign: same('Sign'),
  Erf: same('Erf'),
  Relu: same('Relu'),
  Sigmoid: same('Sigmoid'),
  Tanh: same('Tanh'),
  Identity: same('Identity'),
  MatMul: same('MatMul'),
  Trilu: trilu,
  RNN: recurrentRow('RNN'),
  LSTM: recurrentRow('LSTM'),
  GRU: recurrentRow('GRU'),
  Where: (c) => {
    const a = c.x(1);
    return [c.g.op('Where', [c.x(0), a, c.x(2, a.dtype)])];
  },
  Equal: binary('Equal'),
  Less: binary('Less'),
  Greater: binary('Greater'),
  And: same('And'),
  Or: same('Or'),
  Not: same('Not'),
  Sum: (c) => [c.node.inputs.map((_, i) => c.x(i)).reduce((a, b) => c.g.op('Add', [a, b]))],
  LeakyRelu: (c) => [c.g.op('LeakyRelu', [c.x(0)], { alpha: c.float('alpha', 0.01) })],
  Gelu: (c) => {
    if (c.str('approximate', 'none') !== 'none') c.refuse('only the exact (erf) form is supported');
    return [c.g.op('Gelu', [c.x(0)])];
  },
  Softmax: softmaxRow('Softmax'),
  LogSoftmax: softmaxRow('LogSoftmax'),
  Clip: (c) => [c.g.op('Clip', [c.x(0)], { min: c.num(1, 'min'), max: c.num(2, 'max') })],
  Dropout: (c) => {
    onlyFirstOutput(c);
    // Inference graphs carry Dropout as an identity; training-mode dropout draws at random.
    if (c.has(2) && (c.ints(2) ?? [1])[0] !== 0) c.refuse('training-mode dropout is not supported');
    return [c.x(0)];
  },
  Gemm: (c) => [
    c.g.op(
      'Gemm',
      c.node.inputs.flatMap((_, i) => (c.has(i) ? [c.x(i)] : [])),
      {
        transA: Boolean(c.int('transA', 0)),
        transB: Boolean(c.int('transB', 0)),
        alpha: c.float('alpha', 1),
        beta: c.float('beta', 1),
      },
    ),
  ],
  ReduceSum: reduceRow('ReduceSum'),
  ReduceMean: reduceRow('ReduceMean'),
  ReduceMax: reduceRow('ReduceMax'),
  ArgMax: (c) => {
    if (c.int('select_last_index', 0)) c.refuse('select_last_index 1 is not supported');
    return [c.g.op('ArgMax', [c.x(0)], { axis: c.int('axis', 0), keepdims: Boolean(c.int('keepdims', 1)) })];
  },
  Reshape: (c) => {
    const x = c.x(0);
    const shape = c.ints(1, 'shape');
    if (!shape) return c.refuse('the shape is computed at run time');
    if (c.int('allowzero', 0) && shape.includes(0))
      c.refuse('allowzero with a 0 in the shape is not supported');
    return [c.g.op('Reshape', [x], { shape })];
  },
  Transpose: (c) => {
    const x = c.x(0);
    const perm = c.attrInts('perm') ?? [...x.shape.keys()].reverse();
    return [c.g.op('Transpose', [x], { perm })];
  },
  Concat: (c) => {
    const first = c.x(0);
    const parts = c.node.inputs.map((_, i) => c.x(i, first.dtype));
    return [c.g.op('Concat', parts, { axis: c.int('axis', 0) })];
  },
  Split: (c) => {
    const x = c.x(0);
    const axis = c.int('axis', 0);
    let split = c.ints(1, 'split');
    if (!split) {
      const dim = x.shape[axis < 0 ? axis + x.shape.length : axis];
      const parts = c.node.outputs.length;
      if (typeof dim !== 'number' || dim % parts)
        return c.refuse(`cannot split dim ${dim} into ${parts} equal parts`);
      split = new Array(parts).fill(dim / parts);
    }
    return c.g.ops('Split', [x], { axis, split });
  },
  Slice: (c) => {
    const starts = c.ints(1, 'starts');
    const ends = c.ints(2, 'ends');
    if (!starts || !ends) return c.refuse('starts and ends are computed at run time');
    // INT64_MAX ("to the end") arrives as a huge double; the IR clamps it to the dim.
    const clamp = (v: number) => Math.max(Math.min(v, 2 ** 31), -(2 ** 31));
    return [
      c.g.op('Slice', [c.x(0)], {
        starts: starts.map(clamp),
        ends: ends.map(clamp),
        axes: c.ints(3, 'axes'),
        steps: c.ints(4),
      }),
    ];
  },
  Pad: (c) => {
    if (c.str('mode', 'constant') !== 'constant') c.refuse(`mode ${c.str('mode', '')} is not supported`);
    if (c.has(3)) c.refuse('the axes input is not supported');
    const pads = c.ints(1, 'pads');
    if (!pads) return c.refuse('pads are computed at run time');
    return [c.g.op('Pad', [c.x(0)], { pads, value: c.num(2, 'value', 0) })];
  },
  Expand: (c) => {
    const shape = c.ints(1);
    if (!shape) return c.refuse('the shape is computed at run time');
    return [c.g.op('Expand', [c.x(0)], { shape })];
  },
  Unsqueeze: (c) => {
    const axes = c.ints(1, 'axes');
    if (!axes) return c.refuse('axes are computed at run time');
    return [c.g.op('Unsqueeze', [c.x(0)], { axes })];
  },
  Squeeze: (c) => {
    const x = c.x(0);
    const axes = c.ints(1, 'axes') ?? x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
    return [c.g.op('Squeeze', [x], { axes })];
  },
  Cast: (c) => [c.g.op('Cast', [c.x(0)], { to: dtypeOf(c, c.int('to', 0)) })],
  Gather: (c) => [c.g.op('Gather', [c.x(0), c.x(1)], { axis: c.int('axis', 0) })],
  GatherElements: (c) => [c.g.op('GatherElements', [c.x(0), c.x(1)], { axis: c.int('axis', 0) })],
  GatherND: (c) => {
    if (c.int('batch_dims', 0)) c.refuse('batch_dims is not supported');
    return [c.g.op('GatherND', [c.x(0), c.x(1)])];
  },
  Conv: (c) => {
    const inputs = c.node.inputs.flatMap((_, i) => (c.has(i) ? [c.x(i)] : []));
    return [c.g.op('Conv', inputs, windowAttrs(c))];
  },
  ConvTranspose: (c) => {
    if (c.attrInts('output_shape')) c.refuse('output_shape is not supported (export with pads)');
    const inputs = c.node.inputs.flatMap((_, i) => (c.has(i) ? [c.x(i)] : []));
    return [
      c.g.op('ConvTranspose', inputs, { ...windowAttrs(c), output_padding: c.attrInts('output_padding') }),
    ];
  },
  MaxPool: (c) => {
    onlyFirstOutput(c);
    if (c.int('storage_order', 0)) c.refuse('storage_order 1 is not supported');
    return [c.g.ops('MaxPool', [c.x(0)], windowAttrs(c))[0]];
  },
  AveragePool: (c) => {
    const attrs = windowAttrs(c);
    // The IR's AveragePool counts padding in the divisor (ONNX count_include_pad = 1).
    if ((attrs.pads ?? []).some((p) => p !== 0) && !c.int('count_include_pad', 0))
      c.refuse('padding left out of the divisor (count_include_pad 0) is not supported');
    return [c.g.op('AveragePool', [c.x(0)], attrs)];
  },
  GlobalAveragePool: same('GlobalAveragePool'),
  Flatten: (c) => [c.g.op('Flatten', [c.x(0)], { axis: c.int('axis', 1) })],
  BatchNormalization: (c) => {
    onlyFirstOutput(c);
    if (c.int('training_mode', 0)) c.refuse('training_mode 1 is not supported (export in eval mode)');
    return [
      c.g.op(
        'BatchNormalization',
        [0, 1, 2, 3, 4].map((i) => c.x(i)),
        { epsilon: c.float('epsilon', 1e-5) },
      ),
    ];
  },
  LayerNormalization: (c) => {
    onlyFirstOutput(c);
    const inputs = c.node.inputs.flatMap((_, i) => (c.has(i) ? [c.x(i)] : []));
    return [
      c.g.op('LayerNormalization', inputs, { axis: c.int('axis', -1), epsilon: c.float('epsilon', 1e-5) }),
    ];
  },
};

/** The importer's row for an ONNX op type (default domain), or undefined. */
export function importRow(opType: string): Row | undefined {
  return Object.hasOwn(rows, opType) ? rows[opType] : undefined;
}

/** ONNX op types (default domain) the importer reads: rows, plus those only folded at import time. */
export function importableOps(foldOnly: readonly string[]): string[] {
  return [...new Set([...Object.keys(rows), ...foldOnly])].sort();
}
