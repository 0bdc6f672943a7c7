/**
 * ONNX writer: Graph IR → ModelProto bytes (opset 17). Field numbers follow onnx.proto:
 * ModelProto{ir_version=1, producer_name=2, graph=7, opset_import=8},
 * GraphProto{node=1, name=2, initializer=5, input=11, output=12},
 * NodeProto{input=1, output=2, name=3, op_type=4, attribute=5},
 * TensorProto{dims=1, data_type=2, name=8, raw_data=9}, ValueInfoProto{name=1, type=2}.
 */

import { ancestors } from '../autodiff';
import { engineFail } from '../errors';
import type { Graph } from '../ir/graph';
import type { Dim, EmitContext, OnnxAttr, OnnxAttrs, Value } from '../ir/types';
import type { Tensor, TensorDType } from '../runtime/tensor';
import { onnxDataType } from './dtypes';
import { ProtoWriter } from './wire';

export const OPSET = 17;
/** IR version 8 goes with opset 17 (ONNX 1.12). */
const IR_VERSION = 8;

const attrType = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

/**
 * Where large initializers go when a model keeps its weights beside the graph (ONNX external
 * data, e.g. `model.onnx_data`): TensorProto external_data = 13 (location, offset, length),
 * data_location = 14 (1 = EXTERNAL). Needed past protobuf's 2 GB, and how big models are published.
 */
export interface ExternalDataOptions {
  /** File name the graph records, relative to the graph's folder, e.g. `model.onnx_data`. */
  location: string;
  /** Parameters of at least this many bytes go to the file (default 1024); constants stay inline. */
  minBytes?: number;
}

/** Each tensor starts at a multiple of this many bytes in the data file. */
const EXTERNAL_ALIGN = 64;

class ExternalSink {
  readonly chunks: Uint8Array[] = [];
  size = 0;
  constructor(readonly options: ExternalDataOptions) {}

  /** Append `bytes`; returns its offset. */
  add(bytes: Uint8Array): number {
    const pad = (EXTERNAL_ALIGN - (this.size % EXTERNAL_ALIGN)) % EXTERNAL_ALIGN;
    if (pad) this.chunks.push(new Uint8Array(pad));
    const offset = this.size + pad;
    this.chunks.push(bytes);
    this.size = offset + bytes.length;
    return offset;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

function writeExternalTensor(w: ProtoWriter, t: Tensor, name: string, sink: ExternalSink): void {
  const data = t.data;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const offset = sink.add(bytes);
  w.packedVarints(1, t.dims);
  w.varint(2, onnxDataType[t.dtype]);
  w.string(8, name);
  const entry = (key: string, value: string) => w.message(13, (e) => e.string(1, key).string(2, value));
  entry('location', sink.options.location);
  entry('offset', String(offset));
  entry('length', String(bytes.length));
  w.varint(14, 1);
}

export function writeTensor(w: ProtoWriter, t: Tensor, name: string): void {
  w.packedVarints(1, t.dims);
  w.varint(2, onnxDataType[t.dtype]);
  w.string(8, name);
  const data = t.data;
  w.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

function writeAttr(w: ProtoWriter, name: string, a: OnnxAttr): void {
  w.string(1, name);
  w.varint(20, attrType[a.kind]);
  if (a.kind === 'float') w.float32(2, a.value);
  else if (a.kind === 'int') w.varint(3, a.value);
  else if (a.kind === 'string') w.string(4, a.value);
  else if (a.kind === 'tensor') w.message(5, (t) => writeTensor(t, a.value, ''));
  else if (a.kind === 'floats') for (const f of a.value) w.float32(7, f);
  else w.packedVarints(8, a.value);
}

function writeValueInfo(w: ProtoWriter, name: string, dtype: TensorDType, shape: readonly Dim[]): void {
  w.string(1, name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.varint(1, onnxDataType[dtype]);
      tt.message(2, (s) => {
        for (const d of shape)
          s.message(1, (dim) => (typeof d === 'number' ? dim.varint(1, d) : dim.string(2, d)));
      });
    }),
  );
}

function castTensor(t: Tensor, dtype: TensorDType): Tensor {
  if (t.dtype === dtype) return t;
  if (dtype === 'float64') return { dtype, dims: t.dims, data: Float64Array.from(t.data as Float32Array) };
  if (dtype === 'float32') return { dtype, dims: t.dims, data: Float32Array.from(t.data as Float64Array) };
  engineFail('internal', `cannot cast a ${t.dtype} parameter to ${dtype}`);
}

/** Names values and writes nodes and initializers into one GraphProto. */
class GraphEmitter implements EmitContext {
  readonly graph = new ProtoWriter();
  private readonly names = new Map<number, string>();
  private counter = 0;

