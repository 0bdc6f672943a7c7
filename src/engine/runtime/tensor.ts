/**
 * Plain tensors as the rest of maas sees them: a dtype, dims and a typed array in row-major order.
 * No onnxruntime types leak out of engine/: the session wrapper converts at its edge without
 * copying (an ORT tensor wraps the same typed array).
 */
export const tensorDTypes = [
  'float32',
  'float64',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'bool',
] as const;
export type TensorDType = (typeof tensorDTypes)[number];

export interface TypedArrayOf {
  float32: Float32Array;
  float64: Float64Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}
export type TensorArray = TypedArrayOf[TensorDType];

export interface Tensor<D extends TensorDType = TensorDType> {
  dtype: D;
  dims: readonly number[];
  data: TypedArrayOf[D];
}

const arrayConstructors = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
} as const;

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}

export function isTensorDType(value: unknown): value is TensorDType {
  return typeof value === 'string' && (tensorDTypes as readonly string[]).includes(value);
}

/** A zero-filled tensor. */
export function zeros<D extends TensorDType>(dtype: D, dims: readonly number[]): Tensor<D> {
  const data = new arrayConstructors[dtype](elementCount(dims)) as TypedArrayOf[D];
  return { dtype, dims: [...dims], data };
}

/**
 * An int64 tensor of ones: an attention mask over real tokens. Filled natively: converting a
 * number array through `tensorFrom` takes one BigInt per element, and a decoder builds a mask
 * per generated token.
 */
export function int64Ones(dims: readonly number[]): Tensor<'int64'> {
  const t = zeros('int64', dims);
  t.data.fill(1n);
  return t;
}

/** A tensor from plain numbers (bigint for int64 is accepted too). */
export function tensorFrom<D extends TensorDType>(
  dtype: D,
  dims: readonly number[],
  values: ArrayLike<number | bigint | boolean>,
): Tensor<D> {
  const t = zeros(dtype, dims);
  if (values.length !== t.data.length) {
    throw new RangeError(`tensor of dims [${dims}] needs ${t.data.length} values, got ${values.length}`);
  }
  const out = t.data as unknown as { [i: number]: number | bigint };
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = dtype === 'int64' ? BigInt(typeof v === 'boolean' ? Number(v) : v) : Number(v);
  }
  return t;
}

/** Values as JS numbers (int64 beyond 2^53 loses precision, as JSON would). */
export function toNumbers(t: Tensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}
