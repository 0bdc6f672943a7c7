/**
 * A reader for the parts of an ONNX ModelProto that upload checks need: opset imports, node
 * domains, external data references, and the graph's inputs, outputs and initializers. It never
 * materialises tensor data, and it walks subgraphs (If/Loop/Scan bodies, model-local functions)
 * so a reference hidden in a nested graph is still found.
 *
 * Field numbers are those of onnx/onnx.proto3 (ModelProto.graph = 7, GraphProto.node = 1, ...).
 */

import { EngineError } from '../errors';
import { asSigned64, ProtoError, type ProtoField, readFields, readPackedVarints, WireType } from './wire';

/** ONNX TensorProto.DataType → name, and bytes per element (0 = variable size, e.g. string). */
export const onnxElementTypes: Record<number, { name: string; bytes: number }> = {
  1: { name: 'float32', bytes: 4 },
  2: { name: 'uint8', bytes: 1 },
  3: { name: 'int8', bytes: 1 },
  4: { name: 'uint16', bytes: 2 },
  5: { name: 'int16', bytes: 2 },
  6: { name: 'int32', bytes: 4 },
  7: { name: 'int64', bytes: 8 },
  8: { name: 'string', bytes: 0 },
  9: { name: 'bool', bytes: 1 },
  10: { name: 'float16', bytes: 2 },
  11: { name: 'float64', bytes: 8 },
  12: { name: 'uint32', bytes: 4 },
  13: { name: 'uint64', bytes: 8 },
  14: { name: 'complex64', bytes: 8 },
  15: { name: 'complex128', bytes: 16 },
  16: { name: 'bfloat16', bytes: 2 },
};

export interface OnnxValueInfo {
  name: string;
  /** Element type name (`float32`, `int64`, ...), or a kind (`sequence`, `map`) for non-tensors. */
  elemType: string;
  /** Fixed dims as numbers, symbolic ones as their name, unknown ones as -1. `null`: rank unknown. */
  shape: (number | string)[] | null;
}

export interface OnnxTensorInfo {
  name: string;
  elemType: string;
  dims: number[];
  /** True when the tensor's bytes live outside the model file (`data_location = EXTERNAL`). */
  external: boolean;
  /** Bytes of payload actually present in the file. */
  storedBytes: number;
}

