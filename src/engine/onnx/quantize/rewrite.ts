/**
 * Quantise an ONNX model's weights by rewriting its protobuf: every MatMul (and Gemm with
 * transA 0) of the top-level graph whose B is a constant float32 [K, N] initializer becomes
 *
 *   int8  DynamicQuantizeMatMul(A, B int8 [K, N], scales [N])           (com.microsoft)
 *   int4  MatMulNBits(A, B uint8 [N, blocks, 16], scales, zero points)    (com.microsoft,
 *         bits 4, block_size 32, accuracy_level 4: activations in int8 inside the kernel)
 *
 * with Gemm's bias added after (`Add`), its alpha folded into the scales. Everything else is copied
 * byte for byte: nodes keep their order (still topologically sorted), Gather weights (embeddings)
 * stay float, and a float weight nothing reads any more is dropped. MatMuls inside subgraphs
 * (If/Loop bodies, e.g. a merged decoder's branches) are left float.
 *
 * External data: tensors whose bytes live in other files are read from `external` (the caller
 * resolves the files, inside the model's folder only); the output keeps every tensor inline, or
 * with `externalLocation` writes those of at least 1 KiB to one new data file.
 */
import { engineFail } from '../../errors';
import { onnxElementTypes } from '../decode';
import { asSigned64, type ProtoField, ProtoWriter, readFields, readPackedVarints, WireType } from '../wire';
import { quantizeInt4, quantizeInt8 } from './pack';

export type QuantizeTarget = 'int8' | 'int4';

const INT4_BLOCK_SIZE = 32;
/** MatMulNBits accuracy level 4: int8 activations, int32 accumulation (the fast CPU path). */
const INT4_ACCURACY_LEVEL = 4;
const MS_DOMAIN = 'com.microsoft';

export interface QuantizeOptions {
  to: QuantizeTarget;
  /** Keep the MatMuls that make the first graph output (the LM head, a classifier's last layer) float. */
  keepHead?: boolean;
  /** location → the external data file's bytes, for every location the model names. */
  external?: ReadonlyMap<string, Uint8Array>;
  /** Write tensors of at least 1 KiB to this data file (next to the model) instead of inline. */
  externalLocation?: string;
}

export interface QuantizeReport {
  to: QuantizeTarget;
  /** MatMul/Gemm nodes rewritten. */
  nodes: number;
  /** Distinct weights quantised and their parameters. */
  weights: number;
  parameters: number;
  /** Nodes left float, with why (the head kept on request, a weight of another type, ...). */
  keptFloat: { node: string; reason: string }[];
  /** Bytes of the weights before and after. */
  weightBytes: { before: number; after: number };
}

export interface QuantizedModel {
  model: Uint8Array;
  externalData: Uint8Array | null;
  report: QuantizeReport;
}

export interface NodeInfo {
  raw: Uint8Array;
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  ints: Map<string, number>;
  floats: Map<string, number>;
}

export interface TensorInfo {
  raw: Uint8Array;
  name: string;
  dataType: number;
  dims: number[];
  rawData: Uint8Array | null;
  floatData: Uint8Array[];
  external: { location: string; offset: number; length: number } | null;
}

const text = new TextDecoder();
const str = (f: ProtoField) => text.decode(f.bytes);

export function readNode(raw: Uint8Array): NodeInfo {
  const n: NodeInfo = {
    raw,
    name: '',
    opType: '',
    domain: '',
    inputs: [],
    outputs: [],
    ints: new Map(),
    floats: new Map(),
  };
  for (const f of readFields(raw)) {
    if (f.field === 1) n.inputs.push(str(f));
    else if (f.field === 2) n.outputs.push(str(f));
    else if (f.field === 3) n.name = str(f);
    else if (f.field === 4) n.opType = str(f);
    else if (f.field === 7) n.domain = str(f);
    else if (f.field === 5) {
      let name = '';
      let i: number | null = null;
      let x: number | null = null;
      for (const a of readFields(f.bytes)) {
        if (a.field === 1) name = str(a);
        else if (a.field === 3) i = Number(asSigned64(a.varint));
        else if (a.field === 2 && a.wire === WireType.fixed32)
          x = new DataView(a.bytes.buffer, a.bytes.byteOffset, 4).getFloat32(0, true);
      }
      if (i !== null) n.ints.set(name, i);
      if (x !== null) n.floats.set(name, x);
    }
  }
  return n;
}

