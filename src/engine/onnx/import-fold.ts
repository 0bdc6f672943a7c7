/**
 * Constant folding of the shape arithmetic exporters write: PyTorch's `x.view(x.size(0), -1)`
 * becomes Shape → Gather → Unsqueeze → Concat → Reshape. The IR takes Reshape's shape (and
 * Slice's starts, Unsqueeze's axes, …) as attributes, so such inputs are computed here, at import
 * time. A dim that stays symbolic (`batch`) folds as its name: Reshape turns a name found at the
 * same place of its input into 0 ("copy that dim"), so dynamic batch sizes survive the import.
 */
import type { Dim } from '../ir/types';
import { elementCount, type Tensor, type TensorDType, tensorFrom, toNumbers } from '../runtime/tensor';
import type { OnnxAttrValue } from './import-proto';

/** A value known at import time: numbers, or dim names where a shape is symbolic. */
export interface Known {
  dtype: TensorDType;
  dims: number[];
  values: Dim[];
}

export const knownOfTensor = (t: Tensor): Known => ({
  dtype: t.dtype,
  dims: [...t.dims],
  values: toNumbers(t),
});

/** A known value without symbolic dims. */
export type NumericKnown = Omit<Known, 'values'> & { values: number[] };

export const numeric = (k: Known): k is NumericKnown => k.values.every((v) => typeof v === 'number');

export function tensorOfKnown(k: NumericKnown): Tensor {
  return tensorFrom(
    k.dtype,
    k.dims,
    k.dtype === 'int64' ? k.values.map((v) => BigInt(Math.trunc(v))) : k.values,
  );
}

/** Trilu's keep-mask over the last two dims, row-major: upper keeps column − row ≥ k, lower ≤ k. */
export function triluMask(rows: number, cols: number, k: number, upper: boolean): number[] {
  return Array.from({ length: rows * cols }, (_, at) => {
    const diagonal = (at % cols) - Math.floor(at / cols);
    return Number(upper ? diagonal >= k : diagonal <= k);
  });
}

type Attrs = Record<string, OnnxAttrValue>;
type Folder = (inputs: Known[], attrs: Attrs) => Known | null;

const attrInt = (a: Attrs, name: string, fallback: number): number => {
  const v = a[name];
  return v?.kind === 'int' ? v.value : fallback;
};
const attrInts = (a: Attrs, name: string): number[] | null => {
  const v = a[name];
  return v?.kind === 'ints' ? v.value : null;
};

const isInt = (d: TensorDType) => d !== 'float32' && d !== 'float64';

function elementwise(op: (a: number, b: number) => number, resultType?: TensorDType): Folder {
  return ([a, b]) => {
    if (!numeric(a) || !numeric(b)) return null;
    const n = Math.max(a.values.length, b.values.length);
    if (a.values.length !== n && a.values.length !== 1) return null;
    if (b.values.length !== n && b.values.length !== 1) return null;
    const at = (k: NumericKnown, i: number) => k.values[k.values.length === 1 ? 0 : i];
    const dims = a.values.length >= b.values.length ? a.dims : b.dims;
    const values = Array.from({ length: n }, (_, i) => {
      const v = op(at(a, i), at(b, i));
      return isInt(a.dtype) && !resultType ? Math.trunc(v) : v;
    });
    return { dtype: resultType ?? a.dtype, dims, values };
  };
}

/** Row-major index helpers for the small tensors shape arithmetic uses. */
function gather(data: Known, idx: NumericKnown, axis: number): Known {
  const rank = data.dims.length;
  const ax = axis < 0 ? axis + rank : axis;
  const outer = elementCount(data.dims.slice(0, ax));
  const inner = elementCount(data.dims.slice(ax + 1));
  const size = data.dims[ax];
  const values: Dim[] = [];
  for (let o = 0; o < outer; o++)
    for (const raw of idx.values) {
      const i = raw < 0 ? raw + size : raw;
      for (let k = 0; k < inner; k++) values.push(data.values[(o * size + i) * inner + k]);
    }
  return {
    dtype: data.dtype,
    dims: [...data.dims.slice(0, ax), ...idx.dims, ...data.dims.slice(ax + 1)],
    values,
  };
}

function unsqueezedDims(dims: number[], axes: number[]): number[] {
  const rank = dims.length + axes.length;
  const norm = axes.map((a) => (a < 0 ? a + rank : a));
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : dims[j++]);
  return out;
}

const axesOf = (inputs: Known[], attrs: Attrs): number[] | null => {
  const k = inputs[1];
  if (k && numeric(k)) return k.values;
  return attrInts(attrs, 'axes');
};

