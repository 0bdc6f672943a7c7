import { buffer } from 'node:stream/consumers';
import type { DataLimits } from '../limits';
import { badData } from '../problems';
import type { Row } from '../table';
import { openBytes } from './source';

/**
 * IDX, the MNIST file format (raw or gzipped): `0x00 0x00 <type> <ndims>`, then ndims big-endian
 * uint32 sizes, then the values big-endian, row-major. E.g. MNIST's training images are
 * `00 00 08 03 | 60000 | 28 | 28 | 47,040,000 bytes`.
 */
export interface IdxArray {
  dtype: IdxDType;
  dims: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** Type byte → dtype, bytes per value and a big-endian reader. */
const idxTypes = new Map<number, { dtype: IdxDType; size: number }>([
  [0x08, { dtype: 'uint8', size: 1 }],
  [0x09, { dtype: 'int8', size: 1 }],
  [0x0b, { dtype: 'int16', size: 2 }],
  [0x0c, { dtype: 'int32', size: 4 }],
  [0x0d, { dtype: 'float32', size: 4 }],
  [0x0e, { dtype: 'float64', size: 8 }],
]);

/** Largest IDX payload read into memory: 2 GiB. */
export const MAX_IDX_BYTES = 2 ** 31;

/** True when `head` (already gunzipped) starts like an IDX file. */
export function looksLikeIdx(head: Uint8Array): boolean {
  return (
    head.length >= 8 &&
    head[0] === 0 &&
    head[1] === 0 &&
    idxTypes.has(head[2]) &&
    head[3] >= 1 &&
    head[3] <= 8
  );
}

export function parseIdx(bytes: Uint8Array): IdxArray {
  if (!looksLikeIdx(bytes)) badData('byte 0', 'not an IDX file (expected 00 00 <type> <ndims>)');
  const type = idxTypes.get(bytes[2])!;
  const ndims = bytes[3];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) badData('byte 4', `header promises ${ndims} dimensions but the file ends`);
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = headerBytes + count * type.size;
  if (count * type.size > MAX_IDX_BYTES)
    badData('byte 4', `dimensions [${dims}] exceed ${MAX_IDX_BYTES} bytes`);
  if (bytes.length !== expected) {
    badData(
      `byte ${Math.min(bytes.length, expected)}`,
      `dims [${dims}] need ${expected} bytes, file has ${bytes.length}`,
    );
  }
  return { dtype: type.dtype, dims, data: decodeValues(view, headerBytes, count, type.dtype) };
}

function decodeValues(view: DataView, offset: number, count: number, dtype: IdxDType): IdxArray['data'] {
  if (dtype === 'uint8') return new Uint8Array(view.buffer, view.byteOffset + offset, count).slice();
  if (dtype === 'int8') return new Int8Array(view.buffer, view.byteOffset + offset, count).slice();
  const out = {
    int16: () => new Int16Array(count),
    int32: () => new Int32Array(count),
    float32: () => new Float32Array(count),
    float64: () => new Float64Array(count),
  }[dtype]();
  const read = {
    int16: (o: number) => view.getInt16(o, false),
    int32: (o: number) => view.getInt32(o, false),
    float32: (o: number) => view.getFloat32(o, false),
    float64: (o: number) => view.getFloat64(o, false),
  }[dtype];
  const size = out.BYTES_PER_ELEMENT;
  for (let i = 0; i < count; i++) out[i] = read(offset + i * size);
  return out;
}

export async function readIdx(path: string, limits: Partial<DataLimits> = {}): Promise<IdxArray> {
  const stream = await openBytes(path, limits);
  const bytes = await buffer(stream);
  return parseIdx(bytes);
}

/** Rows of an IDX images file ([n, h, w] or [n, h, w, c]) and, optionally, its labels file ([n]). */
export function idxRows(images: IdxArray, labels?: IdxArray): Row[] {
  const [n, h, w, c = 1] = images.dims;
  if (images.dims.length < 3 || images.dims.length > 4 || (c !== 1 && c !== 3)) {
    badData('byte 4', `IDX images must be [n, h, w] or [n, h, w, 1|3], got [${images.dims}]`);
  }
  if (labels && (labels.dims.length !== 1 || labels.dims[0] !== n)) {
    badData('labels, byte 4', `labels must be [${n}] to match ${n} images, got [${labels.dims}]`);
  }
  const size = h * w * c;
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    const pixels = toBytes(images.data.subarray(i * size, (i + 1) * size));
    const image = { kind: 'image' as const, width: w, height: h, channels: c as 1 | 3, pixels };
    const values: Row['values'] = { image };
    if (labels) values.label = String(labels.data[i]);
    rows.push({ where: `item ${i}`, values });
  }
  return rows;
}

function toBytes(values: IdxArray['data']): Uint8Array {
  if (values instanceof Uint8Array) return values;
  return Uint8Array.from(values as ArrayLike<number>, (v) => Math.max(0, Math.min(255, Math.round(v))));
}