export function readTensor(raw: Uint8Array): TensorInfo {
  const t: TensorInfo = {
    raw,
    name: '',
    dataType: 0,
    dims: [],
    rawData: null,
    floatData: [],
    external: null,
  };
  const entries = new Map<string, string>();
  for (const f of readFields(raw)) {
    if (f.field === 1) {
      const ds = f.wire === WireType.bytes ? readPackedVarints(f.bytes) : [f.varint];
      t.dims.push(...ds.map((d) => Number(asSigned64(d))));
    } else if (f.field === 2) t.dataType = Number(f.varint);
    else if (f.field === 8) t.name = str(f);
    else if (f.field === 9) t.rawData = f.bytes;
    else if (f.field === 4) t.floatData.push(f.bytes);
    else if (f.field === 13) {
      let key = '';
      let value = '';
      for (const e of readFields(f.bytes)) {
        if (e.field === 1) key = str(e);
        else if (e.field === 2) value = str(e);
      }
      entries.set(key, value);
    }
  }
  if (entries.size > 0) {
    t.external = {
      location: entries.get('location') ?? '',
      offset: Number(entries.get('offset') ?? 0),
      length: Number(entries.get('length') ?? -1),
    };
  }
  return t;
}

const elementCount = (dims: readonly number[]) => dims.reduce((n, d) => n * d, 1);

/** The tensor's payload bytes (raw_data, float_data or its slice of an external file). */
export function payload(t: TensorInfo, external: ReadonlyMap<string, Uint8Array> | undefined): Uint8Array {
  if (t.external) {
    const file = external?.get(t.external.location);
    if (!file)
      engineFail('invalid_model', `tensor ${t.name}: external data '${t.external.location}' not given`);
    const bytes = (onnxElementTypes[t.dataType]?.bytes ?? 0) * elementCount(t.dims);
    const length = t.external.length >= 0 ? t.external.length : bytes;
    if (t.external.offset + length > file.length)
      engineFail(
        'invalid_model',
        `tensor ${t.name}: external data runs past the end of '${t.external.location}'`,
      );
    return file.subarray(t.external.offset, t.external.offset + length);
  }
  if (t.rawData) return t.rawData;
  // float_data is packed float32s (possibly in several fields).
  const total = t.floatData.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const b of t.floatData) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

function floatsOf(t: TensorInfo, external: ReadonlyMap<string, Uint8Array> | undefined): Float32Array {
  const bytes = payload(t, external);
  const n = elementCount(t.dims);
  if (bytes.length !== n * 4)
    engineFail('invalid_model', `tensor ${t.name}: ${bytes.length} bytes for ${n} floats`);
  // Copy: the view may be unaligned.
  return new Float32Array(bytes.slice().buffer);
}

/** One new tensor: name, ONNX data type, dims, bytes. */
interface NewTensor {
  name: string;
  dataType: number;
  dims: number[];
  bytes: Uint8Array;
}

const FLOAT = 1;
const UINT8 = 2;
const INT8 = 3;
const bytesOf = (a: Float32Array | Int8Array | Uint8Array) =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

interface Candidate {
  node: NodeInfo;
  weight: TensorInfo;
  /** Gemm's transB: the weight is [N, K]. */
  transposed: boolean;
  alpha: number;
}

/** Why `node` cannot be quantised, or its candidate. */
function candidateOf(
  node: NodeInfo,
  floats: ReadonlyMap<string, TensorInfo>,
  graphInputs: ReadonlySet<string>,
): Candidate | string | null {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return null;
  if (node.opType !== 'MatMul' && node.opType !== 'Gemm') return null;
  const w = floats.get(node.inputs[1]);
  if (!w) return null;
  if (graphInputs.has(w.name)) return 'its weight is also a graph input (it may be fed)';
  if (w.dims.length !== 2) return `its weight has rank ${w.dims.length}, not 2`;
  if (node.opType === 'Gemm') {
    if ((node.ints.get('transA') ?? 0) !== 0) return 'Gemm with transA';
    const beta = node.floats.get('beta') ?? 1;
    if (node.inputs[2] && beta !== 1) return 'Gemm with beta ≠ 1';
  }
  return {
    node,
    weight: w,
    transposed: node.opType === 'Gemm' && (node.ints.get('transB') ?? 0) === 1,
    alpha: node.opType === 'Gemm' ? (node.floats.get('alpha') ?? 1) : 1,
  };
}