export interface OnnxModelInfo {
  irVersion: number;
  producer: string;
  opsets: { domain: string; version: number }[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: OnnxTensorInfo[];
  /** Every tensor in the file (initializers, Constant attributes, subgraph ones) that is external. */
  externalTensors: string[];
  /**
   * The `location` of every external tensor's data (a path relative to the model file, as the
   * exporter wrote it, e.g. `model.onnx_data`), each once; '' when a tensor names none.
   */
  externalLocations: string[];
  /** Domains of every node, in any graph or function (`''` = the default ONNX domain). */
  nodeDomains: string[];
  /** Domains that model-local functions define (nodes in them are not custom ops). */
  functionDomains: string[];
  nodeCount: number;
}

/** Bytes that do not decode as an ONNX model or tensor (an EngineError of reason `invalid_model`). */
export class OnnxDecodeError extends EngineError {
  constructor(message: string) {
    super('invalid_model', message);
  }
}

const text = new TextDecoder('utf-8', { fatal: false });
const str = (f: ProtoField): string => text.decode(f.bytes);

/** Nesting guard: real models nest graphs a few levels deep; hostile ones could nest thousands. */
const MAX_DEPTH = 32;

interface Walk {
  externalTensors: string[];
  externalLocations: Set<string>;
  nodeDomains: Set<string>;
  nodeCount: number;
}

function expectWire(f: ProtoField, wire: number, what: string): void {
  if (f.wire !== wire) throw new OnnxDecodeError(`${what}: unexpected wire type ${f.wire}`);
}

function decodeTensor(buf: Uint8Array, walk: Walk): OnnxTensorInfo {
  const info: OnnxTensorInfo = { name: '', elemType: 'undefined', dims: [], external: false, storedBytes: 0 };
  let location = '';
  for (const f of readFields(buf)) {
    if (f.field === 1) {
      info.dims.push(
        ...(f.wire === WireType.bytes ? readPackedVarints(f.bytes) : [f.varint]).map((v) =>
          Number(asSigned64(v)),
        ),
      );
    } else if (f.field === 2) info.elemType = onnxElementTypes[Number(f.varint)]?.name ?? 'undefined';
    else if (f.field === 8) info.name = str(f);
    else if (f.field === 13) {
      info.external = true;
      location = externalLocation(f.bytes) ?? location;
    } else if (f.field === 14 && f.varint === 1n) info.external = true;
    else if (f.wire === WireType.bytes && [4, 5, 6, 7, 9, 10, 11].includes(f.field)) {
      info.storedBytes += f.bytes.length;
    }
  }
  if (info.external) {
    walk.externalTensors.push(info.name || '(unnamed)');
    walk.externalLocations.add(location);
  }
  return info;
}

/** The value of a `location` entry of a tensor's `external_data` (StringStringEntryProto), if any. */
function externalLocation(entry: Uint8Array): string | null {
  let key = '';
  let value = '';
  for (const e of readFields(entry)) {
    if (e.field === 1) key = str(e);
    else if (e.field === 2) value = str(e);
  }
  return key === 'location' ? value : null;
}

function decodeShape(buf: Uint8Array): (number | string)[] {
  const dims: (number | string)[] = [];
  for (const f of readFields(buf)) {
    if (f.field !== 1) continue;
    let dim: number | string = -1;
    for (const d of readFields(f.bytes)) {
      if (d.field === 1) dim = Number(asSigned64(d.varint));
      else if (d.field === 2) dim = str(d);
    }
    dims.push(dim);
  }
  return dims;
}

function decodeValueInfo(buf: Uint8Array): OnnxValueInfo {
  const info: OnnxValueInfo = { name: '', elemType: 'undefined', shape: null };
  for (const f of readFields(buf)) {
    if (f.field === 1) info.name = str(f);
    if (f.field !== 2) continue;
    for (const t of readFields(f.bytes)) {
      if (t.field === 1) {
        for (const tt of readFields(t.bytes)) {
          if (tt.field === 1) info.elemType = onnxElementTypes[Number(tt.varint)]?.name ?? 'undefined';
          if (tt.field === 2) info.shape = decodeShape(tt.bytes);
        }
      } else if (t.field === 4) info.elemType = 'sequence';
      else if (t.field === 5) info.elemType = 'map';
      else if (t.field === 9) info.elemType = 'optional';
      else if (t.field === 8) info.elemType = 'sparse_tensor';
    }
  }
  return info;
}

function decodeAttribute(buf: Uint8Array, walk: Walk, depth: number): void {
  for (const f of readFields(buf)) {
    if (f.field === 5 || f.field === 10) decodeTensor(f.bytes, walk);
    else if (f.field === 6 || f.field === 11) decodeGraph(f.bytes, walk, depth + 1);
    else if (f.field === 22 || f.field === 23) decodeSparse(f.bytes, walk);
  }
}

function decodeSparse(buf: Uint8Array, walk: Walk): void {
  for (const f of readFields(buf)) if (f.field === 1 || f.field === 2) decodeTensor(f.bytes, walk);
}

function decodeNode(buf: Uint8Array, walk: Walk, depth: number): void {
  let domain = '';
  for (const f of readFields(buf)) {
    if (f.field === 7) domain = str(f);
    else if (f.field === 5) decodeAttribute(f.bytes, walk, depth);
  }
  walk.nodeDomains.add(domain);
  walk.nodeCount++;
}

interface GraphParts {
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: OnnxTensorInfo[];
}

function decodeGraph(buf: Uint8Array, walk: Walk, depth: number): GraphParts {
  if (depth > MAX_DEPTH) throw new OnnxDecodeError(`graphs nested deeper than ${MAX_DEPTH} levels`);
  const parts: GraphParts = { inputs: [], outputs: [], initializers: [] };
  for (const f of readFields(buf)) {
    if (f.field === 1) decodeNode(f.bytes, walk, depth);
    else if (f.field === 5) parts.initializers.push(decodeTensor(f.bytes, walk));
    else if (f.field === 15) decodeSparse(f.bytes, walk);
    else if (f.field === 11) parts.inputs.push(decodeValueInfo(f.bytes));
    else if (f.field === 12) parts.outputs.push(decodeValueInfo(f.bytes));
  }
  return parts;
}

/** FunctionProto: node = 4, domain = 10. */
function decodeFunction(buf: Uint8Array, walk: Walk): string {
  let domain = '';
  for (const f of readFields(buf)) {
    if (f.field === 4) decodeNode(f.bytes, walk, 1);
    else if (f.field === 10) domain = str(f);
  }
  return domain;
}

/**
 * Decode a model file's bytes. Throws OnnxDecodeError when the bytes are not a ModelProto (random
 * bytes, a pickle, a truncated file usually fail here, before ONNX Runtime ever sees them).
 */
export function decodeModel(bytes: Uint8Array): OnnxModelInfo {
  const walk: Walk = {
    externalTensors: [],
    externalLocations: new Set(),
    nodeDomains: new Set(),
    nodeCount: 0,
  };
  const info: OnnxModelInfo = {
    irVersion: 0,
    producer: '',
    opsets: [],
    inputs: [],
    outputs: [],
    initializers: [],
    externalTensors: walk.externalTensors,
    externalLocations: [],
    nodeDomains: [],
    functionDomains: [],
    nodeCount: 0,
  };
  let graph: Uint8Array | null = null;
  try {
    for (const f of readFields(bytes)) {
      if (f.field === 1) {
        expectWire(f, WireType.varint, 'ir_version');
        info.irVersion = Number(f.varint);
      } else if (f.field === 2) info.producer = str(f);
      else if (f.field === 7) {
        expectWire(f, WireType.bytes, 'graph');
        graph = f.bytes;
      } else if (f.field === 8) {
        expectWire(f, WireType.bytes, 'opset_import');
        const op = { domain: '', version: 0 };
        for (const o of readFields(f.bytes)) {
          if (o.field === 1) op.domain = str(o);
          if (o.field === 2) op.version = Number(o.varint);
        }
        info.opsets.push(op);
      } else if (f.field === 25) info.functionDomains.push(decodeFunction(f.bytes, walk));
    }
    if (graph === null) throw new OnnxDecodeError('no graph: not an ONNX model');
    if (info.irVersion < 3 || info.irVersion > 100) {
      throw new OnnxDecodeError(`ir_version ${info.irVersion} is not a known ONNX IR version`);
    }
    Object.assign(info, decodeGraph(graph, walk, 0));
  } catch (e) {
    if (e instanceof ProtoError) throw new OnnxDecodeError(`not a valid ONNX protobuf: ${e.message}`);
    throw e;
  }
  info.externalLocations = [...walk.externalLocations];
  info.nodeDomains = [...walk.nodeDomains].sort();
  info.nodeCount = walk.nodeCount;
  return info;
}

export interface DecodedTensor {
  name: string;
  elemType: string;
  dims: number[];
  /** Row-major values; int64/uint64 as bigint, bool as 0/1. */
  values: (number | bigint)[];
}

function readFixed(bytes: Uint8Array, size: number, read: (v: DataView, o: number) => number | bigint) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: (number | bigint)[] = [];
  for (let o = 0; o + size <= bytes.length; o += size) out.push(read(view, o));
  return out;
}

