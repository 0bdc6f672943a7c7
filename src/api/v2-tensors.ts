/**
 * KServe v2 / Open Inference Protocol JSON tensors ⇄ engine Tensors.
 * A request input looks like `{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [...]}`;
 * `data` is row-major, flat or nested. Checks: known datatype, shape of non-negative integers,
 * element count equals the product of the shape, each element of the right JSON type and range.
 */
import { fail } from '../common/errors';
import { elementCount, type Tensor, type TensorDType, zeros } from '../engine/runtime/tensor';
import type { BinaryChunks } from './v2-binary';

/** v2 datatype ⇄ engine dtype (the eight maas carries). */
export const v2DataTypes: Readonly<Record<string, TensorDType>> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP32: 'float32',
  FP64: 'float64',
};
const toV2 = new Map(Object.entries(v2DataTypes).map(([k, v]) => [v, k]));

export function v2DataType(dtype: string): string {
  return toV2.get(dtype as TensorDType) ?? dtype.toUpperCase();
}

/** Integer ranges per dtype (int64 within JSON's exact range, ±2^53). */
const intRange: Partial<Record<TensorDType, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** Largest tensor accepted from JSON (elements); the body limit usually bites first. */
const MAX_ELEMENTS = 1 << 28;

/**
 * A list of values: a JSON array, or a Float64Array, which is how a large body's arrays of
 * numbers under `data` arrive when it was parsed off the event loop (json-threads.ts).
 */
const isList = (v: unknown): v is ArrayLike<unknown> => Array.isArray(v) || v instanceof Float64Array;

function flatten(data: unknown, out: unknown[], depth: number, where: string): void {
  if (depth > 32) fail('invalid_tensor', `${where}.data is nested too deeply`, { pointer: `${where}.data` });
  if (!isList(data)) {
    out.push(data);
    return;
  }
  for (let i = 0; i < data.length; i++) {
    const d = data[i];
    if (isList(d)) flatten(d, out, depth + 1, where);
    else out.push(d);
  }
}

/** Flat data (the usual form) as it is; nested data flattened into a copy. */
function flatData(data: unknown, where: string): ArrayLike<unknown> {
  if (data instanceof Float64Array) return data;
  if (Array.isArray(data) && !data.some(isList)) return data;
  const flat: unknown[] = [];
  flatten(data, flat, 0, where);
  return flat;
}

export interface V2InputJson {
  name?: unknown;
  shape?: unknown;
  datatype?: unknown;
  data?: unknown;
  parameters?: unknown;
}

/**
 * Decode one request input. `where` names it in errors (`inputs[0]`). An input with
 * `parameters.binary_data_size` takes its bytes from `chunks` (the binary extension, v2-binary.ts).
 */
export function decodeV2Input(
  input: V2InputJson,
  where: string,
  chunks: BinaryChunks,
): { name: string; tensor: Tensor } {
  if (typeof input !== 'object' || input === null) fail('invalid_tensor', `${where} must be an object`);
  const { name, shape, datatype, data, parameters } = input;
  if (typeof name !== 'string' || name.length === 0) fail('invalid_tensor', `${where}.name must be a string`);
  const dtype = typeof datatype === 'string' ? v2DataTypes[datatype] : undefined;
  if (!dtype) {
    fail(
      'invalid_tensor',
      `${where}.datatype ${JSON.stringify(datatype)} is not one of ${Object.keys(v2DataTypes)}`,
      {
        pointer: `${where}.datatype`,
      },
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    fail('invalid_tensor', `${where}.shape must be a list of non-negative integers`, {
      pointer: `${where}.shape`,
    });
  }
  const count = elementCount(shape as number[]);
  if (count > MAX_ELEMENTS) fail('invalid_tensor', `${where} has ${count} elements (limit ${MAX_ELEMENTS})`);
  if (isObject(parameters) && parameters.binary_data_size !== undefined) {
    if (data !== undefined) {
      fail('invalid_tensor', `${where} has both data and parameters.binary_data_size: send one`, {
        pointer: `${where}.data`,
      });
    }
    return { name, tensor: chunks.take(dtype, shape as number[], parameters.binary_data_size, where) };
  }
  const flat = flatData(data, where);
  if (flat.length !== count) {
    fail('invalid_tensor', `${where}.data has ${flat.length} values, shape [${shape}] needs ${count}`, {
      pointer: `${where}.data`,
    });
  }
  return { name, tensor: fill(dtype, shape as number[], flat, where) };
}

function fill(dtype: TensorDType, dims: number[], flat: ArrayLike<unknown>, where: string): Tensor {
  const t = zeros(dtype, dims);
  const bad = (i: number, want: string) =>
    fail('invalid_tensor', `${where}.data[${i}] must be ${want}`, { pointer: `${where}.data` });
  if (dtype === 'bool') {
    const out = t.data as Uint8Array;
    for (let i = 0; i < flat.length; i++) {
      const v = flat[i];
      if (typeof v !== 'boolean') bad(i, 'true or false');
      out[i] = v ? 1 : 0;
    }
    return t;
  }
  if (dtype === 'float32' || dtype === 'float64') {
    const out = t.data as Float32Array | Float64Array;
    for (let i = 0; i < flat.length; i++) {
      const v = flat[i];
      if (typeof v !== 'number') bad(i, 'a number');
      out[i] = v as number;
    }
    return t;
  }
  const [lo, hi] = intRange[dtype]!;
  const out = t.data as unknown as { [i: number]: number | bigint };
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
      bad(i, `an integer in [${lo}, ${hi}]`);
    out[i] = dtype === 'int64' ? BigInt(v as number) : (v as number);
  }
  return t;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The JSON part of a binary output: its bytes follow the header (v2-binary.ts). */
export function describeV2Output(
  name: string,
  t: Tensor,
): { name: string; datatype: string; shape: number[]; parameters: { binary_data_size: number } } {
  return {
    name,
    datatype: v2DataType(t.dtype),
    shape: [...t.dims],
    parameters: { binary_data_size: t.data.byteLength },
  };
}

/** Encode an output tensor (row-major flat data). */
export function encodeV2Output(
  name: string,
  t: Tensor,
): { name: string; datatype: string; shape: number[]; data: unknown[] } {
  let data: unknown[];
  if (t.dtype === 'bool') data = Array.from(t.data as Uint8Array, (v) => v !== 0);
  else if (t.dtype === 'int64') data = Array.from(t.data as BigInt64Array, (v) => Number(v));
  else data = Array.from(t.data as ArrayLike<number>);
  return { name, datatype: v2DataType(t.dtype), shape: [...t.dims], data };
}