/** One folding rule per op; an op without one, or a rule returning null, is built as a node. */
export const folders: Record<string, Folder> = {
  Identity: ([x]) => x,
  Cast([x], a) {
    const to = attrInt(a, 'to', 0);
    const dtype = ({ 1: 'float32', 6: 'int32', 7: 'int64', 9: 'bool', 11: 'float64' } as const)[to as 1];
    if (!dtype || !numeric(x)) return to === 7 || to === 6 ? x : null;
    return { dtype, dims: x.dims, values: x.values.map((v) => (isInt(dtype) ? Math.trunc(v) : v)) };
  },
  Gather([data, idx], a) {
    if (!numeric(idx)) return null;
    return gather(data, idx, attrInt(a, 'axis', 0));
  },
  Unsqueeze(inputs, a) {
    const axes = axesOf(inputs, a);
    return axes ? { ...inputs[0], dims: unsqueezedDims(inputs[0].dims, axes) } : null;
  },
  Squeeze(inputs, a) {
    const x = inputs[0];
    const axes = (axesOf(inputs, a) ?? x.dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((ax) =>
      ax < 0 ? ax + x.dims.length : ax,
    );
    return { ...x, dims: x.dims.filter((_, i) => !axes.includes(i)) };
  },
  Concat(inputs) {
    if (inputs.some((k) => k.dims.length !== 1)) return null;
    return {
      dtype: inputs[0].dtype,
      dims: [inputs.reduce((n, k) => n + k.dims[0], 0)],
      values: inputs.flatMap((k) => k.values),
    };
  },
  Slice([data, starts, ends, axes, steps]) {
    if (data.dims.length !== 1 || !numeric(starts) || !numeric(ends)) return null;
    if (axes && !(numeric(axes) && axes.values[0] % 1 === 0 && [0, -1].includes(axes.values[0]))) return null;
    const step = steps && numeric(steps) ? steps.values[0] : 1;
    if (step !== 1) return null;
    const n = data.dims[0];
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    const values = data.values.slice(clamp(starts.values[0]), clamp(ends.values[0]));
    return { ...data, dims: [values.length], values };
  },
  Reshape([x, shape]) {
    if (!numeric(shape)) return null;
    const target: number[] = shape.values;
    const total = x.values.length;
    const fixed = target.map((d, i) => (d === 0 ? x.dims[i] : d));
    const known = fixed.filter((d) => d !== -1).reduce((n, d) => n * d, 1);
    return { ...x, dims: fixed.map((d) => (d === -1 ? total / known : d)) };
  },
  ConstantOfShape([shape], a) {
    if (!numeric(shape)) return null;
    const dims: number[] = shape.values;
    const v = a.value?.kind === 'tensor' ? a.value.value : tensorFrom('float32', [1], [0]);
    return { dtype: v.dtype, dims, values: new Array(elementCount(dims)).fill(toNumbers(v)[0]) };
  },
  Range([start, limit, delta]) {
    if (!numeric(start) || !numeric(limit) || !numeric(delta)) return null;
    const [s, l, d] = [start.values[0], limit.values[0], delta.values[0]];
    const n = Math.max(Math.ceil((l - s) / d), 0);
    return { dtype: start.dtype, dims: [n], values: Array.from({ length: n }, (_, i) => s + i * d) };
  },
  Add: elementwise((a, b) => a + b),
  Sub: elementwise((a, b) => a - b),
  Mul: elementwise((a, b) => a * b),
  // Integer Div truncates as ONNX's does.
  Div: elementwise((a, b) => a / b),
  Equal: elementwise((a, b) => Number(a === b), 'bool'),
  Sqrt([x]) {
    return numeric(x) ? { ...x, values: x.values.map(Math.sqrt) } : null;
  },
  Trilu([x, k], a) {
    const [rows, cols] = x.dims.slice(-2);
    if (!numeric(x) || x.dims.length < 2 || (k && !numeric(k))) return null;
    const mask = triluMask(rows, cols, k ? (k.values as number[])[0] : 0, attrInt(a, 'upper', 1) !== 0);
    return { ...x, values: x.values.map((v, i) => (mask[i % mask.length] ? v : 0)) };
  },
  Where([cond, a, b]) {
    if (!numeric(cond) || cond.values.length !== a.values.length || a.values.length !== b.values.length)
      return null;
    return { ...a, values: a.values.map((v, i) => (cond.values[i] ? v : b.values[i])) };
  },
};
