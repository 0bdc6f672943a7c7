/**
 * The whole of an ONNX model that the importer reads: the top-level graph's nodes with their
 * attributes, initializers with their values, inputs, outputs and opset imports. (`decode.ts`
 * reads only what upload checks need and never materialises tensor data; this reads it all.)
 *
 * Field numbers are onnx.proto3's: GraphProto{node=1, initializer=5, input=11, output=12},
 * NodeProto{input=1, output=2, op_type=4, attribute=5, domain=7},
 * AttributeProto{name=1, f=2, i=3, s=4, t=5, g=6, floats=7, ints=8, strings=9, graphs=11}.
 */
import { isTensorDType, type Tensor, type TensorDType, tensorFrom } from '../runtime/tensor';
import { decodeModel, decodeTensorProto, OnnxDecodeError, type OnnxValueInfo } from './decode';
import { asSigned64, ProtoError, readFields, readPackedVarints, WireType } from './wire';

export type OnnxAttrValue =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: Tensor }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: number[] }
  | { kind: 'strings'; value: string[] }
  /** Subgraphs (If/Loop bodies) and other kinds the importer refuses by op anyway. */
  | { kind: 'other' };

export interface OnnxNode {
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, OnnxAttrValue>;
}

export interface OnnxGraph {
  opsets: Map<string, number>;
  nodes: OnnxNode[];
  /** Initializers by name (dtypes maas carries only; others are listed in `unreadable`). */
  initializers: Map<string, Tensor>;
  /** Initializers that could not be read, with the reason (float16, external data, strings). */
  unreadable: Map<string, string>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

const text = new TextDecoder();

/** A serialized TensorProto as a Tensor, or the reason it cannot be one. */
export function tensorOfProto(
  bytes: Uint8Array,
): { name: string; tensor: Tensor } | { name: string; problem: string } {
  let decoded: ReturnType<typeof decodeTensorProto>;
  try {
    decoded = decodeTensorProto(bytes);
  } catch (e) {
    if (!(e instanceof OnnxDecodeError)) throw e;
    let name = '';
    for (const f of readFields(bytes)) if (f.field === 8) name = text.decode(f.bytes);
    return { name, problem: e.message };
  }
  const dtype = decoded.elemType === 'uint8' ? 'uint8' : decoded.elemType;
  if (!isTensorDType(dtype)) return { name: decoded.name, problem: `tensor type ${decoded.elemType}` };
  return { name: decoded.name, tensor: tensorFrom(dtype as TensorDType, decoded.dims, decoded.values) };
}

function readFloats(f: { wire: number; bytes: Uint8Array }): number[] {
  const view = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
  const out: number[] = [];
  for (let o = 0; o + 4 <= f.bytes.length; o += 4) out.push(view.getFloat32(o, true));
  return out;
}

function decodeAttribute(buf: Uint8Array): [string, OnnxAttrValue] {
  let name = '';
  let value: OnnxAttrValue = { kind: 'other' };
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  let type = 0;
  for (const f of readFields(buf)) {
    if (f.field === 1) name = text.decode(f.bytes);
    else if (f.field === 20) type = Number(f.varint);
    else if (f.field === 2) value = { kind: 'float', value: readFloats(f)[0] };
    else if (f.field === 3) value = { kind: 'int', value: Number(asSigned64(f.varint)) };
    else if (f.field === 4) value = { kind: 'string', value: text.decode(f.bytes) };
    else if (f.field === 5) {
      const t = tensorOfProto(f.bytes);
      if ('tensor' in t) value = { kind: 'tensor', value: t.tensor };
    } else if (f.field === 7) floats.push(...readFloats(f));
    else if (f.field === 8) {
      const vs = f.wire === WireType.bytes ? readPackedVarints(f.bytes) : [f.varint];
      ints.push(...vs.map((v) => Number(asSigned64(v))));
    } else if (f.field === 9) strings.push(text.decode(f.bytes));
  }
  // Repeated fields: the declared type decides (an empty list has no field at all).
  if (type === 6) value = { kind: 'floats', value: floats };
  else if (type === 7) value = { kind: 'ints', value: ints };
  else if (type === 8 || (type === 0 && strings.length)) value = { kind: 'strings', value: strings };
  else if (type === 0 && floats.length) value = { kind: 'floats', value: floats };
  else if (type === 0 && ints.length) value = { kind: 'ints', value: ints };
  return [name, value];
}

function decodeNode(buf: Uint8Array): OnnxNode {
  const node: OnnxNode = { opType: '', domain: '', inputs: [], outputs: [], attrs: {} };
  for (const f of readFields(buf)) {
    if (f.field === 1) node.inputs.push(text.decode(f.bytes));
    else if (f.field === 2) node.outputs.push(text.decode(f.bytes));
    else if (f.field === 4) node.opType = text.decode(f.bytes);
    else if (f.field === 7) node.domain = text.decode(f.bytes);
    else if (f.field === 5) {
      const [k, v] = decodeAttribute(f.bytes);
      node.attrs[k] = v;
    }
  }
  if (node.domain === 'ai.onnx') node.domain = '';
  return node;
}

/** Read a model's top-level graph in full. Throws OnnxDecodeError on bytes that are not ONNX. */
export function readOnnxGraph(bytes: Uint8Array): OnnxGraph {
  const info = decodeModel(bytes);
  const graph: OnnxGraph = {
    opsets: new Map(info.opsets.map((o) => [o.domain === 'ai.onnx' ? '' : o.domain, o.version])),
    nodes: [],
    initializers: new Map(),
    unreadable: new Map(),
    inputs: info.inputs,
    outputs: info.outputs,
  };
  try {
    for (const f of readFields(bytes)) {
      if (f.field !== 7 || f.wire !== WireType.bytes) continue;
      for (const g of readFields(f.bytes)) {
        if (g.field === 1) graph.nodes.push(decodeNode(g.bytes));
        else if (g.field === 5) {
          const t = tensorOfProto(g.bytes);
          if ('tensor' in t) graph.initializers.set(t.name, t.tensor);
          else graph.unreadable.set(t.name, t.problem);
        }
      }
    }
  } catch (e) {
    if (e instanceof ProtoError) throw new OnnxDecodeError(`not a valid ONNX protobuf: ${e.message}`);
    throw e;
  }
  return graph;
}

/** Op types of the top-level graph's nodes, with their domain (`''` = ONNX) — no tensor data read. */
export function readOpTypes(bytes: Uint8Array): { domain: string; opType: string }[] {
  const out: { domain: string; opType: string }[] = [];
  try {
    for (const f of readFields(bytes)) {
      if (f.field !== 7 || f.wire !== WireType.bytes) continue;
      for (const g of readFields(f.bytes)) {
        if (g.field !== 1) continue;
        let domain = '';
        let opType = '';
        for (const n of readFields(g.bytes)) {
          if (n.field === 4) opType = text.decode(n.bytes);
          else if (n.field === 7) domain = text.decode(n.bytes);
        }
        out.push({ domain: domain === 'ai.onnx' ? '' : domain, opType });
      }
    }
  } catch (e) {
    if (e instanceof ProtoError) throw new OnnxDecodeError(`not a valid ONNX protobuf: ${e.message}`);
    throw e;
  }
  return out;
}
