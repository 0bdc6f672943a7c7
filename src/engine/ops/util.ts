/** Shared helpers for op rules: shape checks, broadcasting, attribute readers, emission. */
import { engineFail } from '../errors';
import type {
  Attrs,
  AttrValue,
  Dim,
  EmitContext,
  OnnxAttr,
  OnnxAttrs,
  Shape,
  Value,
  ValueInfo,
} from '../ir/types';
import type { Tensor, TensorDType } from '../runtime/tensor';
import { tensorFrom } from '../runtime/tensor';

export function isFloat(dtype: TensorDType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

export function check(cond: boolean, message: string): asserts cond {
  if (!cond) engineFail('invalid_graph', message);
}

export function sameDType(op: string, inputs: readonly ValueInfo[]): TensorDType {
  const d = inputs[0].dtype;
  for (const v of inputs) check(v.dtype === d, `${op}: dtypes differ (${inputs.map((i) => i.dtype)})`);
  return d;
}

/** Numpy-style broadcast of two shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else if (typeof x === 'string') out.push(y);
    else if (typeof y === 'string') out.push(x);
    else engineFail('invalid_graph', `${op}: shapes [${a}] and [${b}] do not broadcast`);
  }
  return out;
}

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  check(a >= 0 && a < Math.max(rank, 1), `axis ${axis} out of range for rank ${rank}`);
  return a;
}

export function numAttr(attrs: Attrs, name: string, fallback?: number): number {
  const v = attrs[name];
  if (v === undefined && fallback !== undefined) return fallback;
  check(typeof v === 'number', `attribute '${name}' must be a number`);
  return v;
}

export function intsAttr(attrs: Attrs, name: string, fallback?: readonly number[]): readonly number[] {
  const v = attrs[name];
  if (v === undefined && fallback !== undefined) return fallback;
  check(Array.isArray(v), `attribute '${name}' must be a list of numbers`);
  return v as readonly number[];
}

export function boolAttr(attrs: Attrs, name: string, fallback: boolean): boolean {
  const v: AttrValue | undefined = attrs[name];
  if (v === undefined) return fallback;
  if (typeof v === 'number') return v !== 0;
  check(typeof v === 'boolean', `attribute '${name}' must be a boolean`);
  return v;
}

export const onnx = {
  int: (value: number): OnnxAttr => ({ kind: 'int', value }),
  float: (value: number): OnnxAttr => ({ kind: 'float', value }),
  ints: (value: readonly number[]): OnnxAttr => ({ kind: 'ints', value }),
  string: (value: string): OnnxAttr => ({ kind: 'string', value }),
  tensor: (value: Tensor): OnnxAttr => ({ kind: 'tensor', value }),
};

export function int64s(values: readonly number[]): Tensor {
  return tensorFrom('int64', [values.length], values);
}

/** Emit an op whose ONNX node has the same name and inputs, with the given ONNX attributes. */
export function emitSame(opType: string, attrs: (a: Attrs) => OnnxAttrs = () => ({})) {
  return (ctx: EmitContext, inputs: readonly string[], outputs: readonly string[], a: Attrs): void =>
    ctx.node(opType, inputs, outputs, attrs(a));
}

/** Sum a broadcast gradient back to `shape` (reducing leading and size-1 axes). */
export function unbroadcast(dy: Value, shape: Shape): Value {
  const g = dy.graph;
  if (dy.shape.length === shape.length && dy.shape.every((d, i) => d === shape[i])) return dy;
  const lead = dy.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < dy.shape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && dy.shape[i] !== 1)) axes.push(i);
  }
  let r = axes.length ? g.op('ReduceSum', [dy], { axes, keepdims: true }) : dy;
  if (r.shape.length !== shape.length) r = g.op('Reshape', [r], { shape: shape.map(staticDim) });
  return r;
}

export function staticDim(d: Dim): number {
  check(typeof d === 'number', `a static shape is needed here, got dim '${d}'`);
  return d;
}

export function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Swap the last two axes (for batched MatMul gradients). */
export function swapLast(x: Value): Value {
  const r = x.shape.length;
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return x.graph.op('Transpose', [x], { perm });
}
