/**
 * Protobuf editing at the wire level for the model fuzzer: a message is a list of fields, a
 * mutation rewrites some of them and the list is encoded again. Only what the mutations need:
 * field numbers follow onnx.proto3 (see ONNX below).
 */
import { type ProtoField, readFields } from '../../src/engine/onnx/wire';

/** onnx.proto3 field numbers the mutations reach. */
export const ONNX = {
  model: { irVersion: 1, opsetImport: 8, graph: 7 },
  opset: { domain: 1, version: 2 },
  graph: { node: 1, name: 2, initializer: 5, input: 11, output: 12, valueInfo: 13 },
  node: { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 },
  attribute: { name: 1, f: 2, i: 3, s: 4, t: 5, g: 6, floats: 7, ints: 8, type: 20 },
  tensor: { dims: 1, dataType: 2, name: 8, rawData: 9, externalData: 13, dataLocation: 14 },
  stringEntry: { key: 1, value: 2 },
  valueInfo: { name: 1, type: 2 },
  type: { tensor: 1 },
  tensorType: { elemType: 1, shape: 2 },
  shape: { dim: 1 },
  dim: { value: 1, param: 2 },
} as const;

export type Fields = ProtoField[];

/** Decode one message into fields (copies the bytes, so edits never alias the source). */
export function parse(bytes: Uint8Array): Fields {
  return [...readFields(bytes)].map((f) => ({ ...f, bytes: f.bytes.slice() }));
}

function varintBytes(value: bigint): number[] {
  let v = value < 0n ? value + (1n << 64n) : value;
  const out: number[] = [];
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? byte | 0x80 : byte);
  } while (v > 0n);
  return out;
}

export function encode(fields: Fields): Uint8Array {
  const parts: number[][] = [];
  const blobs: Uint8Array[] = [];
  for (const f of fields) {
    const head = varintBytes(BigInt(f.field) * 8n + BigInt(f.wire));
    if (f.wire === 0) parts.push([...head, ...varintBytes(f.varint)]);
    else if (f.wire === 2) parts.push([...head, ...varintBytes(BigInt(f.bytes.length))]);
    else parts.push(head);
    blobs.push(f.wire === 0 ? new Uint8Array(0) : f.bytes);
  }
  const size = parts.reduce((n, p, i) => n + p.length + blobs[i].length, 0);
  const out = new Uint8Array(size);
  let at = 0;
  parts.forEach((p, i) => {
    out.set(p, at);
    at += p.length;
    out.set(blobs[i], at);
    at += blobs[i].length;
  });
  return out;
}

export const bytesField = (field: number, bytes: Uint8Array): ProtoField => ({
  field,
  wire: 2,
  varint: 0n,
  bytes,
});
export const stringField = (field: number, s: string): ProtoField =>
  bytesField(field, new TextEncoder().encode(s));
export const varintField = (field: number, v: bigint | number): ProtoField => ({
  field,
  wire: 0,
  varint: BigInt(v),
  bytes: new Uint8Array(0),
});
export const messageField = (field: number, fields: Fields): ProtoField => bytesField(field, encode(fields));

export const text = (f: ProtoField): string => new TextDecoder().decode(f.bytes);
export const ofField = (fields: Fields, n: number): ProtoField[] => fields.filter((f) => f.field === n);

/** Rewrite every field `n` of `bytes` (a message) with `edit`, which sees and returns the fields of it. */
export function editEach(
  bytes: Uint8Array,
  n: number,
  edit: (inner: Fields, index: number) => Fields,
): Uint8Array {
  let index = 0;
  return encode(
    parse(bytes).map((f) =>
      f.field === n && f.wire === 2 ? messageField(n, edit(parse(f.bytes), index++)) : f,
    ),
  );
}

/** The graph of a model, edited. */
export const editGraph = (model: Uint8Array, edit: (graph: Fields) => Fields): Uint8Array =>
  editEach(model, ONNX.model.graph, edit);