const rawReaders: Record<string, [number, (v: DataView, o: number) => number | bigint]> = {
  float32: [4, (v, o) => v.getFloat32(o, true)],
  float64: [8, (v, o) => v.getFloat64(o, true)],
  int8: [1, (v, o) => v.getInt8(o)],
  uint8: [1, (v, o) => v.getUint8(o)],
  bool: [1, (v, o) => v.getUint8(o)],
  int16: [2, (v, o) => v.getInt16(o, true)],
  uint16: [2, (v, o) => v.getUint16(o, true)],
  int32: [4, (v, o) => v.getInt32(o, true)],
  uint32: [4, (v, o) => v.getUint32(o, true)],
  int64: [8, (v, o) => v.getBigInt64(o, true)],
  uint64: [8, (v, o) => v.getBigUint64(o, true)],
};

/**
 * Decode a serialized TensorProto with its values (e.g. ONNX test data `input_0.pb`). Types
 * without a reader here (string, float16, complex) throw OnnxDecodeError.
 */
export function decodeTensorProto(bytes: Uint8Array): DecodedTensor {
  const t: DecodedTensor = { name: '', elemType: 'undefined', dims: [], values: [] };
  let raw: Uint8Array | null = null;
  const typed: (number | bigint)[] = [];
  try {
    for (const f of readFields(bytes)) {
      if (f.field === 1) {
        const ds = f.wire === WireType.bytes ? readPackedVarints(f.bytes) : [f.varint];
        t.dims.push(...ds.map((v) => Number(asSigned64(v))));
      } else if (f.field === 2) t.elemType = onnxElementTypes[Number(f.varint)]?.name ?? 'undefined';
      else if (f.field === 8) t.name = str(f);
      else if (f.field === 9) raw = f.bytes;
      else if (f.field === 4) typed.push(...readFixed(f.bytes, 4, (v, o) => v.getFloat32(o, true)));
      else if (f.field === 10) typed.push(...readFixed(f.bytes, 8, (v, o) => v.getFloat64(o, true)));
      else if (f.field === 5 || f.field === 7 || f.field === 11) {
        const vs = f.wire === WireType.bytes ? readPackedVarints(f.bytes) : [f.varint];
        // int32_data holds int8/16/32, uint8/16 and bool as (sign-extended) varints.
        for (const v of vs)
          typed.push(f.field === 5 ? Number(BigInt.asIntN(32, v)) : f.field === 7 ? asSigned64(v) : v);
      } else if (f.field === 6 || f.field === 13)
        throw new OnnxDecodeError('string or external tensors are not decoded');
    }
  } catch (e) {
    if (e instanceof ProtoError) throw new OnnxDecodeError(`not a valid TensorProto: ${e.message}`);
    throw e;
  }
  const reader = rawReaders[t.elemType];
  if (!reader) throw new OnnxDecodeError(`tensor type ${t.elemType} is not decoded`);
  t.values = raw ? readFixed(raw, reader[0], reader[1]) : typed;
  const want = t.dims.reduce((n, d) => n * d, 1);
  if (t.values.length !== want)
    throw new OnnxDecodeError(`tensor holds ${t.values.length} values, dims need ${want}`);
  return t;
}

/**
 * The top-level graph's initializers with their values (e.g. a trained model's weights, which
 * maas exports under their parameter names), optionally only those `wanted`. Subgraph and
 * external tensors are not read.
 */
export function readInitializers(
  bytes: Uint8Array,
  wanted?: ReadonlySet<string>,
): Map<string, DecodedTensor> {
  const out = new Map<string, DecodedTensor>();
  try {
    for (const f of readFields(bytes)) {
      if (f.field !== 7 || f.wire !== WireType.bytes) continue;
      for (const g of readFields(f.bytes)) {
        if (g.field !== 5 || g.wire !== WireType.bytes) continue;
        const t = decodeTensorProto(g.bytes);
        if (!wanted || wanted.has(t.name)) out.set(t.name, t);
      }
    }
  } catch (e) {
    if (e instanceof ProtoError) throw new OnnxDecodeError(`not a valid ONNX protobuf: ${e.message}`);
    throw e;
  }
  return out;
}