/** Candidates met first walking back from the first graph output: the head (LM head, classifier). */
function headNodes(nodes: readonly NodeInfo[], output: string, isCandidate: (n: NodeInfo) => boolean) {
  const producer = new Map<string, NodeInfo>();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
  const heads = new Set<NodeInfo>();
  const seen = new Set<string>();
  const queue = [output];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const n = producer.get(name);
    if (!n) continue;
    if (isCandidate(n)) heads.add(n);
    else queue.push(...n.inputs.filter((i) => i !== ''));
  }
  return heads;
}

/** Every name any node reads, in subgraphs too (a subgraph may read an outer initializer). */
export function namesRead(graph: Uint8Array, into: Set<string>, depth = 0): void {
  if (depth > 32) engineFail('invalid_model', 'graphs nested deeper than 32 levels');
  for (const f of readFields(graph)) {
    if (f.field !== 1) continue;
    for (const nf of readFields(f.bytes)) {
      if (nf.field === 1) into.add(str(nf));
      else if (nf.field === 5)
        for (const a of readFields(nf.bytes)) {
          if (a.field === 6) namesRead(a.bytes, into, depth + 1);
          else if (a.field === 11) namesRead(a.bytes, into, depth + 1);
        }
    }
  }
}

class Emitter {
  readonly graph = new ProtoWriter();
  private readonly sink: Uint8Array[] = [];
  private sinkSize = 0;
  constructor(private readonly externalLocation: string | undefined) {}

  node(
    op: string,
    domain: string,
    inputs: string[],
    outputs: string[],
    name: string,
    attrs: [string, number][],
  ) {
    this.graph.message(1, (w) => {
      for (const i of inputs) w.string(1, i);
      for (const o of outputs) w.string(2, o);
      w.string(3, name);
      w.string(4, op);
      for (const [k, v] of attrs) w.message(5, (a) => a.string(1, k).varint(20, 2).varint(3, v));
      if (domain) w.string(7, domain);
    });
  }

  tensor(t: NewTensor): void {
    this.graph.message(5, (w) => {
      w.packedVarints(1, t.dims);
      w.varint(2, t.dataType);
      w.string(8, t.name);
      this.data(w, t.bytes);
    });
  }

  /** An existing tensor: its fields but the data, then the data inline or in the sink. */
  copyTensor(t: TensorInfo, bytes: Uint8Array): void {
    this.graph.message(5, (w) => {
      for (const f of readFields(t.raw)) if (![4, 9, 13, 14].includes(f.field)) w.field(f);
      this.data(w, bytes);
    });
  }

  private data(w: ProtoWriter, bytes: Uint8Array): void {
    if (!this.externalLocation || bytes.length < 1024) {
      w.bytes(9, bytes);
      return;
    }
    const pad = (64 - (this.sinkSize % 64)) % 64;
    if (pad) this.sink.push(new Uint8Array(pad));
    const offset = this.sinkSize + pad;
    this.sink.push(bytes);
    this.sinkSize = offset + bytes.length;
    const entry = (k: string, v: string) => w.message(13, (e) => e.string(1, k).string(2, v));
    entry('location', this.externalLocation);
    entry('offset', String(offset));
    entry('length', String(bytes.length));
    w.varint(14, 1);
  }