  constructor(private readonly external: ExternalSink | null = null) {}

  /** Pin a value's ONNX name (graph outputs produced by a node need no Identity copy). */
  pin(v: Value, name: string): void {
    if (!this.names.has(v.id)) this.names.set(v.id, name);
  }

  nameOf(v: Value): string {
    const known = this.names.get(v.id);
    if (known) return known;
    let name = `v${v.id}`;
    if (v.leaf?.kind === 'input') name = v.leaf.name;
    else if (v.leaf?.kind === 'param') {
      name = v.leaf.param.name;
      this.initializer(castTensor(v.leaf.param.value, v.dtype), name, true);
    } else if (v.leaf?.kind === 'const') {
      name = `c${v.id}`;
      this.initializer(v.leaf.tensor, name);
    }
    this.names.set(v.id, name);
    return name;
  }

  /**
   * Only parameters (weights) may go to external data: constants stay inline, because ORT's shape
   * inference reads shape-like constants (Reshape's shape, Split's sizes) from the graph itself.
   */
  private initializer(t: Tensor, name: string, isParam = false): void {
    const sink = this.external;
    if (sink && isParam && t.data.byteLength >= (sink.options.minBytes ?? 1024))
      this.graph.message(5, (w) => writeExternalTensor(w, t, name, sink));
    else this.graph.message(5, (w) => writeTensor(w, t, name));
  }

  node(opType: string, inputs: readonly string[], outputs: readonly string[], attrs: OnnxAttrs = {}): void {
    // Trailing optional outputs left unnamed are dropped.
    const outs = [...outputs];
    while (outs.length > 1 && outs[outs.length - 1] === '') outs.pop();
    this.graph.message(1, (w) => {
      for (const i of inputs) w.string(1, i);
      for (const o of outs) w.string(2, o);
      w.string(3, `n${this.counter++}`);
      w.string(4, opType);
      for (const [k, a] of Object.entries(attrs)) w.message(5, (aw) => writeAttr(aw, k, a));
    });
  }

  constant(t: Tensor): string {
    const name = `k${this.counter++}`;
    this.initializer(t, name);
    return name;
  }

  fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }
}

/** Serialize `g` (its outputs and everything they depend on) as an ONNX model. */
export function encodeModel(g: Graph, options: { name?: string } = {}): Uint8Array {
  return encodeModelParts(g, options).model;
}

/**
 * As `encodeModel`; with `externalData`, parameters of at least `minBytes` are written to a
 * separate buffer (`externalData`, to be saved as `location` beside the graph) instead of inline.
 */
export function encodeModelParts(
  g: Graph,
  options: { name?: string; externalData?: ExternalDataOptions } = {},
): { model: Uint8Array; externalData: Uint8Array | null } {
  const roots = g.outputs.map((o) => o.value);
  const nodes = ancestors(roots);
  const sink = options.externalData ? new ExternalSink(options.externalData) : null;
  const e = new GraphEmitter(sink);
  for (const o of g.outputs) if (o.value.producer) e.pin(o.value, o.name);
  // Optional outputs nobody reads are left unnamed (e.g. MaxPool's Indices in inference graphs).
  const consumed = new Set(roots.map((v) => v.id));
  for (const n of nodes) for (const v of n.inputs) consumed.add(v.id);
  for (const n of nodes) {
    const outs = n.outputs.map((v, i) => (i === 0 || consumed.has(v.id) ? e.nameOf(v) : ''));
    g.registry.get(n.op).emit(
      e,
      n.inputs.map((v) => e.nameOf(v)),
      outs,
      n.attrs,
      n,
    );
  }
  for (const o of g.outputs) {
    const src = e.nameOf(o.value);
    if (src !== o.name) e.node('Identity', [src], [o.name]);
  }
  const graph = e.graph;
  graph.string(2, options.name ?? 'maas');
  for (const v of g.inputs) graph.message(11, (w) => writeValueInfo(w, e.nameOf(v), v.dtype, v.shape));
  for (const o of g.outputs)
    graph.message(12, (w) => writeValueInfo(w, o.name, o.value.dtype, o.value.shape));
  const model = new ProtoWriter()
    .varint(1, IR_VERSION)
    .string(2, 'maas')
    .bytes(7, graph.finish())
    .message(8, (w) => w.string(1, '').varint(2, OPSET))
    .finish();
  return { model, externalData: sink ? sink.bytes() : null };
}
