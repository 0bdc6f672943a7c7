/** Shape and layout ops: Reshape, Transpose, Concat, Split, Slice, (Un)squeeze, Expand, Pad, Cast. */
import { fail } from '../../common/errors';
import type { Dim, OnnxAttrs, OpSpec, Shape, Value, ValueInfo } from '../ir/types';
import { onnxDataType } from '../onnx/dtypes';
import { isTensorDType, type TensorDType, tensorFrom } from '../runtime/tensor';
import {
  broadcastShapes,
  check,
  emitSame,
  int64s,
  intsAttr,
  isFloat,
  normAxis,
  numAttr,
  onnx,
  staticDim,
  unbroadcast,
} from './util';

const numericProduct = (s: Shape) => s.reduce<number>((n, d) => (typeof d === 'number' ? n * d : n), 1);

/** A symbolic dim that Reshape wrote as `name*k` is k times the symbol `name`. */
function symbolParts(d: string): { symbol: string; factor: number } {
  const m = /^(.*)\*(\d+)$/.exec(d);
  return m ? { symbol: m[1], factor: Number(m[2]) } : { symbol: d, factor: 1 };
}

/** Product of the numbers in a shape, counting the numeric factor of each `name*k` symbol. */
const knownProduct = (s: Shape) =>
  s.reduce<number>((n, d) => n * (typeof d === 'number' ? d : symbolParts(d).factor), 1);

/** ONNX Reshape semantics: 0 copies the input dim, −1 is inferred (symbolic when it must be). */
export function reshapeShape(input: Shape, target: readonly number[]): Dim[] {
  const out: Dim[] = target.map((d, i) => (d === 0 ? input[i] : d));
  const infer = out.indexOf(-1);
  check(out.filter((d) => d === -1).length <= 1, 'Reshape: at most one -1');
  const copiedSymbols = target
    .map((d, i) => (d === 0 ? input[i] : null))
    .filter((d) => typeof d === 'string');
  const symbols = input
    .filter((d): d is string => typeof d === 'string' && !copiedSymbols.includes(d))
    .map((d) => symbolParts(d).symbol);
  const known = numericProduct(out.filter((d) => d !== -1));
  if (infer >= 0) {
    // Copied symbols cancel out; the others' numeric factors (`seq*2`) count with the numbers.
    const uncopied = input.filter((d) => typeof d === 'number' || !copiedSymbols.includes(d));
    const rest = knownProduct(uncopied) / known;
    out[infer] = symbols.length ? (rest === 1 ? symbols.join('*') : `${symbols.join('*')}*${rest}`) : rest;
    check(Number.isInteger(rest), `Reshape: [${input}] does not fit [${target}]`);
  } else if (symbols.length === 0) {
    check(numericProduct(input) === known, `Reshape: [${input}] does not fit [${target}]`);
  }
  return out;
}

function sliceRange(dim: number, start: number, end: number): [number, number] {
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
  return [clamp(start), clamp(end)];
}

function sliceInfo(
  x: ValueInfo,
  attrs: Record<string, unknown>,
): { shape: Dim[]; ranges: Map<number, [number, number]> } {
  const a = attrs as { starts: number[]; ends: number[]; axes?: number[]; steps?: number[] };
  const axes = a.axes ?? a.starts.map((_, i) => i);
  const shape = [...x.shape];
  const ranges = new Map<number, [number, number]>();
  axes.forEach((ax, i) => {
    const axis = normAxis(ax, x.shape.length);
    const step = a.steps?.[i] ?? 1;
    const dim = staticDim(x.shape[axis]);
    if (step === 1) {
      const [s, e] = sliceRange(dim, a.starts[i], a.ends[i]);
      ranges.set(axis, [s, e]);
      shape[axis] = Math.max(0, e - s);
    } else {
      // Only full reversals (step −1 over the whole axis) are supported besides step 1.
      check(step === -1, 'Slice: steps other than 1 and -1 are not supported');
      shape[axis] = dim;
    }
  });
  return { shape, ranges };
}

const same = (x: ValueInfo): ValueInfo[] => [{ dtype: x.dtype, shape: x.shape }];
const reshapeBack = (dy: Value, x: Value) => dy.graph.op('Reshape', [dy], { shape: x.shape.map(staticDim) });