  externalData(): Uint8Array | null {
    if (!this.externalLocation) return null;
    const out = new Uint8Array(this.sinkSize);
    let at = 0;
    for (const c of this.sink) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** A name not used in the graph yet, from `base`. */
export function freshName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

interface QuantizedWeight {
  tensors: NewTensor[];
  /** Inputs after A. */
  inputs: string[];
  k: number;
  n: number;
}

function quantizeWeight(
  c: Candidate,
  to: QuantizeTarget,
  w: Float32Array,
  taken: Set<string>,
): QuantizedWeight {
  const [rows, cols] = c.weight.dims;
  const [k, n] = c.transposed ? [cols, rows] : [rows, cols];
  const base = c.weight.name;
  if (to === 'int8') {
    // DynamicQuantizeMatMul wants B as [K, N]: transpose Gemm's transB weight first.
    const kn = c.transposed ? transpose(w, n, k) : w;
    const q = quantizeInt8(kn, k, n);
    if (c.alpha !== 1) for (let j = 0; j < n; j++) q.scales[j] *= c.alpha;
    const qName = freshName(`${base}_int8`, taken);
    const sName = freshName(`${base}_scale`, taken);
    return {
      k,
      n,
      inputs: [qName, sName],
      tensors: [
        { name: qName, dataType: INT8, dims: [k, n], bytes: bytesOf(q.values) },
        { name: sName, dataType: FLOAT, dims: [n], bytes: bytesOf(q.scales) },
      ],
    };
  }
  const q = quantizeInt4(w, k, n, INT4_BLOCK_SIZE, c.transposed);
  if (c.alpha !== 1) for (let i = 0; i < q.scales.length; i++) q.scales[i] *= c.alpha;
  const qName = freshName(`${base}_int4`, taken);
  const sName = freshName(`${base}_scales`, taken);
  const zName = freshName(`${base}_zero_points`, taken);
  return {
    k,
    n,
    inputs: [qName, sName, zName],
    tensors: [
      { name: qName, dataType: UINT8, dims: [n, q.blocks, INT4_BLOCK_SIZE / 2], bytes: bytesOf(q.packed) },
      { name: sName, dataType: FLOAT, dims: [n * q.blocks], bytes: bytesOf(q.scales) },
      { name: zName, dataType: UINT8, dims: [q.zeroPoints.length], bytes: bytesOf(q.zeroPoints) },
    ],
  };
}

function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = w[i * cols + j];
  return out;
}

/** Emit the quantised node(s) in place of `c.node`. */
function emitQuantized(e: Emitter, c: Candidate, q: QuantizedWeight, to: QuantizeTarget, taken: Set<string>) {
  const { node } = c;
  const bias = node.opType === 'Gemm' ? node.inputs[2] : undefined;
  const out = node.outputs[0];
  const product = bias ? freshName(`${out}_product`, taken) : out;
  const name = node.name || freshName('quantized', taken);
  if (to === 'int8')
    e.node('DynamicQuantizeMatMul', MS_DOMAIN, [node.inputs[0], ...q.inputs], [product], name, []);
  else
    e.node('MatMulNBits', MS_DOMAIN, [node.inputs[0], ...q.inputs], [product], name, [
      ['K', q.k],
      ['N', q.n],
      ['bits', 4],
      ['block_size', INT4_BLOCK_SIZE],
      ['accuracy_level', INT4_ACCURACY_LEVEL],
    ]);
  if (bias) e.node('Add', '', [product, bias], [out], `${name}_bias`, []);
}

interface GraphResult {
  graph: Uint8Array;
  externalData: Uint8Array | null;
  report: QuantizeReport;
}

function rewriteGraph(graph: Uint8Array, o: QuantizeOptions): GraphResult {
  const fields = [...readFields(graph)];
  const nodes = fields.filter((f) => f.field === 1).map((f) => readNode(f.bytes));
  const tensors = fields.filter((f) => f.field === 5).map((f) => readTensor(f.bytes));
  const graphInputs = new Set<string>();
  for (const f of fields.filter((x) => x.field === 11))
    for (const v of readFields(f.bytes)) if (v.field === 1) graphInputs.add(str(v));
  const outputs = fields
    .filter((f) => f.field === 12)
    .map((f) => [...readFields(f.bytes)].find((v) => v.field === 1))
    .map((v) => (v ? str(v) : ''));
  const floats = new Map(tensors.filter((t) => t.dataType === FLOAT).map((t) => [t.name, t]));

  const report: QuantizeReport = {
    to: o.to,
    nodes: 0,
    weights: 0,
    parameters: 0,
    keptFloat: [],
    weightBytes: { before: 0, after: 0 },
  };
  const candidates = new Map<NodeInfo, Candidate>();
  for (const n of nodes) {
    const c = candidateOf(n, floats, graphInputs);
    if (typeof c === 'string') report.keptFloat.push({ node: n.name || n.opType, reason: c });
    else if (c) candidates.set(n, c);
  }
  if (o.keepHead && outputs[0]) {
    for (const n of headNodes(nodes, outputs[0], (x) => candidates.has(x))) {
      candidates.delete(n);
      report.keptFloat.push({ node: n.name || n.opType, reason: 'the head (keepHead)' });
    }
  }

  const taken = new Set<string>([...tensors.map((t) => t.name), ...nodes.flatMap((n) => n.outputs)]);
  const quantized = new Map<string, QuantizedWeight>();
  const e = new Emitter(o.externalLocation);
  for (const c of candidates.values()) {
    if (quantized.has(c.weight.name)) continue;
    const q = quantizeWeight(c, o.to, floatsOf(c.weight, o.external), taken);
    quantized.set(c.weight.name, q);
    report.weights++;
    report.parameters += q.k * q.n;
    report.weightBytes.before += q.k * q.n * 4;
    report.weightBytes.after += q.tensors.reduce((s, t) => s + t.bytes.length, 0);
  }
  // What still reads each float weight once the candidates are rewritten.
  const stillRead = new Set<string>();
  for (const n of nodes) {
    if (candidates.has(n)) stillRead.add(n.inputs[0]).add(n.inputs[2] ?? '');
    else for (const i of n.inputs) stillRead.add(i);
  }
  for (const f of fields.filter((x) => x.field === 1)) {
    // Subgraphs read outer names too.
    for (const nf of readFields(f.bytes))
      if (nf.field === 5)
        for (const a of readFields(nf.bytes))
          if (a.field === 6 || a.field === 11) namesRead(a.bytes, stillRead);
  }
  for (const name of outputs) stillRead.add(name);

  let nodeIndex = 0;
  for (const f of fields) {
    if (f.field === 1) {
      const n = nodes[nodeIndex++];
      const c = candidates.get(n);
      if (c) {
        emitQuantized(e, c, quantized.get(c.weight.name)!, o.to, taken);
        report.nodes++;
      } else e.graph.field(f);
    } else if (f.field === 5) {
      const t = readTensor(f.bytes);
      const q = quantized.get(t.name);
      if (q) for (const nt of q.tensors) e.tensor(nt);
      if (q && !stillRead.has(t.name)) continue;
      if (t.external || o.externalLocation) e.copyTensor(t, payload(t, o.external));
      else e.graph.field(f);
    } else e.graph.field(f);
  }
  return { graph: e.graph.finish(), externalData: e.externalData(), report };
}

/** Rewrite `model` (ModelProto bytes) with quantised MatMul weights. */
export function quantizeModel(model: Uint8Array, o: QuantizeOptions): QuantizedModel {
  const out = new ProtoWriter();
  let result: GraphResult | null = null;
  let hasMsDomain = false;
  for (const f of readFields(model)) {
    if (f.field === 7) {
      result = rewriteGraph(f.bytes, o);
      out.bytes(7, result.graph);
      continue;
    }
    if (f.field === 8)
      for (const x of readFields(f.bytes)) if (x.field === 1 && str(x) === MS_DOMAIN) hasMsDomain = true;
    out.field(f);
  }
  if (!result) engineFail('invalid_model', 'no graph: not an ONNX model');
  if (result.report.nodes === 0) {
    const why = result.report.keptFloat.map((k) => `${k.node}: ${k.reason}`).join('; ');
    engineFail(
      'invalid_model',
      `nothing to quantise: no MatMul or Gemm with a constant float32 [K, N] weight in the top-level graph${why ? ` (${why})` : ''}`,
    );
  }
  if (!hasMsDomain) out.message(8, (w) => w.string(1, MS_DOMAIN).varint(2, 1));
  return { model: out.finish(), externalData: result.externalData, report: result.report };
}