export const shapeOps: OpSpec[] = [
  {
    name: 'Reshape',
    infer: ([x], a) => [{ dtype: x.dtype, shape: reshapeShape(x.shape, intsAttr(a, 'shape')) }],
    emit: (ctx, [x], outputs, a) =>
      ctx.node('Reshape', [x, ctx.constant(int64s(intsAttr(a, 'shape')))], outputs),
    grad: (c) => [reshapeBack(c.dOutputs[0]!, c.inputs[0])],
  },
  {
    name: 'Identity',
    infer: ([x]) => same(x),
    emit: emitSame('Identity'),
    grad: (c) => [c.dOutputs[0]],
  },
  {
    name: 'Transpose',
    infer([x], a) {
      const perm = intsAttr(a, 'perm', [...x.shape.keys()].reverse());
      check(perm.length === x.shape.length, 'Transpose: perm length must equal rank');
      return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }];
    },
    emit: emitSame('Transpose', (a): OnnxAttrs => (a.perm ? { perm: onnx.ints(intsAttr(a, 'perm')) } : {})),
    grad(c) {
      const r = c.inputs[0].shape.length;
      const perm = intsAttr(c.attrs, 'perm', [...Array(r).keys()].reverse());
      const inv = new Array<number>(r);
      perm.forEach((p, i) => {
        inv[p] = i;
      });
      return [c.g.op('Transpose', [c.dOutputs[0]!], { perm: inv })];
    },
  },
  {
    name: 'Concat',
    infer(inputs, a) {
      const axis = normAxis(numAttr(a, 'axis'), inputs[0].shape.length);
      const shape = [...inputs[0].shape];
      // A symbolic part makes a symbolic sum, e.g. a KV cache: 'past' + 'seq' → 'past+seq'.
      const parts = inputs.map((v) => v.shape[axis]);
      shape[axis] = parts.every((d) => typeof d === 'number')
        ? parts.reduce<number>((n, d) => n + Number(d), 0)
        : parts.filter((d) => d !== 0).join('+');
      for (const v of inputs) {
        check(v.dtype === inputs[0].dtype, 'Concat: dtypes differ');
        check(
          v.shape.every((d, i) => i === axis || d === shape[i]),
          'Concat: shapes differ off the axis',
        );
      }
      return [{ dtype: inputs[0].dtype, shape }];
    },
    emit: emitSame('Concat', (a) => ({ axis: onnx.int(numAttr(a, 'axis')) })),
    grad(c) {
      const axis = normAxis(numAttr(c.attrs, 'axis'), c.inputs[0].shape.length);
      const split = c.inputs.map((v) => staticDim(v.shape[axis]));
      if (split.length === 1) return [c.dOutputs[0]];
      const parts = c.g.ops('Split', [c.dOutputs[0]!], { axis, split });
      return parts.map((p, i) => (c.needs[i] ? p : null));
    },
  },
  {
    name: 'Split',
    infer([x], a) {
      const axis = normAxis(numAttr(a, 'axis', 0), x.shape.length);
      const split = intsAttr(a, 'split');
      check(
        split.reduce((n, s) => n + s, 0) === x.shape[axis],
        `Split: sizes [${split}] do not sum to ${x.shape[axis]}`,
      );
      return split.map((s) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === axis ? s : d)) }));
    },
    // Every output of Split is required in ONNX: pieces nobody reads still get a name (an
    // unnamed one crashes ORT at run time, e.g. an LSTM's unused forget gate at step 0).
    emit: (ctx, [x], outputs, a) =>
      ctx.node(
        'Split',
        [x, ctx.constant(int64s(intsAttr(a, 'split')))],
        outputs.map((o) => o || ctx.fresh('split_unused')),
        { axis: onnx.int(numAttr(a, 'axis', 0)) },
      ),
    grad(c) {
      const g = c.g;
      const parts = c.outputs.map(
        (o, i) => c.dOutputs[i] ?? g.op('Expand', [g.scalar(0, o.dtype)], { shape: o.shape.map(staticDim) }),
      );
      return [parts.length === 1 ? parts[0] : g.op('Concat', parts, { axis: numAttr(c.attrs, 'axis', 0) })];
    },
  },
  {
    name: 'Slice',
    infer: ([x], a) => [{ dtype: x.dtype, shape: sliceInfo(x, a).shape }],
    emit(ctx, [x], outputs, a) {
      const starts = intsAttr(a, 'starts');
      const ins = [x, ctx.constant(int64s(starts)), ctx.constant(int64s(intsAttr(a, 'ends')))];
      ins.push(ctx.constant(int64s(intsAttr(a, 'axes', [...starts.keys()]))));
      if (a.steps) ins.push(ctx.constant(int64s(intsAttr(a, 'steps'))));
      ctx.node('Slice', ins, outputs);
    },
    grad(c) {
      const x = c.inputs[0];
      const { ranges } = sliceInfo(x, c.attrs);
      const steps = intsAttr(c.attrs, 'steps', []);
      if (steps.some((s) => s !== 1)) fail('invalid_request', 'Slice: no gradient for reversed slices');
      const r = x.shape.length;
      const pads = new Array<number>(2 * r).fill(0);
      for (const [axis, [s, e]] of ranges) {
        pads[axis] = s;
        pads[r + axis] = staticDim(x.shape[axis]) - e;
      }
      return [c.g.op('Pad', [c.dOutputs[0]!], { pads })];
    },
  },
  {
    name: 'Pad',
    infer([x], a) {
      const pads = intsAttr(a, 'pads');
      check(pads.length === 2 * x.shape.length, 'Pad: pads must have 2·rank entries');
      const r = x.shape.length;
      return [{ dtype: x.dtype, shape: x.shape.map((d, i) => staticDim(d) + pads[i] + pads[r + i]) }];
    },
    emit(ctx, [x], outputs, a, n) {
      const value = ctx.constant(tensorFrom(n.inputs[0].dtype, [], [numAttr(a, 'value', 0)]));
      ctx.node('Pad', [x, ctx.constant(int64s(intsAttr(a, 'pads'))), value], outputs, {
        mode: onnx.string('constant'),
      });
    },
    grad(c) {
      const x = c.inputs[0];
      const pads = intsAttr(c.attrs, 'pads');
      const r = x.shape.length;
      const axes = [...Array(r).keys()];
      const starts = axes.map((i) => pads[i]);
      const ends = axes.map((i) => pads[i] + staticDim(x.shape[i]));
      return [c.g.op('Slice', [c.dOutputs[0]!], { starts, ends, axes })];
    },
  },
  {
    name: 'Expand',
    infer: ([x], a) => [{ dtype: x.dtype, shape: broadcastShapes('Expand', x.shape, intsAttr(a, 'shape')) }],
    emit: (ctx, [x], outputs, a) =>
      ctx.node('Expand', [x, ctx.constant(int64s(intsAttr(a, 'shape')))], outputs),
    grad: (c) => [unbroadcast(c.dOutputs[0]!, c.inputs[0].shape)],
  },
  {
    name: 'Unsqueeze',
    infer([x], a) {
      const r = x.shape.length + intsAttr(a, 'axes').length;
      const axes = intsAttr(a, 'axes').map((ax) => normAxis(ax, r));
      const shape: Dim[] = [];
      let j = 0;
      for (let i = 0; i < r; i++) shape.push(axes.includes(i) ? 1 : x.shape[j++]);
      return [{ dtype: x.dtype, shape }];
    },
    emit: (ctx, [x], outputs, a) =>
      ctx.node('Unsqueeze', [x, ctx.constant(int64s(intsAttr(a, 'axes')))], outputs),
    grad: (c) => [reshapeBack(c.dOutputs[0]!, c.inputs[0])],
  },
  {
    name: 'Squeeze',
    infer([x], a) {
      const axes = intsAttr(a, 'axes').map((ax) => normAxis(ax, x.shape.length));
      for (const ax of axes) check(x.shape[ax] === 1, `Squeeze: axis ${ax} has size ${x.shape[ax]}`);
      return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !axes.includes(i)) }];
    },
    emit: (ctx, [x], outputs, a) =>
      ctx.node('Squeeze', [x, ctx.constant(int64s(intsAttr(a, 'axes')))], outputs),
    grad: (c) => [reshapeBack(c.dOutputs[0]!, c.inputs[0])],
  },
  {
    name: 'Cast',
    infer([x], a) {
      check(isTensorDType(a.to), `Cast: unknown dtype '${String(a.to)}'`);
      return [{ dtype: a.to as TensorDType, shape: x.shape }];
    },
    emit: emitSame('Cast', (a) => ({ to: onnx.int(onnxDataType[a.to as TensorDType]) })),
    grad: (c) => [
      isFloat(c.inputs[0].dtype) ? c.g.op('Cast', [c.dOutputs[0]!], { to: c.inputs[0].dtype }) : null,
    ],
  },
];
